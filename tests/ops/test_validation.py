"""Every op and module rejects bad input with an error that names the argument."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import augmentations, ops
from tests.conftest import make_augmentation, make_input, seeded

IMG, SIG = torch.rand(2, 3, 6, 6), torch.randn(2, 3, 32)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: ops.rotate(torch.rand(3, 6, 6), torch.zeros(3)), ValueError, "x must have 4 dimensions"),
        (
            lambda: ops.rotate(torch.zeros(2, 3, 6, 6, dtype=torch.int64), torch.zeros(2)),
            TypeError,
            "x must be a floating",
        ),
        (lambda: ops.rotate(IMG, torch.tensor([0.1, math.nan])), ValueError, "angle contains NaN"),
        (lambda: ops.rotate(IMG, torch.tensor([0.1, math.inf])), ValueError, "angle contains NaN or infinite"),
        (lambda: ops.rotate(IMG, torch.zeros(3)), ValueError, "angle must have shape \\(2,\\)"),
        (lambda: ops.translate(IMG, torch.zeros(2)), ValueError, "shift must have shape \\(2, 2\\)"),
        (lambda: ops.scale(IMG, torch.tensor([1.0, -1.0])), ValueError, "factor must be > 0"),
        (lambda: ops.shear(IMG, torch.ones(2, 2)), ValueError, "factors must satisfy"),
        (lambda: ops.affine(IMG, torch.zeros(2, 4, 4)), ValueError, "matrix must have shape"),
        (lambda: ops.affine(IMG, torch.eye(3).expand(2, 3, 3), mode="cubic"), ValueError, "mode must be one of"),
        (lambda: ops.lie_affine_matrix(torch.zeros(2, 5)), ValueError, "coefficients must have shape"),
        (lambda: ops.brightness(IMG, torch.ones(3)), ValueError, "factor must have shape"),
        (lambda: ops.sample_pairing(IMG, torch.ones(2), torch.tensor([0, 5])), ValueError, "permutation must hold"),
        (
            lambda: ops.sample_pairing(IMG, torch.ones(2), torch.tensor([0.0, 1.0])),
            TypeError,
            "permutation must be an integer",
        ),
        (lambda: ops.hflip(IMG, torch.tensor([math.nan, 1.0])), ValueError, "mask contains NaN"),
        (lambda: ops.frequency_shift(IMG, torch.zeros(2), 100.0), ValueError, "x must have 3 dimensions"),
        (lambda: ops.frequency_shift(SIG, torch.zeros(2), 0.0), ValueError, "sfreq must be"),
        (lambda: ops.gaussian_noise(SIG, torch.ones(2), torch.randn(2, 3, 31)), ValueError, "noise must have shape"),
        (lambda: ops.ft_surrogate(SIG, torch.ones(2), torch.rand(2, 2, 17)), ValueError, "phases must have 1 or 3"),
        (lambda: ops.channel_dropout(SIG, torch.zeros(2, 4)), ValueError, "drop must have shape"),
        (lambda: ops.time_mask(SIG, torch.zeros(2), torch.tensor([1.0, math.nan])), ValueError, "length contains NaN"),
        (lambda: ops.time_shift(SIG, torch.zeros(2), padding_mode="wrap"), ValueError, "padding_mode must be"),
    ],
)
def test_ops_reject_bad_input(call, error, argument):
    with pytest.raises(error, match=argument):
        call()


def test_unknown_registry_name():
    with pytest.raises(ValueError, match="unknown augmentation name 'rotation'"):
        augmentations.create("rotation")
    with pytest.raises(ValueError, match="modality must be one of"):
        augmentations.available("audio")


def test_unknown_constructor_argument_is_a_type_error():
    with pytest.raises(TypeError, match="magnitudee"):
        augmentations.create("rotate", magnitudee=0.3)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan])
def test_magnitude_outside_unit_interval(name, bad):
    with pytest.raises(ValueError, match="(magnitude|probability) must be in \\[0, 1\\]"):
        make_augmentation(name, strength=bad)
    aug = make_augmentation(name)
    setter = aug.set_magnitude if aug.magnitude is not None else aug.set_probability
    with pytest.raises(ValueError, match="must be in \\[0, 1\\]"):
        setter(bad)


def test_modules_reject_wrong_modality_and_dtype(name):
    aug = make_augmentation(name)
    other = make_input("signal" if aug.modality == "image" else "image")
    with pytest.raises(ValueError, match="x must have"):
        aug(other)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        aug(make_input(aug.modality).to(torch.int32))


def test_modules_reject_params_of_another_batch(name):
    aug = make_augmentation(name)
    x = make_input(aug.modality, batch=4)
    params = aug.sample(3, generator=seeded(), shape=x.shape[1:])
    with pytest.raises(ValueError, match="must have shape"):
        aug.apply(x, params)


def test_modules_reject_nan_params(name):
    aug = make_augmentation(name)
    x = make_input(aug.modality, batch=2)
    params = aug.sample(2, generator=seeded(), shape=x.shape[1:])
    params["u"] = torch.full_like(params["u"], 0.1)
    params["u"].view(-1)[-1] = math.nan
    with pytest.raises(ValueError, match="params\\['u'\\] contains NaN"):
        aug.apply(x, params)


def test_modules_reject_missing_params():
    aug = augmentations.create("time_mask", sfreq=10.0)
    with pytest.raises(ValueError, match="missing \\['start'\\]"):
        aug.apply(SIG, {"u": torch.zeros(2)})


def test_shape_needed_for_noise_sampling():
    with pytest.raises(ValueError, match="needs shape=\\(channels, times\\)"):
        augmentations.create("gaussian_noise").sample(2)


@pytest.mark.parametrize(
    "kwargs, match", [({"sfreq": -1.0}, "sfreq must be"), ({"sfreq": 10.0, "scale": 0}, "scale must be")]
)
def test_bad_constructor_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        augmentations.create("time_shift", **kwargs)
