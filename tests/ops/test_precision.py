"""The low-precision policy: every op and augmentation computes float16 and bfloat16 inputs in float32 and
returns the input's dtype, finite and as close to a float64 computation on the same (rounded) input as that
dtype can hold."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import ALL_NAMES, make_augmentation, make_input
from tests.ops.test_domains import IMAGE_OPS, SIGNAL_OPS

LOW = [torch.float16, torch.bfloat16]
#: Ops whose output jumps where an input crosses a threshold: a float32 and a float64 computation of an input on
#: the threshold may land on either side, so their outputs are compared where they agree.
THRESHOLDS = {"solarize", "posterize"}


def _tolerance(dtype: torch.dtype, reference: torch.Tensor) -> float:
    """Two roundings to ``dtype`` at the reference's magnitude."""
    return 2 * torch.finfo(dtype).eps * max(1.0, float(reference.detach().abs().max()))


def _close(low: torch.Tensor, reference: torch.Tensor, dtype: torch.dtype, name: str) -> bool:
    """Whether ``low`` is finite, of ``dtype``, and within :func:`_tolerance` of ``reference``."""
    if low.dtype != dtype or not bool(torch.isfinite(low).all()):
        return False
    error = (low.double() - reference).abs()
    if name in THRESHOLDS:
        error = error[error < 0.5]  # the pixels on a threshold, decided either way
    return float(error.detach().max()) <= _tolerance(dtype, reference)


@pytest.mark.parametrize("dtype", LOW, ids=["float16", "bfloat16"])
@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_augmentation_in_low_precision(name, dtype):
    augmentation = make_augmentation(name, 0.7)
    x = make_input(augmentation.modality, torch.float32, batch=4).to(dtype)
    low = augmentation(x, generator=torch.Generator().manual_seed(0))
    reference = augmentation.double()(x.double(), generator=torch.Generator().manual_seed(0))
    assert _close(low, reference, dtype, name), name


@pytest.mark.parametrize("dtype", LOW, ids=["float16", "bfloat16"])
@pytest.mark.parametrize(
    "name, modality, op",
    [(n, "image", op) for n, op in IMAGE_OPS.items()] + [(n, "signal", op) for n, op in SIGNAL_OPS.items()],
)
def test_every_op_in_low_precision(name, modality, op, dtype):
    x = make_input(modality, torch.float32, batch=4).to(dtype)
    low, reference = op(x), op(x.double())
    if reference.is_complex():  # the analytic signal stays complex64
        assert low.dtype == torch.complex64 and torch.allclose(low.to(reference.dtype), reference, atol=1e-5)
        return
    assert _close(low, reference, dtype, name), name


def test_point_rotations_in_low_precision_stay_rigid():
    from invlearn.ops import points

    x = make_input("points", torch.float32, batch=4).to(torch.bfloat16)
    coefficients = torch.tensor([[0.0, 0.0, 3.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [4.0, 4.0, 4.0]])
    low = points.rotate(x, coefficients.to(torch.bfloat16))
    reference = points.rotate(x.double(), coefficients.to(torch.bfloat16).double())
    assert _close(low, reference, torch.bfloat16, "rotate")
