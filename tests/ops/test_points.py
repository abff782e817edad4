"""3-D point-set ops: rotations from so(3) coefficients, shifts, zooms and reflections of the real points only,
with float64 gradient checks and refusals of malformed input."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

from invlearn.ops import points

DOUBLE = {"dtype": torch.float64}


def _sets(batch: int = 3, n: int = 4) -> torch.Tensor:
    x = torch.cat([torch.randn(batch, n, 5, **DOUBLE), torch.ones(batch, n, 1, **DOUBLE)], dim=-1)
    x[0, -1] = 0.0  # a padded point
    return x


def test_so3_coefficients_give_rotations_about_their_axis():
    omega = torch.tensor([[0.0, 0.0, math.pi / 2], [0.3, -0.5, 0.2]], **DOUBLE)
    matrix = points.so3_matrix(omega)
    assert torch.allclose(matrix[0], torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]], **DOUBLE), atol=1e-12)
    assert torch.allclose(matrix @ matrix.transpose(1, 2), torch.eye(3, **DOUBLE).expand(2, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(matrix), torch.ones(2, **DOUBLE))
    axis = omega[1] / omega[1].norm()
    assert torch.allclose(matrix[1] @ axis, axis)  # the axis is fixed
    angle = torch.arccos((matrix[1].trace() - 1) / 2)
    assert torch.allclose(angle, omega[1].norm())


def test_angles_of_any_size_give_the_rotation_of_their_remainder():
    axis = torch.tensor([[1.0, -2.0, 0.5]], **DOUBLE) / math.sqrt(5.25)
    for turns in (1, 3, 1e6):
        for angle in (0.3, 2.5):
            wide, narrow = points.so3_matrix((angle + 2 * math.pi * turns) * axis), points.so3_matrix(angle * axis)
            assert torch.allclose(wide, narrow, atol=1e-8 * max(1.0, turns)), (turns, angle)
    x = _sets()
    coefficients = torch.tensor([[4.0, 0.0, 0.0], [3.0, 3.0, -2.0], [0.0, 0.0, 10.0]], **DOUBLE)
    assert gradcheck(points.rotate, (x, coefficients.requires_grad_(True)))  # past pi, where full turns go


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("size", [1e7, 1e20, 1e30, 3e38])
def test_huge_coefficients_give_exact_rotations_and_finite_gradients(dtype, size):
    omega = torch.tensor([[0.6 * size, 0.0, -0.8 * size]], dtype=dtype, requires_grad=True)
    matrix = points.so3_matrix(omega)
    matrix.sum().backward()
    assert torch.isfinite(matrix).all() and torch.isfinite(omega.grad).all()
    wide = matrix.detach().double()
    tolerance = 1e-6 if dtype == torch.float32 else 1e-12
    assert torch.allclose(wide @ wide.transpose(1, 2), torch.eye(3, **DOUBLE)[None], atol=tolerance)
    assert float(torch.linalg.det(wide)) == pytest.approx(1.0, abs=tolerance)
    exact = points.so3_matrix(omega.detach().double())  # the same coefficients, reduced in float64 throughout
    assert torch.allclose(wide, exact, atol=tolerance)


def test_ops_move_the_coordinates_of_real_points_only():
    x = _sets()
    for moved in (
        points.rotate(x, torch.randn(3, 3, **DOUBLE)),
        points.translate(x, torch.randn(3, 3, **DOUBLE)),
        points.scale(x, torch.rand(3, **DOUBLE) + 0.5),
        points.reflect(x, torch.ones(3, **DOUBLE)),
    ):
        assert torch.equal(moved[..., 3:], x[..., 3:])  # features and mask kept
        assert torch.equal(moved[0, -1], torch.zeros(6, **DOUBLE))  # padding stays at the origin
        assert not torch.allclose(moved[..., :3], x[..., :3])
    distances = torch.cdist(x[1:, :, :3], x[1:, :, :3])
    rotated = points.rotate(x, torch.randn(3, 3, **DOUBLE))
    assert torch.allclose(torch.cdist(rotated[1:, :, :3], rotated[1:, :, :3]), distances)  # rigid
    assert torch.allclose(points.reflect(x, torch.ones(3, **DOUBLE))[1:, :, 0], -x[1:, :, 0])


@pytest.mark.parametrize(
    "op, parameter",
    [
        (points.rotate, lambda: 0.7 * torch.randn(3, 3, **DOUBLE)),
        (points.translate, lambda: torch.randn(3, 3, **DOUBLE)),
        (points.scale, lambda: torch.rand(3, **DOUBLE) + 0.5),
        (points.reflect, lambda: torch.rand(3, **DOUBLE)),
        (points.linear, lambda: torch.randn(3, 3, 3, **DOUBLE)),
    ],
)
def test_gradients_wrt_points_and_parameters(op, parameter):
    x = _sets().requires_grad_(True)
    assert gradcheck(op, (x, parameter().requires_grad_(True)))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: points.rotate(torch.zeros(2, 4, 3), torch.zeros(2, 3)), r"\(B, N, 3 \+ C\)"),
        (lambda: points.rotate(torch.zeros(2, 4), torch.zeros(2, 3)), "3 dimensions"),
        (lambda: points.translate(torch.full((2, 4, 4), math.nan), torch.zeros(2, 3)), "finite"),
        (lambda: points.translate(torch.zeros(2, 4, 4), torch.zeros(3, 3)), r"shape \(2, 3\)"),
        (lambda: points.so3_matrix(torch.zeros(2, 4)), r"shape \(B, 3\)"),
        (lambda: points.scale(torch.zeros(2, 4, 4, dtype=torch.long), torch.ones(2)), "floating-point"),
        (lambda: points.so3_matrix(torch.tensor([[math.nan, 0.0, 0.0]])), "NaN or infinite"),
        (lambda: points.rotate(torch.zeros(1, 4, 4), torch.tensor([[0.0, math.inf, 0.0]])), "NaN or infinite"),
        (lambda: points.scale(torch.zeros(2, 4, 4), torch.tensor([1.0, 0.0])), "factor must be > 0"),
        (lambda: points.scale(torch.zeros(2, 4, 4), torch.tensor([-1.0, 1.0])), "factor must be > 0"),
    ],
)
def test_malformed_input_is_refused(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
