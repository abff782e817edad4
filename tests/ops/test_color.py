"""Colour ops: reference values, identities and the straight-through gradients."""

from __future__ import annotations

import pytest
import torch

from invlearn import ops


def image(batch=2, seed=0):
    return torch.rand(batch, 3, 5, 5, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_brightness_contrast_saturation_reference_values():
    x = image()
    assert torch.allclose(
        ops.brightness(x, torch.tensor([0.5, 2.0])), torch.stack([x[0] * 0.5, (x[1] * 2).clamp(max=1)])
    )
    flat = ops.contrast(x, torch.zeros(2))
    assert torch.allclose(flat, ops.luminance(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x))
    grey = ops.saturation(x, torch.zeros(2))
    assert torch.allclose(grey, ops.luminance(x).expand_as(x))


def test_hue_rotations_compose_and_keep_luma():
    x = 0.4 + 0.2 * image()  # mid-range colours: no clamping, so the rotations are exactly invertible
    turned = ops.hue(x, torch.full((2,), 0.1))
    assert not torch.allclose(turned, x)
    assert torch.allclose(ops.hue(turned, torch.full((2,), -0.1)), x, atol=1e-6)
    assert torch.allclose(ops.luminance(turned), ops.luminance(x), atol=1e-6)
    assert torch.allclose(ops.hue(x, torch.ones(2)), x, atol=1e-6)  # a full turn


def test_sharpness_zero_is_the_smoothing_kernel():
    x = image(1)
    out = ops.sharpness(x, torch.zeros(1))
    k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64) / 13
    assert torch.allclose(out[0, 0, 2, 2], (x[0, 0, 1:4, 1:4] * k).sum())
    assert torch.equal(out[..., 0, :], x[..., 0, :])  # border kept


def test_sample_pairing_mixes_with_the_permuted_batch():
    x = image(3)
    perm = torch.tensor([2, 0, 1])
    out = ops.sample_pairing(x, torch.tensor([0.0, 1.0, 0.5]), perm)
    assert torch.equal(out[0], x[0]) and torch.equal(out[1], x[0])
    assert torch.allclose(out[2], 0.5 * x[2] + 0.5 * x[1])


def test_invert_and_grayscale_masks():
    x = image()
    assert torch.equal(ops.invert(x, torch.tensor([1.0, 0.0]))[0], 1 - x[0])
    g = ops.grayscale(x, torch.tensor([1.0, 0.0]))
    assert torch.equal(g[1], x[1]) and torch.allclose(g[0], ops.luminance(x[:1])[0].expand(3, 5, 5))


def test_solarize_and_posterize_exact_forward():
    x = image()
    sol = ops.solarize(x, torch.tensor([0.5, 1.0]))
    assert torch.equal(sol[0], torch.where(x[0] > 0.5, 1 - x[0], x[0]))
    assert torch.equal(sol[1], x[1])
    post = ops.posterize(x, torch.tensor([2.0, 8.0]))
    assert torch.equal(post[0], torch.floor(x[0] * 4) / 4)
    assert torch.equal(post[1], x[1])
    eight_bit = torch.randint(0, 256, (1, 3, 4, 4)).double() / 256
    assert torch.equal(ops.posterize(eight_bit, torch.tensor([3.0])), torch.floor(eight_bit * 8) / 8)


@pytest.mark.parametrize(
    "op, param", [(ops.solarize, torch.tensor([0.4, 0.7])), (ops.posterize, torch.tensor([3.5, 6.0]))]
)
def test_straight_through_gradient_is_the_surrogate_gradient(op, param):
    x = image().requires_grad_(True)
    p = param.double().requires_grad_(True)
    weights = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    hard = torch.autograd.grad((op(x, p) * weights).sum(), (x, p))
    soft = torch.autograd.grad((op(x, p, hard=False) * weights).sum(), (x, p))
    for h, s in zip(hard, soft, strict=True):
        assert torch.allclose(h, s)
    assert (soft[1].abs() > 0).all()
    assert torch.autograd.gradcheck(lambda a, b: op(a, b, hard=False), (x, p))


@pytest.mark.parametrize("op", [ops.saturation, ops.hue])
def test_rgb_only_ops_reject_other_channel_counts(op):
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        op(torch.rand(2, 1, 4, 4), torch.ones(2))
