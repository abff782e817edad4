"""The low-precision policy shared by every op: float16 and bfloat16 inputs are computed in float32 and the
result is cast back to the input's dtype.

Half precision cannot carry these computations: 11 (float16) or 8 (bfloat16) significant bits put a sample time
of 200 at a spacing of 1 (a time shift then moves by whole samples), make ``matrix_exp`` of an so(3) generator
return NaN, and have no FFT kernel on a CPU. Rounding the inputs to the low dtype stays the caller's choice; what
an op adds to it is one float32 computation and one rounding of its result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor

#: The dtypes computed in float32.
LOW_PRECISION = (torch.float16, torch.bfloat16)

Op = TypeVar("Op", bound=Callable[..., Tensor])


def _widened(value: object) -> object:
    return value.float() if isinstance(value, Tensor) and value.dtype in LOW_PRECISION else value


def in_float32(op: Op) -> Op:
    """Decorate ``op`` so that a float16 or bfloat16 first argument (and every other low-precision tensor
    argument) is computed in float32, a real result cast back to the first argument's dtype (a complex one stays
    complex64). Any other input goes to ``op`` unchanged, checks included."""

    @functools.wraps(op)
    def computed(x, *args, **kwargs):
        if not isinstance(x, Tensor) or x.dtype not in LOW_PRECISION:
            return op(x, *args, **kwargs)
        result = op(x.float(), *map(_widened, args), **{key: _widened(value) for key, value in kwargs.items()})
        return result.to(x.dtype) if result.is_floating_point() else result

    return computed  # type: ignore[return-value]
