"""Differentiable operations on multichannel signals ``(B, channels, times)`` (braindecode's conventions).

Per-example parameters are ``(B,)`` tensors unless stated; ``sfreq`` is the sampling frequency in Hz.
Masks (``mask``, ``drop``) take values in ``[0, 1]``: 1 applies the operation, 0 leaves the input, values in
between blend the two so that a relaxed mask passes gradients.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from invlearn._validation import (
    check_batch_param,
    check_bounds,
    check_choice,
    check_finite,
    check_float_tensor,
    check_index_param,
    check_permutations,
    check_positive,
    check_signal,
    trusted,
)
from invlearn.ops.geometry import PADDINGS
from invlearn.ops.precision import in_float32


def _per_example(x: Tensor, value: Tensor, name: str, low: float | None = None, high: float | None = None) -> Tensor:
    """Validate a ``(B,)`` parameter against signals ``x`` (values in ``[low, high]``) and shape it ``(B, 1, 1)``
    in ``x``'s dtype."""
    check_bounds(check_batch_param(value, name, x.shape[0]), name, low, high)
    return value.to(x.dtype).view(x.shape[0], 1, 1)


def _times(x: Tensor) -> Tensor:
    return torch.arange(x.shape[-1], dtype=x.dtype, device=x.device)


@in_float32
def time_shift(x: Tensor, shift: Tensor, padding_mode: str = "zeros") -> Tensor:
    """Delay signals by ``shift`` ``(B,)`` samples (fractional shifts interpolate linearly; negative values
    advance). ``padding_mode`` (``"zeros"``, ``"border"``, ``"reflection"``) fills the uncovered part."""
    x = check_signal(x)
    s = check_batch_param(shift, "shift", x.shape[0]).to(x.dtype)
    check_choice(padding_mode, "padding_mode", PADDINGS)
    n = x.shape[-1]
    positions = _times(x).unsqueeze(0) - s.unsqueeze(1)  # (B, T): sample read by each output sample
    gx = 2.0 * positions / max(n - 1, 1) - 1.0
    grid = torch.stack([gx, torch.zeros_like(gx)], dim=-1).unsqueeze(1)  # (B, 1, T, 2)
    out = F.grid_sample(x.unsqueeze(2), grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)
    return out.squeeze(2)


@in_float32
def time_reverse(x: Tensor, mask: Tensor) -> Tensor:
    """Reverse time where ``mask`` ``(B,)`` in ``[0, 1]`` is 1 (blend for fractional masks)."""
    x = check_signal(x)
    return torch.lerp(x, x.flip(-1), _per_example(x, mask, "mask", 0.0, 1.0))


@in_float32
def sign_flip(x: Tensor, mask: Tensor) -> Tensor:
    """Negate signals where ``mask`` ``(B,)`` in ``[0, 1]`` is 1 (blend for fractional masks)."""
    x = check_signal(x)
    return torch.lerp(x, -x, _per_example(x, mask, "mask", 0.0, 1.0))


@in_float32
def amplitude_scale(x: Tensor, factor: Tensor) -> Tensor:
    """Multiply signals by ``factor`` ``(B,)``."""
    x = check_signal(x)
    return x * _per_example(x, factor, "factor")


@in_float32
def gaussian_noise(x: Tensor, std: Tensor, noise: Tensor) -> Tensor:
    """Add ``std`` ``(B,)`` >= 0 times the standard-normal ``noise`` ``(B, channels, times)``."""
    x = check_signal(x)
    check_batch_param(noise, "noise", x.shape[0], tuple(x.shape[1:]))
    return x + _per_example(x, std, "std", low=0.0) * noise.to(x.dtype)


@in_float32
def ft_surrogate(x: Tensor, magnitude: Tensor, phases: Tensor) -> Tensor:
    """Fourier-transform surrogate: add ``magnitude * phases`` to the phase of every frequency.

    Args:
        x: signals ``(B, C, T)``.
        magnitude: ``(B,)`` phase-noise magnitudes >= 0, usually in ``[0, 1]`` (0 = identity).
        phases: ``(B, C, T // 2 + 1)`` or ``(B, 1, T // 2 + 1)`` (same noise on every channel) random phases,
            usually uniform in ``[0, 2 pi)``. The DC and Nyquist bins keep their phase so the result stays real.
    """
    x = check_signal(x)
    n_freqs = x.shape[-1] // 2 + 1
    check_float_tensor(phases, "phases", ndim=3)
    if phases.shape[1] not in (1, x.shape[1]):
        raise ValueError(f"phases must have 1 or {x.shape[1]} channels, got shape {tuple(phases.shape)}")
    check_batch_param(phases, "phases", x.shape[0], (phases.shape[1], n_freqs))
    if not x.numel():  # the FFT backends reject empty inputs
        return x.clone()
    keep_real = torch.ones(n_freqs, dtype=x.dtype, device=x.device)
    keep_real[0] = 0.0
    if x.shape[-1] % 2 == 0:
        keep_real[-1] = 0.0
    shift = _per_example(x, magnitude, "magnitude", low=0.0) * phases.to(x.dtype) * keep_real
    spectrum = torch.fft.rfft(x, dim=-1)
    return torch.fft.irfft(spectrum * torch.polar(torch.ones_like(shift), shift), n=x.shape[-1], dim=-1)


@in_float32
def analytic_signal(x: Tensor) -> Tensor:
    """Complex analytic signal ``x + i H(x)`` along the last axis (FFT-based Hilbert transform) of a finite
    float32 or float64 tensor."""
    x = check_finite(check_float_tensor(x, "x"), "x")
    if not x.numel():  # the FFT backends reject empty inputs
        return x.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64)
    n = x.shape[-1]
    weights = torch.zeros(n, dtype=x.dtype, device=x.device)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[1 : n // 2] = 2.0
        weights[n // 2] = 1.0
    else:
        weights[1 : (n + 1) // 2] = 2.0
    return torch.fft.ifft(torch.fft.fft(x, dim=-1) * weights, dim=-1)


@in_float32
def frequency_shift(x: Tensor, shift: Tensor, sfreq: float) -> Tensor:
    """Shift every frequency component by ``shift`` ``(B,)`` Hz, at most the Nyquist frequency ``sfreq / 2`` either
    way (single-sideband modulation of the analytic signal): ``Re(analytic(x) * exp(2 i pi shift t))`` with ``t``
    in seconds at ``sfreq`` Hz."""
    x = check_signal(x)
    sfreq = check_positive(sfreq, "sfreq")
    s = _per_example(x, shift, "shift", -sfreq / 2, sfreq / 2)
    phase = 2.0 * math.pi * s * (_times(x) / sfreq)
    with trusted():
        return (analytic_signal(x) * torch.polar(torch.ones_like(phase), phase)).real


@in_float32
def time_mask(x: Tensor, start: Tensor, length: Tensor, sharpness: float = 1.0) -> Tensor:
    """Zero the samples in ``[start, start + length)`` (``(B,)`` each, in samples, fractional allowed, ``length``
    >= 0) with logistic edges of ``sharpness`` per sample, so both ``start`` and ``length`` get gradients;
    ``length`` 0 is the identity."""
    x = check_signal(x)
    a = check_batch_param(start, "start", x.shape[0]).to(x.dtype).unsqueeze(1)
    n = check_bounds(check_batch_param(length, "length", x.shape[0]), "length", low=0.0).to(x.dtype).unsqueeze(1)
    sharpness = check_positive(sharpness, "sharpness")
    t = _times(x).unsqueeze(0)
    window = torch.sigmoid(sharpness * (t - a)) - torch.sigmoid(sharpness * (t - a - n))
    return x * (1.0 - window).unsqueeze(1)


@in_float32
def channel_dropout(x: Tensor, drop: Tensor) -> Tensor:
    """Zero channels where ``drop`` ``(B, channels)`` in ``[0, 1]`` is 1 (scale by ``1 - drop`` in general)."""
    x = check_signal(x)
    check_bounds(check_batch_param(drop, "drop", x.shape[0], (x.shape[1],)), "drop", 0.0, 1.0)
    return x * (1.0 - drop.to(x.dtype)).unsqueeze(-1)


@in_float32
def channel_shuffle(x: Tensor, permutation: Tensor, mask: Tensor) -> Tensor:
    """Replace channel ``c`` by channel ``permutation[:, c]`` where ``mask`` ``(B, channels)`` is 1.

    Args:
        x: signals ``(B, C, T)``.
        permutation: ``(B, C)`` integer channel indices, one permutation of ``range(C)`` per example.
        mask: ``(B, C)`` in ``[0, 1]``; fractional values blend.
    """
    x = check_signal(x)
    b, c, t = x.shape
    perm = check_permutations(check_index_param(permutation, "permutation", b, (c,), c), "permutation")
    check_bounds(check_batch_param(mask, "mask", b, (c,)), "mask", 0.0, 1.0)
    shuffled = x.gather(1, perm.unsqueeze(-1).expand(b, c, t))
    return torch.lerp(x, shuffled, mask.to(x.dtype).unsqueeze(-1))
