"""Contract of every registered augmentation module: shapes, identity at zero strength, float64 gradients,
seeded determinism, exact replay and sampling ranges."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invlearn import augmentations
from tests.conftest import ALL_NAMES, DEVICES, STRAIGHT_THROUGH, make_augmentation, make_input, seeded


def test_registry_covers_the_catalogue():
    expected = {
        "translate_x", "translate_y", "rotate", "scale", "shear_x", "shear_y", "brightness", "contrast",
        "saturation", "hue", "sharpness", "sample_pairing", "hflip", "vflip", "invert", "grayscale", "solarize",
        "posterize", "time_shift", "time_reverse", "sign_flip", "amplitude_scale", "gaussian_noise",
        "ft_surrogate", "frequency_shift", "time_mask", "channel_dropout", "channel_shuffle", "rotate_about_x",
        "rotate_about_y", "rotate_about_z", "rotate_so3", "translate_3d", "scale_3d", "reflect",
    }  # fmt: skip
    assert set(augmentations.available()) == expected
    images, signals = augmentations.available("image"), augmentations.available("signal")
    points = augmentations.available("points")
    assert set(images) | set(signals) | set(points) == expected
    assert len(images) + len(signals) + len(points) == len(expected)
    assert all(augmentations.get(n).modality == "image" for n in images)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("training", [True, False])
def test_shape_dtype_device_preserved(name, device, dtype, training):
    aug = make_augmentation(name).to(device=device, dtype=dtype).train(training)
    x = make_input(aug.modality, dtype=dtype, device=device, batch=4)
    y = aug(x, generator=seeded())
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("training", [True, False])
def test_zero_strength_is_identity(name, training):
    aug = make_augmentation(name, strength=0.0).train(training)
    x = make_input(aug.modality, batch=8)
    assert torch.allclose(aug(x, generator=seeded()), x, atol=1e-6, rtol=0)


def test_strength_accessors(name):
    aug = make_augmentation(name, strength=0.3)
    has_magnitude = isinstance(aug, augmentations.MagnitudeAugmentation)
    assert (aug.magnitude is not None) == has_magnitude
    assert (aug.probability is None) == has_magnitude
    assert float(aug.strength.detach()) == pytest.approx(0.3)
    setter = aug.set_magnitude if has_magnitude else aug.set_probability
    setter(0.7)
    assert float(aug.strength.detach()) == pytest.approx(0.7)
    assert [aug.strength_parameter] == list(aug.parameters())
    assert aug.modality in ("image", "signal", "points") and isinstance(aug.unit, str) and aug.unit
    if has_magnitude:
        assert aug.scale > 0
        low, high = aug.range()
        assert high == pytest.approx(0.7 * aug.scale) and low in (0.0, -high)


def test_gradcheck_float64(name):
    """Gradients w.r.t. the input and the strength match finite differences (training mode)."""
    kwargs = {"straight_through": False} if name in STRAIGHT_THROUGH else {}
    aug = make_augmentation(name, **kwargs).double().train()
    x = make_input(aug.modality, dtype=torch.float64, batch=2).requires_grad_(True)
    params = aug.sample(2, generator=seeded(3), shape=x.shape[1:])
    key = "_magnitude" if aug.magnitude is not None else "_probability"
    strength = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)

    def run(inp, s):
        return torch.func.functional_call(aug, {key: s}, (inp,), {"params": params})

    assert torch.autograd.gradcheck(run, (x, strength), eps=1e-6, atol=1e-5)
    weights = torch.randn_like(x)
    (grad,) = torch.autograd.grad((run(x, strength) * weights).sum(), strength)
    assert grad.abs() > 0, "the strength must receive a gradient"


def test_seeded_determinism(name):
    aug = make_augmentation(name)
    x = make_input(aug.modality, batch=8)
    a, b = aug(x, generator=seeded(7)), aug(x, generator=seeded(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, aug(x, generator=seeded(8)))


def test_replay_with_returned_params(name):
    aug = make_augmentation(name)
    x = make_input(aug.modality, batch=4)
    out, params = aug(x, generator=seeded(1), return_params=True)
    assert torch.equal(aug.apply(x, params), out)
    assert torch.equal(aug(x, params=params), out)
    assert all(v.shape[0] == 4 for v in params.values())


PROBABILITIES = {"hflip", "vflip", "invert", "grayscale", "time_reverse", "sign_flip", "reflect"}


@pytest.mark.parametrize("name", [n for n in ALL_NAMES if n not in PROBABILITIES])
@settings(max_examples=15, deadline=None)
@given(magnitude=st.floats(0.0, 1.0), seed=st.integers(0, 2**31 - 1))
def test_values_drawn_within_magnitude_times_scale(name, magnitude, seed):
    aug = make_augmentation(name, strength=magnitude)
    shape = {"signal": (3, 32), "image": (3, 6, 6), "points": (5, 6)}[aug.modality]
    params = aug.sample(64, generator=seeded(seed), shape=shape)
    values = aug.value(params).detach()
    low, high = aug.range()
    assert values.min() >= low - 1e-6 and values.max() <= high + 1e-6
    if not aug.symmetric:
        assert values.min() >= 0


@pytest.mark.parametrize("name", sorted(PROBABILITIES))
def test_probability_mask_hard_in_eval_relaxed_in_training(name):
    aug = make_augmentation(name, strength=0.5)
    params = aug.sample(4000, generator=seeded(0))
    hard = aug.eval().mask(params)
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    assert hard.mean().item() == pytest.approx(0.5, abs=0.03)
    soft = aug.train().mask(params)
    assert ((soft > 0) & (soft < 1)).any() and soft.min() >= 0 and soft.max() <= 1


def test_eval_flip_applies_exactly():
    aug = make_augmentation("hflip", strength=1.0).eval()
    x = make_input("image", batch=3)
    assert torch.equal(aug(x, generator=seeded()), x.flip(-1))
