"""Argument checks shared by every public entry point, run once at the boundary.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong shape, range or
non-finite values) with a message that names the offending argument, so a bad call fails loudly before any
work is done.

A public entry point (an op, an augmentation's ``forward``/``apply``/``sample``, a model's ``forward``) checks its
arguments and then runs its body inside :func:`trusted`: the library's own calls below it receive tensors that
were checked or that the library made itself, so the tensor checks here return at once inside that region.
Nothing is checked twice, and no check forces a device synchronisation below the boundary.
"""

from __future__ import annotations

import contextvars
import math
import reprlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

_TRUSTED = contextvars.ContextVar("invlearn_trusted", default=False)


@contextmanager
def trusted() -> Iterator[None]:
    """Run the library's own calls on already-checked arguments without checking them again."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def checking() -> bool:
    """True at a public boundary (outside :func:`trusted`), where arguments must be checked."""
    return not _TRUSTED.get()


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlong = 2, 80, 80, 40
_SHOWN.maxtuple = _SHOWN.maxlist = _SHOWN.maxdict = _SHOWN.maxset = 6
_SHOWN_CHARACTERS = 240


def shown(value: object) -> str:
    """``repr(value)`` bounded for a message: at most 6 items of a container, 2 levels deep, 80 characters of a
    string, 240 in all (``...`` marks what was left out), so a message that quotes a user's value stays one short
    line however large the value, or however its aliases nest in YAML."""
    text = _SHOWN.repr(value)
    return text if len(text) <= _SHOWN_CHARACTERS else text[: _SHOWN_CHARACTERS - 3] + "..."


def check_tensor(value: object, name: str) -> Tensor:
    """Require a ``torch.Tensor``."""
    if checking() and not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value  # type: ignore[return-value]


def check_finite(value: Tensor, name: str) -> Tensor:
    """Require finite values (no NaN, no infinity) in a floating-point tensor.

    The sum of the values is finite exactly when no value is NaN or infinite, unless finite values overflow it;
    only then is every value tested, so the usual case costs one reduction (about 40x cheaper than
    ``torch.isfinite(value).all()`` on an image batch on a CPU)."""
    if not checking() or not value.is_floating_point() or not value.numel():
        return value
    if not bool(torch.isfinite(value.detach().sum())) and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def check_float_tensor(value: object, name: str, ndim: int | None = None, what: str = "") -> Tensor:
    """Require a floating-point tensor, optionally of a given number of dimensions."""
    x = check_tensor(value, name)
    if not checking():
        return x
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions{what}, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_image(x: object, name: str = "x") -> Tensor:
    """Require a finite float image batch of shape ``(B, C, H, W)``."""
    return check_finite(check_float_tensor(x, name, ndim=4, what=" (B, C, H, W)"), name)


def check_signal(x: object, name: str = "x") -> Tensor:
    """Require a finite float signal batch of shape ``(B, channels, times)``."""
    return check_finite(check_float_tensor(x, name, ndim=3, what=" (B, channels, times)"), name)


def check_points(x: object, name: str = "x") -> Tensor:
    """Require a finite float batch of point sets ``(B, N, 3 + C)``: coordinates, then ``C >= 1`` channels, the
    last one the mask (see :mod:`invlearn.ops.points`)."""
    x = check_finite(check_float_tensor(x, name, ndim=3, what=" (B, points, 3 + channels)"), name)
    if checking() and x.shape[-1] < 4:
        raise ValueError(
            f"{name} must have shape (B, N, 3 + C): x, y, z then C >= 1 channels, the last the mask; "
            f"got {tuple(x.shape)}"
        )
    return x


def check_batch_param(
    value: object, name: str, batch_size: int, trailing: Sequence[int] = (), finite: bool = True
) -> Tensor:
    """Require a per-example parameter tensor of shape ``(batch_size, *trailing)`` with finite values."""
    p = check_tensor(value, name)
    if not checking():
        return p
    expected = (batch_size, *trailing)
    if tuple(p.shape) != expected:
        raise ValueError(
            f"{name} must have shape {expected} to match a batch of {batch_size} examples, got {tuple(p.shape)}"
        )
    return check_finite(p, name) if finite else p


def check_bounds(value: Tensor, name: str, low: float | None = None, high: float | None = None) -> Tensor:
    """Require every entry of a tensor in ``[low, high]`` (either bound may be ``None``: unbounded)."""
    if not checking() or not value.numel():
        return value
    if (low is not None and bool((value < low).any())) or (high is not None and bool((value > high).any())):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        found = f"{float(value.detach().min()):.4g}..{float(value.detach().max()):.4g}"
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got values in {found}")
    return value


def check_index_param(value: object, name: str, batch_size: int, trailing: Sequence[int], upper: int) -> Tensor:
    """Require an integer index tensor of shape ``(batch_size, *trailing)`` with entries in ``[0, upper)``."""
    p = check_batch_param(value, name, batch_size, trailing, finite=False)
    if not checking():
        return p
    if p.is_floating_point() or p.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer (index) tensor, got dtype {p.dtype}")
    if p.numel() and (int(p.min()) < 0 or int(p.max()) >= upper):
        raise ValueError(f"{name} must hold indices in [0, {upper})")
    return p


def check_permutations(value: Tensor, name: str) -> Tensor:
    """Require every row of an integer ``(B, n)`` tensor to be a permutation of ``range(n)``."""
    if checking() and value.numel():
        expected = torch.arange(value.shape[-1], device=value.device)
        if not bool((value.sort(dim=-1).values == expected).all()):
            raise ValueError(f"{name} must hold one permutation of range({value.shape[-1]}) per row")
    return value


def check_generator(generator: object) -> torch.Generator | None:
    """Require ``None`` or a ``torch.Generator``."""
    if checking() and generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator  # type: ignore[return-value]


#: The most augmented copies per example a model or an objective takes: each copy is one more forward pass of
#: the batch (the references use 4 to 31).
MAX_COPIES = 1024


def check_count(value: object, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Require an integer (bool refused) of at least ``minimum`` (and at most ``maximum``): a batch size, a
    number of copies, a size."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return value


def check_copies(value: object, name: str) -> int:
    """Require a number of augmented copies in ``[1, MAX_COPIES]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COPIES:
        raise ValueError(
            f"{name} must be in [1, {MAX_COPIES}] (an integer: each copy is a forward pass), got {value!r}"
        )
    return value


def check_real(value: object, name: str, finite: bool = True) -> float:
    """Require a real number (bool refused), finite unless ``finite=False``; returns it as ``float``."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if finite and not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    return v


def check_unit_interval(value: object, name: str) -> float:
    """Require a finite real number in ``[0, 1]`` (a magnitude or a probability); returns it as ``float``."""
    v = check_real(value, name, finite=False)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return v


def check_positive(value: object, name: str) -> float:
    """Require a finite real number > 0 (a physical scale, a frequency, a sharpness)."""
    v = check_real(value, name, finite=False)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return v


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Require one of a fixed set of strings."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value  # type: ignore[return-value]
