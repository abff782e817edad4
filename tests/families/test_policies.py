"""Fixed policies: RandAugment, TrivialAugment, sub-policies, training-only application."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import augmentations, ops
from invlearn.families.policies import RandAugment, SubPolicies, TrainingOnly, TrivialAugment, apply_op
from tests.conftest import make_augmentation, make_input, seeded

IMAGE_OPS = ["rotate", "translate_x", "brightness", "solarize", "hflip"]


@pytest.mark.parametrize("magnitude", [0.25, 1.0])
def test_randaugment_applies_its_ops_at_one_magnitude_with_a_random_sign(magnitude):
    policy = RandAugment(["rotate"], n_ops=1, magnitude=magnitude)
    x = torch.rand(64, 1, 9, 9)
    out, params = policy(x, seeded(0), return_params=True)
    signs = torch.where(params["u"][:, 0] < 0, -1.0, 1.0)
    expected = ops.rotate(x, signs * magnitude * policy.ops[0].scale)
    assert torch.allclose(out, expected, atol=1e-6)
    assert 0 < int((signs < 0).sum()) < 64  # both signs drawn


def test_randaugment_draws_every_op_uniformly_and_each_example_gets_its_own():
    policy = RandAugment(IMAGE_OPS, n_ops=2, magnitude=0.5)
    params = policy.sample(5000, seeded(1), shape=(1, 9, 9))
    counts = torch.bincount(params["op"].flatten(), minlength=len(IMAGE_OPS)).float()
    assert counts.min() / counts.max() > 0.9  # 2,000 each, within sampling noise
    x = torch.rand(6, 1, 9, 9)
    out, params = policy(x, seeded(2), return_params=True)
    one_sided = torch.tensor([0, 1, 2, 3, 4]) >= 3  # solarize (a threshold's decrease), hflip: no sign
    for b in range(len(x)):
        y = x[b : b + 1]
        for draw in range(2):
            k = int(params["op"][b, draw])
            sign = 1.0 if bool(one_sided[k]) or params["u"][b, draw] >= 0 else -1.0
            amount = 1.0 if IMAGE_OPS[k] == "hflip" else sign * 0.5
            extra = {key.split(".", 2)[2]: v[b : b + 1] for key, v in params.items() if key.startswith(f"{draw}.{k}.")}
            y = apply_op(policy.ops[k], y, torch.tensor([amount]), extra)
        assert torch.allclose(out[b : b + 1], y, atol=1e-6), b


def test_trivialaugment_draws_one_op_at_a_uniform_magnitude():
    policy = TrivialAugment(["rotate", "solarize"])
    x = torch.rand(400, 1, 9, 9)
    out, params = policy(x, seeded(3), return_params=True)
    assert params["op"].shape == (400, 1)
    rotated = params["op"][:, 0] == 0
    angles = params["u"][rotated, 0] * policy.ops[0].scale
    assert torch.allclose(out[rotated], ops.rotate(x[rotated], angles), atol=1e-6)
    solarized = ~rotated
    thresholds = 1 - params["u"][solarized, 0].abs() * policy.ops[1].scale  # one-sided: no sign
    assert torch.allclose(out[solarized], ops.solarize(x[solarized], thresholds), atol=1e-6)
    assert params["u"].abs().max() > 0.95 and params["u"].abs().min() < 0.05  # magnitudes over [0, 1]


def test_sub_policies_apply_each_op_with_its_probability_at_its_magnitude():
    policy = SubPolicies(["rotate", "hflip", "brightness"], [["rotate", "hflip"], ["brightness", "rotate"]], 0.5, 0.4)
    x = torch.rand(2000, 1, 5, 5)
    out, params = policy(x, seeded(4), return_params=True)
    first = (params["choice"] * 2).long() == 0
    applied = params["apply"] < 0.5
    assert 0.45 < float(first.float().mean()) < 0.55
    untouched = first & ~applied[:, 0] & ~applied[:, 1]
    assert torch.equal(out[untouched], x[untouched])
    flipped_only = first & ~applied[:, 0] & applied[:, 1]
    assert torch.allclose(out[flipped_only], x[flipped_only].flip(-1))
    rotated_only = first & applied[:, 0] & ~applied[:, 1]
    angles = torch.where(params["u"][rotated_only, 0] < 0, -0.4, 0.4) * policy.ops[0].scale
    assert torch.allclose(out[rotated_only], ops.rotate(x[rotated_only], angles), atol=1e-6)
    assert policy.entries()[1] == [
        {"name": "brightness", "probability": 0.5, "magnitude": pytest.approx(0.4)},
        {"name": "rotate", "probability": 0.5, "magnitude": pytest.approx(0.4)},
    ]


@pytest.mark.parametrize(
    "policy",
    [
        lambda: RandAugment(IMAGE_OPS, 2, 0.3),
        lambda: TrivialAugment(IMAGE_OPS),
        lambda: SubPolicies(IMAGE_OPS, [["rotate", "hflip"], ["solarize", "translate_x"]], 0.7, 0.6),
    ],
)
def test_a_policy_replays_its_draw_and_the_same_seed_gives_the_same_batch(policy):
    policy = policy()
    x = make_input("image", batch=8)
    out, params = policy(x, seeded(5), return_params=True)
    assert torch.equal(policy.apply(x, params), out)
    assert torch.equal(policy(x, seeded(5)), out)
    assert not torch.equal(policy(x, seeded(6)), out)


def test_signal_policies_pass_each_op_its_own_noise():
    names = ["gaussian_noise", "time_shift", "channel_shuffle", "sign_flip"]
    policy = RandAugment([make_augmentation(name) for name in names], n_ops=2, magnitude=0.8)
    x = make_input("signal", batch=16)
    out, params = policy(x, seeded(7), return_params=True)
    assert torch.isfinite(out).all() and out.shape == x.shape
    assert any(key.endswith(".noise") for key in params) and "0.2.permutation" in policy.permutation_keys
    assert torch.equal(policy.apply(x, params), out)
    bad = dict(params)
    bad["0.2.permutation"] = torch.zeros_like(params["0.2.permutation"])
    with pytest.raises(ValueError, match="permutation"):
        policy.apply(x, bad)


def test_training_only_is_the_identity_in_eval_mode():
    policy = TrainingOnly(RandAugment(IMAGE_OPS, 2, 1.0))
    x = make_input("image", batch=4)
    assert not torch.equal(policy(x, seeded(8)), x)
    policy.eval()
    assert torch.equal(policy(x, seeded(8)), x)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: RandAugment(["rotate", "sample_pairing"]), "mix the examples"),
        (lambda: RandAugment(["rotate", "gaussian_noise"]), "mixes modalities"),
        (lambda: RandAugment(["rotate"], n_ops=0), "n_ops"),
        (lambda: RandAugment(["rotate"], magnitude=1.5), "magnitude"),
        (lambda: TrivialAugment("rotate"), "list of augmentations"),
        (lambda: SubPolicies(["rotate", "hflip"], [["rotate", "shear_x"]]), "sub_policies"),
        (lambda: SubPolicies(["rotate", "hflip"], [["rotate"], ["rotate", "hflip"]]), "sub_policies"),
        (lambda: SubPolicies(["rotate", "hflip"], [["rotate", "hflip"]], probabilities=1.5), "probabilities"),
        (lambda: SubPolicies(["rotate", "hflip"], [["rotate", "hflip"]], magnitudes=[[0.1]] * 3), "magnitudes"),
        (lambda: TrainingOnly("rotate"), "RandomTransform"),
    ],
)
def test_bad_policies_are_refused(build, message):
    with pytest.raises((TypeError, ValueError, RuntimeError), match=message):
        build()


def test_policy_ops_learn_nothing():
    policy = RandAugment([augmentations.create("rotate", magnitude=0.1)], 1, 1.0)
    assert not any(p.requires_grad for p in policy.parameters())
    x = torch.rand(32, 1, 7, 7)
    out, params = policy(x, seeded(9), return_params=True)
    sign = torch.where(params["u"][:, 0] < 0, -1.0, 1.0)
    assert torch.allclose(out, ops.rotate(x, sign * math.pi / 6), atol=1e-6)  # the op's own magnitude is ignored
