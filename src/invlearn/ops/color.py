"""Differentiable colour and intensity operations on ``(B, C, H, W)`` float images with values in ``[0, 1]``.

Results are clamped to ``[0, 1]`` as in torchvision and kornia. Per-example parameters are ``(B,)`` tensors.
``solarize`` and ``posterize`` have no useful gradient w.r.t. their parameter; with ``hard=True`` (default) they
return the exact operation and pass the gradient of a smooth surrogate (straight-through estimator), with
``hard=False`` they return the surrogate itself.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from invlearn._validation import check_batch_param, check_bounds, check_image, check_index_param
from invlearn.ops.precision import in_float32
from invlearn.ops.relax import straight_through

_LUMA = (0.299, 0.587, 0.114)


def _per_example(x: Tensor, value: Tensor, name: str, low: float | None = None, high: float | None = None) -> Tensor:
    """Validate a ``(B,)`` parameter against images ``x`` (values in ``[low, high]``) and shape it
    ``(B, 1, 1, 1)`` in ``x``'s dtype."""
    check_bounds(check_batch_param(value, name, x.shape[0]), name, low, high)
    return value.to(x.dtype).view(x.shape[0], 1, 1, 1)


def _require_rgb(x: Tensor, op: str) -> None:
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 (RGB) channels for {op}, got {x.shape[1]}")


@in_float32
def luminance(x: Tensor) -> Tensor:
    """Grey level ``(B, 1, H, W)``: ITU-R 601 luma of RGB images, the image itself for one channel."""
    return _luminance(check_image(x))


def _luminance(x: Tensor) -> Tensor:
    if x.shape[1] == 1:
        return x
    _require_rgb(x, "luminance")
    r, g, b = _LUMA
    return r * x[:, 0:1] + g * x[:, 1:2] + b * x[:, 2:3]


def _blend(x: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    """``other + factor * (x - other)``, clamped: factor 1 keeps ``x``, 0 gives ``other``."""
    return ((x - other) * factor + other).clamp(0.0, 1.0)


@in_float32
def brightness(x: Tensor, factor: Tensor) -> Tensor:
    """Multiply intensities by ``factor`` ``(B,)`` >= 0 (1 = identity, 0 = black)."""
    x = check_image(x)
    return (x * _per_example(x, factor, "factor", low=0.0)).clamp(0.0, 1.0)


@in_float32
def contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with each image's mean grey level: ``factor`` ``(B,)`` >= 0, 1 = identity, 0 = flat grey."""
    x = check_image(x)
    f = _per_example(x, factor, "factor", low=0.0)
    channel_means = x.mean(dim=(2, 3), keepdim=True)  # mean grey = grey of the channel means (linear)
    return _blend(x, _luminance(channel_means).mean(dim=1, keepdim=True), f)


@in_float32
def saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Blend RGB images with their grey version: ``factor`` ``(B,)`` >= 0, 1 = identity, 0 = greyscale."""
    x = check_image(x)
    _require_rgb(x, "saturation")
    return _blend(x, _luminance(x), _per_example(x, factor, "factor", low=0.0))


def _yiq_matrices(dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    to_yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
        dtype=torch.float64,
    )
    return to_yiq.to(device, dtype), torch.linalg.inv(to_yiq).to(device, dtype)


@in_float32
def hue(x: Tensor, shift: Tensor) -> Tensor:
    """Rotate the hue of RGB images by ``shift`` ``(B,)`` turns (1 = full colour wheel, 0 = identity).

    Implemented as a rotation of the chroma plane in YIQ space, a linear map that keeps luma and is smooth in
    ``shift`` (unlike the piecewise HSV formula).
    """
    x = check_image(x)
    _require_rgb(x, "hue")
    check_batch_param(shift, "shift", x.shape[0])
    to_yiq, from_yiq = _yiq_matrices(x.dtype, x.device)
    angle = 2.0 * math.pi * shift.to(x.dtype)
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(cos), torch.zeros_like(cos)
    rotation = torch.stack([one, zero, zero, zero, cos, -sin, zero, sin, cos], dim=-1).view(x.shape[0], 3, 3)
    transform = from_yiq @ rotation @ to_yiq
    return torch.einsum("bij,bjhw->bihw", transform, x).clamp(0.0, 1.0)


@in_float32
def sharpness(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with a smoothed copy (3x3 kernel ``[[1,1,1],[1,5,1],[1,1,1]] / 13``, border pixels kept):
    ``factor`` ``(B,)`` >= 0, 1 = identity, 0 = smoothed, 2 = sharpened. Images need at least 3 x 3 pixels."""
    x = check_image(x)
    if min(x.shape[-2:]) < 3:
        raise ValueError(f"x must be at least 3 x 3 pixels for the 3 x 3 sharpness kernel, got {tuple(x.shape[-2:])}")
    f = _per_example(x, factor, "factor", low=0.0)
    channels = x.shape[1]
    kernel = x.new_tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0
    smooth_inner = F.conv2d(x, kernel.expand(channels, 1, 3, 3), groups=channels)
    smooth = x.clone()
    smooth[..., 1:-1, 1:-1] = smooth_inner
    return _blend(x, smooth, f)


@in_float32
def sample_pairing(x: Tensor, weight: Tensor, permutation: Tensor) -> Tensor:
    """Mix each image with another of the batch: ``(1 - w) x + w x[permutation]``.

    Args:
        x: images ``(B, C, H, W)``.
        weight: ``(B,)`` mixing weights in ``[0, 1]`` (0 = identity).
        permutation: ``(B,)`` integer indices into the batch.
    """
    x = check_image(x)
    w = _per_example(x, weight, "weight", 0.0, 1.0)
    perm = check_index_param(permutation, "permutation", x.shape[0], (), x.shape[0])
    return torch.lerp(x, x[perm], w)


@in_float32
def invert(x: Tensor, mask: Tensor) -> Tensor:
    """Replace ``x`` by ``1 - x`` where ``mask`` ``(B,)`` in ``[0, 1]`` is 1; fractional masks blend (relaxed)."""
    x = check_image(x)
    return torch.lerp(x, 1.0 - x, _per_example(x, mask, "mask", 0.0, 1.0))


@in_float32
def grayscale(x: Tensor, mask: Tensor) -> Tensor:
    """Replace RGB images by their grey level (kept 3-channel) where ``mask`` ``(B,)`` in ``[0, 1]`` is 1;
    fractional masks blend (relaxed)."""
    x = check_image(x)
    m = _per_example(x, mask, "mask", 0.0, 1.0)
    return torch.lerp(x, _luminance(x).expand_as(x), m)


@in_float32
def solarize(x: Tensor, threshold: Tensor, hard: bool = True, sharpness: float = 50.0) -> Tensor:
    """Invert the pixels strictly above ``threshold`` ``(B,)`` (1 = identity for images in ``[0, 1]``).

    The surrogate replaces the step ``1[x > t]`` by ``sigmoid(sharpness * (x - t))``.
    """
    x = check_image(x)
    t = _per_example(x, threshold, "threshold")
    soft = x + torch.sigmoid(sharpness * (x - t)) * (1.0 - 2.0 * x)
    if not hard:
        return soft
    exact = torch.where(x > t, 1.0 - x, x)
    return straight_through(exact, soft)


@in_float32
def posterize(x: Tensor, bits: Tensor, hard: bool = True) -> Tensor:
    """Keep ``bits`` ``(B,)`` >= 0 bits of precision: ``floor(x * 2**bits) / 2**bits``; ``bits >= 8`` leaves the
    image unchanged (an 8-bit image already has 8 bits). Fractional bit counts are allowed.

    The surrogate is the expected effect of flooring, a downward shift of half a quantisation step:
    ``x - 2**-(bits + 1)``; its gradient is 1 w.r.t. ``x`` and ``ln 2 * 2**-(bits + 1)`` w.r.t. ``bits``.
    """
    x = check_image(x)
    b = _per_example(x, bits, "bits", low=0.0)
    soft = x - torch.exp2(-(b + 1.0))
    if not hard:
        return soft
    levels = torch.exp2(b)
    exact = torch.where(b >= 8.0, x, torch.floor(x * levels) / levels)
    return straight_through(exact, soft)
