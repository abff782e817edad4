"""Equivariant models: dense targets move with the input in training, outputs move back before averaging."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from invlearn import AugmentationLayer, augmentations
from invlearn.families.augerino import UniformLieAffine
from invlearn.families.independent import IndependentCandidates
from invlearn.models import Augerino, Independent, InvariantModel


def _smooth_image(size: int = 24) -> torch.Tensor:
    coordinates = torch.linspace(-1, 1, size)
    y, x = torch.meshgrid(coordinates, coordinates, indexing="ij")
    return (torch.exp(-((x - 0.2) ** 2 + (y + 0.1) ** 2) * 4) + 0.5 * torch.cos(2 * x) * y)[None, None]


@pytest.mark.parametrize(
    "augmentation",
    [
        IndependentCandidates(
            [
                augmentations.create("rotate", magnitude=1.0, scale=math.pi / 4),
                augmentations.create("scale", magnitude=1.0, scale=0.2),
            ]
        ),  # fmt: skip
        UniformLieAffine(init_width=0.3),
    ],
)
def test_a_warp_moved_back_is_the_identity_inside_the_image(augmentation):
    x = _smooth_image().repeat(6, 1, 1, 1).double()
    params = augmentation.sample(6, torch.Generator().manual_seed(0))
    there = augmentation.warp(x, params)
    back = augmentation.warp(there, params, inverse=True)
    assert not torch.allclose(there, x, atol=1e-2)  # it moved
    assert (back - x)[..., 8:16, 8:16].abs().max() < 0.05  # interpolated twice: close, not equal


def test_a_pointwise_trunk_gives_an_equivariant_model_its_input_back():
    """With a 1x1 convolution as the trunk, ``mean_c T_c^-1 f(T_c x)`` is ``f(x)`` up to interpolation."""
    trunk = nn.Conv2d(1, 1, 1).double()
    nn.init.constant_(trunk.weight, 2.0)
    candidates = [augmentations.create("rotate", magnitude=1.0, scale=math.pi / 2)]
    model = Independent(trunk, candidates, n_copies_eval=8, aggregate="mean", equivariant=True).double().eval()
    x = _smooth_image().double()
    with torch.no_grad():
        out = model(x, generator=torch.Generator().manual_seed(1))
        plain = InvariantModel(trunk, candidates[0], aggregate="mean").double().eval()(x, torch.Generator())
        expected = trunk(x)
    assert (out - expected)[..., 6:18, 6:18].abs().max() < 0.05
    assert (plain - expected)[..., 6:18, 6:18].abs().max() > 0.2  # without moving back: not the input


def test_targets_move_with_their_inputs_by_nearest_interpolation():
    """Where the input is the target itself, warped by nearest interpolation, both move identically."""
    target = torch.randint(0, 5, (3, 12, 12))
    candidates = [augmentations.create("rotate", magnitude=1.0, scale=math.pi, mode="nearest")]
    trunk = nn.Conv2d(1, 5, 1)
    model = Independent(trunk, candidates, n_copies_train=2, aggregate="log_softmax", equivariant=True)
    captured = {}
    trunk.register_forward_hook(lambda m, args, out: captured.update(inputs=args[0]))
    output, moved = model.training_outputs(target[:, None].float(), target, torch.Generator().manual_seed(2))
    assert output.shape == (6, 5, 12, 12) and moved.shape == (6, 12, 12) and moved.dtype == torch.int64
    assert torch.equal(captured["inputs"][:, 0].round().long(), moved)
    assert not torch.equal(moved[:3], target)  # rotated


def test_an_equivariant_model_refuses_targets_that_are_not_classes_per_pixel():
    model = Independent(nn.Conv2d(1, 3, 1), ["rotate"], equivariant=True)
    for target in (torch.zeros(2, 8, 8), torch.zeros(2, 4, 4, dtype=torch.long), [0, 1]):
        with pytest.raises(ValueError, match="target must hold a class per pixel"):
            model.training_outputs(torch.rand(2, 1, 8, 8), target)


def test_an_invariant_model_trains_on_its_aggregated_output_and_the_target_itself():
    model = Independent(nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), ["rotate"])
    x, y = torch.rand(2, 1, 4, 4), torch.tensor([0, 2])
    output, target = model.training_outputs(x, y, torch.Generator().manual_seed(0))
    assert torch.equal(output, model(x, torch.Generator().manual_seed(0))) and target is y


@pytest.mark.parametrize(
    "build",
    [
        lambda trunk: Independent(trunk, ["rotate", "hflip"], equivariant=True),
        lambda trunk: InvariantModel(trunk, AugmentationLayer(["rotate", "translate_x"]), equivariant=True),
    ],
)
def test_transforms_without_one_invertible_warp_are_refused(build):
    with pytest.raises(ValueError, match="dense target cannot move"):
        build(nn.Conv2d(1, 2, 1))


def test_augerino_and_no_augmentation_can_be_equivariant():
    trunk = nn.Conv2d(1, 3, 1)
    model = Augerino(trunk, UniformLieAffine(), n_copies_eval=2, equivariant=True).eval()
    assert model(torch.rand(2, 1, 8, 8), generator=torch.Generator()).shape == (2, 3, 8, 8)
    identity = InvariantModel(trunk, augmentations.Identity(), equivariant=True)
    x = torch.rand(2, 1, 8, 8)
    assert torch.allclose(identity(x), torch.log_softmax(trunk(x), dim=1))
