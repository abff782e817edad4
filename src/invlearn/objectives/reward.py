"""The published reward objective of AugNet (Rommel et al., NeurIPS 2022) and Augerino (Benton et al., NeurIPS
2020): ``task loss - lam * model.penalty()``, minimised over the weights and the augmentation together."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from invlearn.models.invariant import InvariantModel
from invlearn.objectives.base import Objective, checked_likelihood
from invlearn.objectives.likelihoods import Likelihood


def check_lam(lam: object) -> float:
    """Require the reward's weight ``lam``: a finite number >= 0 (bool refused)."""
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    return float(lam)


def regularized_loss(
    output: Tensor,
    target: Tensor,
    model: InvariantModel,
    lam: float,
    task_loss: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> Tensor:
    """``task_loss(output, target) - lam * model.penalty()``.

    Args:
        output: the model's aggregated output ``(B, K)`` (mean log-softmax over copies for classification).
        target: ``(B,)`` class indices for the default task loss.
        model: an :class:`~invlearn.models.InvariantModel` (anything with ``penalty()``; AugNet's penalty kind
            is its constructor argument).
        lam: ``lambda >= 0``, the weight of the width-rewarding regulariser (0 lets augmentation collapse).
        task_loss: default cross-entropy; on the aggregated log-probabilities it renormalises them.

    Returns:
        The scalar loss to minimise.
    """
    check_lam(lam)
    if not callable(getattr(model, "penalty", None)):
        raise TypeError(f"model must have a penalty() method, got {type(model).__name__}")
    loss = F.cross_entropy(output, target) if task_loss is None else task_loss(output, target)
    return loss - lam * model.penalty() if lam else loss


class RewardPenalty(Objective):
    """The published reward objective, ``task loss - lam * model.penalty()`` (:func:`regularized_loss`), the task
    loss being the likelihood's conventional one (cross-entropy, mean squared error).

    Args:
        lam: ``lambda >= 0``, the weight of the reward for wide augmentation.
        likelihood: the task's likelihood (default: categorical).
    """

    config_section = "loss"

    def __init__(self, lam: float = 0.5, likelihood: Likelihood | None = None) -> None:
        super().__init__()
        self.lam = check_lam(lam)
        self.likelihood = checked_likelihood(likelihood)

    def weights_loss(self, model, output, target, n_data):
        return regularized_loss(output, target, model, self.lam, self.likelihood.loss)

    def extra_repr(self) -> str:
        return f"lam={self.lam:g}"
