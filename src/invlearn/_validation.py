"""Argument checks shared by every public entry point.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong shape, range or
non-finite values) with a message that names the offending argument, so a bad call fails loudly before any
work is done.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


def check_tensor(value: object, name: str) -> Tensor:
    """Require a ``torch.Tensor``."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_float_tensor(value: object, name: str, ndim: int | None = None, what: str = "") -> Tensor:
    """Require a floating-point tensor, optionally of a given number of dimensions."""
    x = check_tensor(value, name)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions{what}, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_image(x: object, name: str = "x") -> Tensor:
    """Require a float image batch of shape ``(B, C, H, W)``."""
    return check_float_tensor(x, name, ndim=4, what=" (B, C, H, W)")


def check_signal(x: object, name: str = "x") -> Tensor:
    """Require a float signal batch of shape ``(B, channels, times)``."""
    return check_float_tensor(x, name, ndim=3, what=" (B, channels, times)")


def check_batch_param(
    value: object, name: str, batch_size: int, trailing: Sequence[int] = (), finite: bool = True
) -> Tensor:
    """Require a per-example parameter tensor of shape ``(batch_size, *trailing)`` with finite values."""
    p = check_tensor(value, name)
    expected = (batch_size, *trailing)
    if tuple(p.shape) != expected:
        raise ValueError(
            f"{name} must have shape {expected} to match a batch of {batch_size} examples, got {tuple(p.shape)}"
        )
    if finite and p.is_floating_point() and not bool(torch.isfinite(p).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return p


def check_index_param(value: object, name: str, batch_size: int, trailing: Sequence[int], upper: int) -> Tensor:
    """Require an integer index tensor of shape ``(batch_size, *trailing)`` with entries in ``[0, upper)``."""
    p = check_batch_param(value, name, batch_size, trailing, finite=False)
    if p.is_floating_point() or p.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer (index) tensor, got dtype {p.dtype}")
    if p.numel() and (int(p.min()) < 0 or int(p.max()) >= upper):
        raise ValueError(f"{name} must hold indices in [0, {upper})")
    return p


def check_unit_interval(value: object, name: str) -> float:
    """Require a finite real number in ``[0, 1]`` (a magnitude or a probability); returns it as ``float``."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return v


def check_positive(value: object, name: str) -> float:
    """Require a finite real number > 0 (a physical scale, a frequency, a sharpness)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return v


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Require one of a fixed set of strings."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value  # type: ignore[return-value]
