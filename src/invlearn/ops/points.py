"""Differentiable operations on 3-D point sets (molecules, point clouds).

Layout
------
A batch of point sets is one float tensor ``(B, N, 3 + C)``: per point its ``x, y, z`` coordinates, then ``C``
channels of features, the last of which is the *mask* (1 for a real point, 0 for padding, so sets of different
sizes share one tensor). Every op moves the coordinates of real points only and leaves the channels unchanged;
padded points stay at the origin.

Rotations are built from so(3) coefficients ``(B, 3)``, ``omega = (omega_x, omega_y, omega_z)``: the rotation is
``expm(omega_x L_x + omega_y L_y + omega_z L_z)`` with ``L_k`` the generators of rotations about the axes
(:data:`SO3_GENERATORS`), one batched ``torch.linalg.matrix_exp``; its angle is ``|omega|`` rad about the axis
``omega / |omega|``, so ``omega = (0, 0, t)`` rotates by ``t`` about ``z``. Coefficients of any finite size
are taken: an angle beyond pi is first brought into ``[-pi, pi]`` about the same axis (the same rotation), where
the matrix exponential is accurate.

Float16 and bfloat16 point sets are computed in float32 and cast back (:mod:`invlearn.ops.precision`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from invlearn._validation import check_batch_param, check_finite, check_float_tensor, check_points, checking, trusted
from invlearn.ops.precision import in_float32


def _generators() -> Tensor:
    g = torch.zeros(3, 3, 3, dtype=torch.float64)
    g[0, 2, 1], g[0, 1, 2] = 1.0, -1.0  # about x: y -> z
    g[1, 0, 2], g[1, 2, 0] = 1.0, -1.0  # about y: z -> x
    g[2, 1, 0], g[2, 0, 1] = 1.0, -1.0  # about z: x -> y
    return g


#: The generators ``L_x, L_y, L_z`` of so(3), ``(3, 3, 3)`` float64 (antisymmetric).
SO3_GENERATORS = _generators()


@in_float32
def so3_matrix(coefficients: Tensor) -> Tensor:
    """Rotation matrices ``(B, 3, 3)`` ``expm(sum_k omega_k L_k)`` from finite so(3) coefficients ``(B, 3)`` (rad).

    Raises ``ValueError`` for another shape or a non-finite coefficient."""
    check_finite(check_float_tensor(coefficients, "coefficients", ndim=2), "coefficients")
    if checking() and coefficients.shape[1] != 3:
        raise ValueError(f"coefficients must have shape (B, 3), got {tuple(coefficients.shape)}")
    generators = SO3_GENERATORS.to(coefficients.device, coefficients.dtype)
    return torch.linalg.matrix_exp(torch.einsum("bk,kij->bij", _principal(coefficients), generators))


def _principal(coefficients: Tensor) -> Tensor:
    """The same rotations with angles ``|omega|`` in ``[0, pi]`` (full turns about the same axis removed), found in
    float64 from the coefficients scaled by their largest entry (no size overflows the norm) with an exact remainder
    (``angle - 2 pi round(angle / 2 pi)`` loses every digit once the angle is large: 1e30 rad left 1e14)."""
    wide = coefficients.double()
    largest = wide.abs().amax(dim=1, keepdim=True)
    direction = wide / torch.where(largest == 0, torch.ones_like(largest), largest)
    length = torch.linalg.vector_norm(direction, dim=1, keepdim=True)
    safe = torch.where(length == 0, torch.ones_like(length), length)  # no 0 / 0 in an unused branch's gradient
    angle = largest * length
    remainder = torch.fmod(angle, 2 * math.pi)  # exact in floating point, whatever the size of the angle
    reduced = torch.where(remainder > math.pi, remainder - 2 * math.pi, remainder)
    principal = (direction / safe) * reduced
    return torch.where(angle <= math.pi, coefficients, principal.to(coefficients.dtype))


def _moved(points: Tensor, coordinates: Tensor) -> Tensor:
    """``points`` with new ``coordinates`` ``(B, N, 3)`` for the real points; padding stays at the origin."""
    mask = points[..., -1:]
    return torch.cat([coordinates * mask, points[..., 3:]], dim=-1)


@in_float32
def linear(points: Tensor, matrix: Tensor) -> Tensor:
    """Apply ``matrix`` ``(B, 3, 3)`` to every point's coordinates: ``p -> M p`` (a rotation, reflection, zoom)."""
    points = check_points(points, "points")
    check_batch_param(matrix, "matrix", points.shape[0], (3, 3))
    with trusted():
        return _moved(points, points[..., :3] @ matrix.to(points.dtype).transpose(1, 2))


@in_float32
def rotate(points: Tensor, coefficients: Tensor) -> Tensor:
    """Rotate every set about the origin by ``expm(sum_k omega_k L_k)``, so(3) coefficients ``(B, 3)`` (rad)."""
    return linear(points, so3_matrix(coefficients))


@in_float32
def translate(points: Tensor, shift: Tensor) -> Tensor:
    """Shift every set's real points by ``shift`` ``(B, 3)`` (the coordinates' unit)."""
    points = check_points(points, "points")
    check_batch_param(shift, "shift", points.shape[0], (3,))
    with trusted():
        return _moved(points, points[..., :3] + shift.to(points.dtype)[:, None, :])


@in_float32
def scale(points: Tensor, factor: Tensor) -> Tensor:
    """Zoom every set about the origin by ``factor`` ``(B,)`` (> 1 spreads the points). Raises ``ValueError`` for a
    factor that is not finite and > 0."""
    points = check_points(points, "points")
    check_batch_param(factor, "factor", points.shape[0], ())
    if checking() and factor.numel() and not bool((factor > 0).all()):
        raise ValueError("factor must be > 0 (a zoom; reflect mirrors)")
    with trusted():
        return _moved(points, points[..., :3] * factor.to(points.dtype)[:, None, None])


@in_float32
def reflect(points: Tensor, mask: Tensor) -> Tensor:
    """Mirror every set through the ``y-z`` plane (``x -> -x``) where ``mask`` ``(B,)`` is 1, keep it where 0, and
    interpolate in between (``x -> (1 - 2 m) x``, for a relaxed mask)."""
    points = check_points(points, "points")
    check_batch_param(mask, "mask", points.shape[0], ())
    with trusted():
        sign = torch.ones(points.shape[0], 3, dtype=points.dtype, device=points.device)
        sign = torch.cat([(1 - 2 * mask.to(points.dtype))[:, None], sign[:, 1:]], dim=1)
        return _moved(points, points[..., :3] * sign[:, None, :])
