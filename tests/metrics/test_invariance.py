"""The invariance score and curve."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invlearn import augmentations
from invlearn.metrics import invariance_curve, invariance_score
from tests.conftest import seeded

X = torch.rand(32, 3, 8, 8, generator=torch.Generator().manual_seed(0))


class PooledColours(nn.Module):
    """Mean colour of the image: exactly invariant to flips and rotations by quarter turns."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Identity()

    def forward(self, x):
        return self.embed(x.mean(dim=(2, 3))) - 0.5


def test_invariant_model_scores_one():
    hflip = augmentations.create("hflip", probability=1.0)
    scores = invariance_score(PooledColours(), X, hflip, generator=seeded(1))
    assert scores.shape == (32,) and torch.allclose(scores, torch.ones(32, dtype=torch.float64), atol=1e-6)


def test_swapping_inputs_scores_zero_on_average():
    flat = nn.Flatten()
    perm = torch.randperm(32, generator=seeded(2))
    scores = invariance_score(flat, X - 0.5, lambda x, generator=None: x[perm], generator=seeded(3))
    assert abs(scores.median().item()) < 0.2


def test_curve_decreases_with_magnitude_for_a_sensitive_model():
    # Smooth images, so that small rotations keep them correlated and the score degrades gradually.
    smooth = torch.nn.functional.interpolate(X[:, :, :4, :4], size=(16, 16), mode="bilinear") - 0.5
    curve = invariance_curve(nn.Flatten(), smooth, "rotate", [0.0, 0.2, 1.0], generator=seeded(4), scale=3.14)
    assert curve[0] == pytest.approx(1.0, abs=1e-5)
    assert curve[0] > curve[1] > curve[2]


def test_embedding_of_a_named_submodule():
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 16), nn.ReLU(), nn.Linear(16, 2))
    scores = invariance_score(model, X, augmentations.create("rotate"), generator=seeded(5), use="1")
    assert scores.shape == (32,)
    with pytest.raises(ValueError, match="use must be 'outputs' or the name of a submodule"):
        invariance_score(model, X, augmentations.create("rotate"), use="encoder")


def test_bad_input():
    hflip = augmentations.create("hflip")
    with pytest.raises(ValueError, match="at least 2 examples"):
        invariance_score(PooledColours(), X[:1], hflip)
    with pytest.raises(ValueError, match="NaN"):
        invariance_score(PooledColours(), torch.full_like(X, float("nan")), hflip)
    with pytest.raises(ValueError, match="magnitudes must be in"):
        invariance_curve(PooledColours(), X, "rotate", [1.5])


def test_score_is_nan_where_outputs_cannot_tell_inputs_apart():
    constant = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)).requires_grad_(False)
    constant[1].weight.zero_()
    constant[1].bias.fill_(1.0)  # every input maps to (1, 1)
    scores = invariance_score(constant, X, augmentations.create("hflip", probability=1.0), generator=seeded(4))
    assert bool(scores.isnan().all())


def test_a_model_with_random_copies_scores_one_for_the_identity():
    """The copies drawn for ``x`` and for ``T x`` are the same, so the score measures ``T`` alone."""
    from invlearn import AugmentationLayer, AugNet
    from tests.learners import TinyImageTrunk

    layer = AugmentationLayer([augmentations.create(n, magnitude=0.5) for n in ("translate_x", "rotate")])
    model = AugNet(TinyImageTrunk(), layer, n_copies_eval=4).eval()
    curve = invariance_curve(model, X, "rotate", [0.0, 1.0], generator=seeded(6))
    assert curve[0] == pytest.approx(1.0, abs=1e-6) and curve[1] < 0.99
    assert invariance_curve(model, X, "rotate", [0.0, 1.0], generator=seeded(6)) == curve  # seeded: replayable


class HalfConstant(nn.Module):
    """Outputs ``(1, 1)`` wherever one pixel is below 0.5: pairs of such examples cannot be told apart."""

    def forward(self, x):
        pixel = x[:, 0, 0, 0]
        return torch.stack([torch.ones_like(pixel), 1.0 + torch.relu(pixel - 0.5)], dim=1)


def test_curve_leaves_undefined_scores_out_of_its_median():
    vflip = augmentations.create("vflip", probability=1.0)
    scores = invariance_score(HalfConstant(), X, vflip, generator=seeded(7))
    assert scores.isnan().any() and not scores.isnan().all()
    (median,) = invariance_curve(HalfConstant(), X, "vflip", [1.0], generator=seeded(7))
    assert median == pytest.approx(float(scores.nanmedian()))
