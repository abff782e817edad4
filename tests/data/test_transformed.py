"""Known transformations applied to every image: what is applied, over which range, deterministically."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn.data.split import Split
from invlearn.data.transformed import TRUE_RANGES, transform

SIZE = 29  # odd, so the centre is a pixel


def dots(n: int, row: int, col: int) -> Split:
    images = torch.zeros(n, 1, SIZE, SIZE)
    images[:, 0, row - 1 : row + 2, col - 1 : col + 2] = 1.0
    return Split(images, torch.arange(n) % 10)


def centroids(images: torch.Tensor) -> torch.Tensor:
    """(N, 2) = (x, y) of the intensity centroid, in pixels from the centre (y down)."""
    grid = torch.arange(SIZE, dtype=torch.float32) - SIZE // 2
    mass = images.sum(dim=(1, 2, 3))
    return torch.stack([(images.sum(2)[:, 0] * grid).sum(1) / mass, (images.sum(3)[:, 0] * grid).sum(1) / mass], 1)


def test_rotation_covers_the_full_circle():
    out = transform(dots(400, 14, 22), "rotate", torch.Generator().manual_seed(0))
    xy = centroids(out.inputs)
    angles = torch.atan2(-xy[:, 1], xy[:, 0])  # counter-clockwise as displayed
    assert xy.norm(dim=1).sub(8).abs().max() < 0.5  # a rotation about the centre keeps the radius
    counts = torch.histc(angles, bins=8, min=-math.pi, max=math.pi)
    assert counts.min() > 25  # uniform over the circle: 50 per eighth expected


def test_translation_stays_within_its_range():
    out = transform(dots(400, 14, 14), "translate", torch.Generator().manual_seed(1))
    shift = centroids(out.inputs) / (SIZE - 1)  # fraction of the size
    assert shift.abs().max() <= TRUE_RANGES["translate"] + 0.01
    assert shift.abs().max() >= TRUE_RANGES["translate"] - 0.02


def test_scale_moves_an_off_centre_dot_radially():
    out = transform(dots(400, 14, 22), "scale", torch.Generator().manual_seed(2))
    radius = centroids(out.inputs).norm(dim=1) / 8
    assert radius.min() >= 1 / 1.5 - 0.03 and radius.max() <= 1.5 + 0.03
    assert radius.min() < 0.75 and radius.max() > 1.35


def test_deterministic_labels_kept_and_bad_kind():
    split = dots(10, 14, 20)
    first = transform(split, "rotate", torch.Generator().manual_seed(5))
    assert torch.equal(first.inputs, transform(split, "rotate", torch.Generator().manual_seed(5)).inputs)
    assert not torch.equal(first.inputs, transform(split, "rotate", torch.Generator().manual_seed(6)).inputs)
    assert torch.equal(first.labels, split.labels)
    assert transform(split, "none", torch.Generator()) is split
    with pytest.raises(ValueError, match="kind must be one of"):
        transform(split, "flip", torch.Generator())


def test_another_half_range_as_in_lila():
    """LILA's translated variant: shifts of up to 8 pixels of 28 (8/28 of the size) instead of the default."""
    out = transform(dots(400, 14, 14), "translate", torch.Generator().manual_seed(1), half_range=8 / 28)
    shift = centroids(out.inputs) / (SIZE - 1)
    assert 8 / 28 - 0.03 <= shift.abs().max() <= 8 / 28 + 0.01
    with pytest.raises(ValueError, match="half_range must be a finite number > 0"):
        transform(dots(2, 14, 14), "rotate", torch.Generator(), half_range=-1.0)
