"""Inputs outside an op's domain are refused with the argument named; empty batches pass through; the checks run
once, at the public boundary."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import Augerino, AugmentationLayer, AugNet, UniformLieAffine, augmentations, ops
from tests.conftest import ALL_NAMES, make_augmentation, make_input, seeded
from tests.learners import TinyImageTrunk

B = 2
IMAGE_OPS = {
    "affine": lambda x: ops.affine(x, torch.eye(3).expand(len(x), 3, 3)),
    "affine_stack": lambda x: ops.affine_stack(x, torch.eye(3).expand(len(x), 2, 3, 3)),
    "rotate": lambda x: ops.rotate(x, torch.zeros(len(x))),
    "translate": lambda x: ops.translate(x, torch.zeros(len(x), 2)),
    "scale": lambda x: ops.scale(x, torch.ones(len(x))),
    "shear": lambda x: ops.shear(x, torch.zeros(len(x), 2)),
    "hflip": lambda x: ops.hflip(x, torch.ones(len(x))),
    "vflip": lambda x: ops.vflip(x, torch.ones(len(x))),
    "brightness": lambda x: ops.brightness(x, torch.ones(len(x))),
    "contrast": lambda x: ops.contrast(x, torch.ones(len(x))),
    "saturation": lambda x: ops.saturation(x, torch.ones(len(x))),
    "hue": lambda x: ops.hue(x, torch.zeros(len(x))),
    "sharpness": lambda x: ops.sharpness(x, torch.ones(len(x))),
    "sample_pairing": lambda x: ops.sample_pairing(x, torch.zeros(len(x)), torch.arange(len(x))),
    "invert": lambda x: ops.invert(x, torch.ones(len(x))),
    "grayscale": lambda x: ops.grayscale(x, torch.ones(len(x))),
    "solarize": lambda x: ops.solarize(x, torch.ones(len(x))),
    "posterize": lambda x: ops.posterize(x, torch.full((len(x),), 4.0)),
    "luminance": lambda x: ops.luminance(x),
}
SIGNAL_OPS = {
    "time_shift": lambda x: ops.time_shift(x, torch.zeros(len(x))),
    "time_reverse": lambda x: ops.time_reverse(x, torch.ones(len(x))),
    "sign_flip": lambda x: ops.sign_flip(x, torch.ones(len(x))),
    "amplitude_scale": lambda x: ops.amplitude_scale(x, torch.ones(len(x))),
    "gaussian_noise": lambda x: ops.gaussian_noise(x, torch.ones(len(x)), torch.zeros_like(x)),
    "ft_surrogate": lambda x: ops.ft_surrogate(x, torch.ones(len(x)), torch.zeros(len(x), 1, x.shape[-1] // 2 + 1)),
    "frequency_shift": lambda x: ops.frequency_shift(x, torch.ones(len(x)), 16.0),
    "time_mask": lambda x: ops.time_mask(x, torch.zeros(len(x)), torch.ones(len(x))),
    "channel_dropout": lambda x: ops.channel_dropout(x, torch.ones(len(x), x.shape[1])),
    "channel_shuffle": lambda x: ops.channel_shuffle(
        x, torch.arange(x.shape[1]).expand(len(x), -1), torch.ones(len(x), x.shape[1])
    ),
    "analytic_signal": lambda x: ops.analytic_signal(x),
}
EVERY_OP = [(name, "image", op) for name, op in IMAGE_OPS.items()] + [
    (name, "signal", op) for name, op in SIGNAL_OPS.items()
]


@pytest.mark.parametrize("name, modality, op", EVERY_OP, ids=[name for name, _, _ in EVERY_OP])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_every_op_refuses_non_finite_input(name, modality, op, bad):
    x = make_input(modality, batch=B)
    x[1, 0, 0] = bad
    with pytest.raises(ValueError, match="x contains NaN or infinite values"):
        op(x)


@pytest.mark.parametrize("name, modality, op", EVERY_OP, ids=[name for name, _, _ in EVERY_OP])
def test_every_op_maps_an_empty_batch_to_an_empty_batch(name, modality, op):
    x = make_input(modality, batch=B)[:0]
    expected = {"luminance": (0, 1, *x.shape[2:]), "affine_stack": (0, 2, *x.shape[1:])}
    assert op(x).shape == expected.get(name, x.shape)


def test_every_augmentation_maps_an_empty_batch_to_an_empty_batch(name):
    aug = make_augmentation(name)
    for mode in (True, False):
        x = make_input(aug.modality, batch=B)[:0]
        assert aug.train(mode)(x, generator=seeded()).shape == x.shape


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda x: ops.brightness(x, torch.tensor([1.0, -0.1])), "factor must lie in \\[0, inf\\]"),
        (lambda x: ops.contrast(x, torch.tensor([1.0, -0.1])), "factor must lie in"),
        (lambda x: ops.saturation(x, torch.tensor([1.0, -0.1])), "factor must lie in"),
        (lambda x: ops.sharpness(x, torch.tensor([1.0, -0.1])), "factor must lie in"),
        (lambda x: ops.posterize(x, torch.tensor([4.0, -1.0])), "bits must lie in \\[0, inf\\]"),
        (lambda x: ops.hflip(x, torch.tensor([0.5, 1.5])), "mask must lie in \\[0, 1\\]"),
        (lambda x: ops.vflip(x, torch.tensor([-0.5, 1.0])), "mask must lie in \\[0, 1\\]"),
        (lambda x: ops.invert(x, torch.tensor([0.5, 2.0])), "mask must lie in \\[0, 1\\]"),
        (lambda x: ops.grayscale(x, torch.tensor([0.5, 2.0])), "mask must lie in \\[0, 1\\]"),
        (lambda x: ops.sample_pairing(x, torch.tensor([0.5, 1.5]), torch.tensor([1, 0])), "weight must lie in"),
        (lambda x: ops.sharpness(x[..., :2, :2], torch.ones(2)), "at least 3 x 3 pixels"),
        (lambda x: ops.rotate(x, torch.zeros(2), mode="cubic"), "mode must be one of"),
    ],
)
def test_image_ops_refuse_parameters_outside_their_domain(call, argument):
    with pytest.raises(ValueError, match=argument):
        call(make_input("image", batch=B))


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda x: ops.time_mask(x, torch.zeros(2), torch.tensor([1.0, -2.0])), "length must lie in \\[0, inf\\]"),
        (lambda x: ops.time_reverse(x, torch.tensor([0.0, 1.2])), "mask must lie in \\[0, 1\\]"),
        (lambda x: ops.sign_flip(x, torch.tensor([0.0, -1.0])), "mask must lie in \\[0, 1\\]"),
        (lambda x: ops.gaussian_noise(x, torch.tensor([0.1, -0.1]), torch.zeros_like(x)), "std must lie in"),
        (lambda x: ops.channel_dropout(x, torch.full((2, 3), 1.5)), "drop must lie in \\[0, 1\\]"),
        (
            lambda x: ops.channel_shuffle(x, torch.tensor([[0, 0, 1], [0, 1, 2]]), torch.ones(2, 3)),
            "permutation must hold one permutation",
        ),
        (lambda x: ops.channel_shuffle(x, torch.tensor([[0, 1, 2]] * 2), torch.full((2, 3), 2.0)), "mask must lie"),
        (lambda x: ops.frequency_shift(x, torch.tensor([0.0, 8.5]), 16.0), "shift must lie in \\[-8, 8\\]"),
        (lambda x: ops.ft_surrogate(x, torch.tensor([0.5, -0.5]), torch.zeros(2, 1, 17)), "magnitude must lie"),
    ],
)
def test_signal_ops_refuse_parameters_outside_their_domain(call, argument):
    with pytest.raises(ValueError, match=argument):
        call(make_input("signal", batch=B))


def test_lie_coefficients_whose_exponential_overflows_are_refused():
    assert torch.isfinite(ops.lie_affine_matrix(torch.full((2, 6), 3.0))).all()
    with pytest.raises(ValueError, match="coefficients are too large"):
        ops.lie_affine_matrix(torch.tensor([[0.0, 0.0, 0.0, 200.0, 0.0, 0.0]] * 2))


@pytest.mark.parametrize(
    "name, kwargs, argument",
    [
        ("brightness", {"scale": 1.5}, "scale must be at most 1"),
        ("sample_pairing", {"scale": 2.0}, "scale must be at most 1"),
        ("posterize", {"scale": 9.0}, "scale must be at most 8"),
        ("channel_dropout", {"scale": 1.2}, "scale must be at most 1"),
        ("frequency_shift", {"sfreq": 16.0, "scale": 9.0}, "at most the Nyquist frequency 8 Hz"),
        ("amplitude_scale", {"scale": 1.5}, "scale must be at most 1"),
        ("scale", {"scale": 10.0}, "scale must be at most 6.9"),
        ("scale_3d", {"scale": 1000.0}, "scale must be at most 6.9"),
    ],
)
def test_scales_outside_the_op_domain_are_refused_at_construction(name, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        augmentations.create(name, **kwargs)


def test_a_sampling_frequency_is_required_where_a_unit_needs_it():
    with pytest.raises(TypeError, match="sfreq"):
        augmentations.create("time_mask")


@pytest.mark.parametrize("generator", ["seed", 0, torch.zeros(2)])
def test_a_generator_that_is_not_a_torch_generator_is_a_type_error(generator):
    aug = augmentations.create("rotate")
    x = make_input("image", batch=B)
    for call in (lambda: aug(x, generator), lambda: aug.sample(B, generator)):
        with pytest.raises(TypeError, match="generator must be a torch.Generator"):
            call()
    model = AugNet(TinyImageTrunk(), AugmentationLayer([aug]))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        model(x, generator=generator)


def test_a_layer_refuses_a_single_name_or_augmentation():
    with pytest.raises(TypeError, match="must be a list of augmentations or names.*\\['rotate'\\]"):
        AugmentationLayer("rotate")
    with pytest.raises(TypeError, match="must be a list"):
        AugmentationLayer(augmentations.create("rotate"))


def test_replayed_permutations_are_checked():
    aug = augmentations.create("channel_shuffle")
    x = make_input("signal", batch=B)
    params = aug.sample(B, seeded(), shape=x.shape[1:])
    params["permutation"] = torch.zeros_like(params["permutation"])
    with pytest.raises(ValueError, match="params\\['permutation'\\] must hold one permutation"):
        aug.apply(x, params)
    with pytest.raises(ValueError, match="unknown \\['extra'\\]"):
        aug.apply(x, {**aug.sample(B, seeded(), shape=x.shape[1:]), "extra": torch.zeros(B)})


def test_affine_matrix_is_public_and_checked():
    aug = augmentations.create("rotate", magnitude=1.0)
    params = aug.sample(3, seeded())
    angles = params["u"] * aug.scale
    assert torch.allclose(aug.matrix(params, 6, 6), ops.rotation_matrix(angles, 6, 6))
    with pytest.raises(ValueError, match="params\\['u'\\] contains NaN"):
        aug.matrix({"u": torch.tensor([0.1, math.nan])}, 6, 6)
    with pytest.raises(ValueError, match="height must be an integer >= 1"):
        aug.matrix(params, 0, 6)


def test_augmentation_classes_sit_at_most_two_levels_below_augmentation():
    for name in ALL_NAMES:
        chain = [c for c in augmentations.get(name).__mro__ if issubclass(c, augmentations.Augmentation)]
        assert chain.index(augmentations.Augmentation) <= 2, (name, chain)


class _Counter:
    """Counts the tensor-to-Python conversions (each a device synchronisation on a GPU) and the input checks."""

    def __init__(self, monkeypatch):
        self.conversions = 0
        self.input_checks = 0
        for method in ("__bool__", "__float__", "__int__", "item", "tolist"):
            original = getattr(torch.Tensor, method)
            monkeypatch.setattr(torch.Tensor, method, self._counted(original))
        from invlearn import _validation

        original_finite = _validation.check_finite

        def check_finite(value, name):
            if _validation.checking() and name == "x":
                self.input_checks += 1
            return original_finite(value, name)

        monkeypatch.setattr(_validation, "check_finite", check_finite)

    def _counted(self, original):
        def counted(tensor, *args, **kwargs):
            self.conversions += 1
            return original(tensor, *args, **kwargs)

        return counted


def test_a_training_step_checks_its_input_once_and_converts_no_tensor(monkeypatch):
    names = ("translate_x", "translate_y", "rotate", "shear_x", "shear_y")
    models = [
        AugNet(TinyImageTrunk(), AugmentationLayer([augmentations.create(n) for n in names])),
        Augerino(TinyImageTrunk(), UniformLieAffine()),
    ]
    x = make_input("image", batch=8)
    for model in models:
        counter = _Counter(monkeypatch)
        loss = model(x, generator=seeded()).sum() - model.penalty()
        loss.backward()
        # the input's finiteness is the one check that reads a tensor; nothing below the boundary reads one
        assert (counter.input_checks, counter.conversions) == (1, 1), type(model).__name__


def test_finite_values_whose_sum_overflows_are_accepted():
    x = torch.full((2, 3, 6, 6), 0.9)
    x[0, 0] = 3.0e38  # finite, though their sum is not
    assert ops.rotate(x, torch.zeros(2)).shape == x.shape
