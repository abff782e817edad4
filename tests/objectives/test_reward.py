"""regularized_loss = task loss - lambda * penalty."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from invlearn import Augerino
from invlearn.objectives.reward import regularized_loss
from tests.learners import TinyImageTrunk

MODEL = Augerino(TinyImageTrunk())
OUT, Y = torch.randn(4, 3), torch.tensor([0, 2, 1, 0])


def test_value_is_cross_entropy_minus_lambda_penalty():
    expected = F.cross_entropy(OUT, Y) - 0.3 * MODEL.penalty()
    assert torch.allclose(regularized_loss(OUT, Y, MODEL, lam=0.3), expected)
    assert torch.allclose(regularized_loss(OUT, Y, MODEL, lam=0), F.cross_entropy(OUT, Y))


def test_custom_task_loss():
    loss = regularized_loss(OUT[:, 0], torch.zeros(4), MODEL, lam=0.1, task_loss=F.mse_loss)
    assert torch.allclose(loss, F.mse_loss(OUT[:, 0], torch.zeros(4)) - 0.1 * MODEL.penalty())


@pytest.mark.parametrize("lam", [-0.1, math.nan, math.inf, "0.1", True])
def test_rejects_bad_lambda(lam):
    with pytest.raises(ValueError, match="lam must be"):
        regularized_loss(OUT, Y, MODEL, lam=lam)


def test_rejects_models_without_penalty():
    with pytest.raises(TypeError, match="penalty"):
        regularized_loss(OUT, Y, TinyImageTrunk(), lam=0.1)
