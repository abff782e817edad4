"""Independent candidates: every candidate on every example, affine ones in one composed warp."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from invlearn import Independent, IndependentCandidates, augmentations, ops
from tests.conftest import make_augmentation, make_input, seeded
from tests.learners import TinyImageTrunk, TinySignalTrunk


def test_affine_candidates_compose_into_one_warp_in_their_order():
    candidates = IndependentCandidates([make_augmentation("rotate"), make_augmentation("scale"), "brightness"])
    x = torch.rand(3, 3, 8, 8)
    out, params = candidates(x, generator=seeded(0), return_params=True)
    rotate, scale, brightness = candidates.candidates
    part = lambda q: {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"{q}.")}  # noqa: E731
    matrix = rotate.matrix(part(0), 8, 8) @ scale.matrix(part(1), 8, 8)
    expected = brightness.apply(ops.affine(x, matrix), part(2))
    assert torch.allclose(out, expected, atol=1e-6)


def test_every_candidate_acts_on_every_example():
    """Unlike a layer's softmax pick, a translation and a brightness change both reach each example."""
    candidates = IndependentCandidates([make_augmentation("translate_x", 1.0), make_augmentation("brightness", 1.0)])
    x = torch.rand(16, 3, 8, 8)
    out = candidates(x, generator=seeded(1))
    shifted_only = IndependentCandidates([make_augmentation("translate_x", 1.0)])(x, generator=seeded(1))
    assert not torch.allclose(out, shifted_only)
    assert (out - shifted_only).flatten(1).abs().amax(dim=1).gt(1e-4).all()


@pytest.mark.parametrize(
    "modality, names",
    [
        ("image", ["rotate", "translate_x", "scale", "shear_y", "brightness", "contrast"]),
        ("signal", ["frequency_shift", "time_shift", "amplitude_scale", "gaussian_noise"]),
    ],
)
def test_every_magnitude_gets_a_float64_gradient(modality, names):
    candidates = IndependentCandidates([make_augmentation(n, 0.4) for n in names]).double()
    x = make_input(modality, torch.float64)
    params = candidates.sample(x.shape[0], seeded(2), shape=tuple(x.shape[1:]))
    magnitudes = [c._magnitude for c in candidates.candidates]

    def apply(*values):
        state = {f"candidates.{q}._magnitude": v for q, v in enumerate(values)}
        return torch.func.functional_call(candidates, state, (x,), {"params": params})

    leaves = tuple(m.detach().clone().requires_grad_(True) for m in magnitudes)
    assert gradcheck(apply, leaves)


def test_independent_model_reports_each_range_and_rewards_the_strength_norm():
    model = Independent(TinyImageTrunk(), [make_augmentation("rotate", 0.3), make_augmentation("hflip", 0.2)])
    learned = model.learned_invariances()
    assert set(learned) == {"rotate", "hflip"} and learned["rotate"]["weight"] is None
    assert learned["rotate"]["high"] == pytest.approx(0.3 * augmentations.get("rotate").default_scale)
    assert float(model.penalty().detach()) == pytest.approx((0.3**2 + 0.2**2) ** 0.5)
    assert model.headline()[0] == "rotate"
    assert model(torch.rand(2, 3, 8, 8), generator=seeded(0)).shape == (2, 3)


def test_signal_candidates_run_behind_a_signal_trunk():
    model = Independent(TinySignalTrunk(), [make_augmentation("frequency_shift"), make_augmentation("time_reverse")])
    assert model(torch.randn(2, 1, 64), generator=seeded(0)).shape == (2, 2)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: IndependentCandidates([]), ValueError, "at least one"),
        (lambda: IndependentCandidates("rotate"), TypeError, "list of augmentations"),
        (lambda: IndependentCandidates(["rotate", "rotate"]), ValueError, "repeat"),
        (lambda: IndependentCandidates(["rotate", make_augmentation("time_shift")]), ValueError, "mixes modalities"),
        (
            lambda: IndependentCandidates([make_augmentation("rotate"), make_augmentation("scale", mode="nearest")]),
            ValueError,
            "share mode",
        ),
        (lambda: Independent(TinyImageTrunk(), augmentations.Identity()), TypeError, "IndependentCandidates"),
    ],
)
def test_bad_construction(build, error, message):
    with pytest.raises(error, match=message):
        build()
