"""``rotate_so3``: one candidate for all of SO(3), Haar at its largest range and bounded in angle below it."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import augmentations

N = 20000


def _rotations(magnitude: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(matrices (N, 3, 3), drawn angles (N,))``: the rotation applied to the three unit vectors."""
    augmentation = augmentations.create("rotate_so3", magnitude=magnitude)
    params = augmentation.sample(N, torch.Generator().manual_seed(0))
    basis = torch.cat([torch.eye(3), torch.ones(3, 1)], dim=1).expand(N, 3, 4)  # three unit points, all real
    with torch.no_grad():
        moved = augmentation.apply(basis.double(), params)
    return moved[..., :3].transpose(1, 2), augmentation.value(params).detach().double()


def test_the_full_range_is_the_haar_distribution():
    matrices, _ = _rotations(1.0)
    assert torch.allclose(
        matrices @ matrices.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(N, 3, 3), atol=1e-5
    )
    assert matrices.mean(dim=0).abs().max() < 0.02  # Haar: every entry averages 0
    angles = torch.arccos(((matrices.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1))
    assert angles.mean() == pytest.approx(math.pi / 2 + 2 / math.pi, abs=0.02)  # the Haar mean angle
    cdf = ((angles <= 1.0).double().mean(), (1.0 - math.sin(1.0)) / math.pi)  # Haar: P(angle <= t) = (t - sin t)/pi
    assert cdf[0] == pytest.approx(cdf[1], abs=0.01)


def test_a_smaller_range_bounds_the_angle_and_keeps_the_axes_uniform():
    matrices, drawn = _rotations(0.25)
    angles = torch.arccos(((matrices.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1))
    assert torch.allclose(angles, drawn, atol=1e-4) and float(angles.max()) <= 0.25 * math.pi + 1e-6
    axes = torch.stack([matrices[:, 2, 1] - matrices[:, 1, 2], matrices[:, 0, 2] - matrices[:, 2, 0],
                        matrices[:, 1, 0] - matrices[:, 0, 1]], dim=1)  # fmt: skip
    axes = axes / axes.norm(dim=1, keepdim=True)
    assert axes.mean(dim=0).abs().max() < 0.02  # no preferred axis
    learned = augmentations.create("rotate_so3", magnitude=0.25)
    assert learned.range() == (0.0, pytest.approx(0.25 * math.pi))
    with pytest.raises(ValueError, match="scale must be at most 3.14159"):
        augmentations.create("rotate_so3", scale=4.0)
