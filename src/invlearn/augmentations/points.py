"""Point-set augmentations ``(B, N, 3 + C)`` (molecules, point clouds), one class per registry name; the ops are
:mod:`invlearn.ops.points` (coordinates moved, channels and padding kept)."""

from __future__ import annotations

import math

import torch

from invlearn.augmentations.base import (
    MAX_LOG_ZOOM,
    MagnitudeAugmentation,
    Params,
    ProbabilityAugmentation,
    parameter_dtype,
)
from invlearn.augmentations.noise import normal, uniform
from invlearn.augmentations.registry import register
from invlearn.ops import points


def _rotation_about(axis: int) -> type[MagnitudeAugmentation]:
    """The registered rotation about axis ``axis`` (0, 1, 2: x, y, z): an angle uniform in ``[-mu s, mu s]`` rad
    (default s = pi, the full circle at ``mu = 1``), an so(3) coefficient on that axis's generator."""
    letter = "xyz"[axis]

    def apply_values(self, x, value, params):
        direction = torch.eye(3, dtype=parameter_dtype(x), device=x.device)[axis]
        return points.rotate(x, value.to(direction.dtype)[:, None] * direction)

    attributes = {
        "__doc__": f"Rotation about the {letter} axis by an angle uniform in ``[-mu s, mu s]`` rad (default s = pi, "
        "the full circle at ``mu = 1``), an so(3) coefficient on that axis's generator (``expm``: "
        ":func:`invlearn.ops.points.so3_matrix`).",
        "__module__": __name__,
        "name": f"rotate_about_{letter}",
        "modality": "points",
        "unit": "rad",
        "default_scale": math.pi,
        "apply_values": apply_values,
    }
    return register(type(f"RotateAbout{letter.upper()}", (MagnitudeAugmentation,), attributes))


RotateAboutX, RotateAboutY, RotateAboutZ = (_rotation_about(axis) for axis in range(3))


@register
class RotateSO3(MagnitudeAugmentation):
    """Rotation about an axis uniform on the sphere by an angle in ``[0, mu s]`` rad (default s = pi): the axis
    and angle of a Haar-random rotation, the angle scaled by ``mu s / pi``, as so(3) coefficients (``expm``:
    :func:`invlearn.ops.points.so3_matrix`). One candidate for all of SO(3): at ``mu s = pi`` the rotation is
    Haar-distributed (uniform over SO(3)), below it every rotation within angle ``mu s`` of the identity can be
    drawn. (A ball of so(3) coefficients drawn uniformly would not reach the Haar distribution: its angles pile
    up at pi.) The three ``rotate_about_*`` axes, composed, are the alternative."""

    name, modality, unit, default_scale, max_scale = "rotate_so3", "points", "rad (angle)", math.pi, math.pi
    symmetric = False

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        quaternion = normal((batch_size, 4), generator, device)
        quaternion = quaternion * torch.where(quaternion[:, :1] < 0, -1.0, 1.0)  # q and -q: the same rotation
        vector = quaternion[:, 1:]
        length = torch.linalg.vector_norm(vector, dim=1, keepdim=True)
        angle = 2 * torch.atan2(length[:, 0], quaternion[:, 0])  # in [0, pi], Haar-distributed
        axis = torch.where(length > 0, vector / length.clamp_min(1e-12), torch.tensor([0.0, 0.0, 1.0], device=device))
        return {"u": angle / math.pi, "axis": axis}

    def apply_values(self, x, value, params):
        dtype = parameter_dtype(x)
        return points.rotate(x, value.to(dtype)[:, None] * params["axis"].to(dtype))


@register
class Translate3D(MagnitudeAugmentation):
    """Shift by a vector whose three components are each uniform in ``[-mu s, mu s]`` (default s = 1, in the
    coordinates' unit: angstrom for molecules)."""

    name, modality, unit, default_scale = "translate_3d", "points", "coordinate unit", 1.0

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        return {"u": uniform((batch_size, 3), generator, device, -1.0, 1.0)}

    def apply_values(self, x, value, params):
        return points.translate(x, value)


@register
class Scale3D(MagnitudeAugmentation):
    """Isotropic zoom about the origin by ``exp(v)``, ``v`` uniform in ``[-mu s, mu s]`` (default s = ln 2, at most
    ln 1000)."""

    name, modality, unit, default_scale = "scale_3d", "points", "log of the zoom factor", math.log(2.0)
    max_scale = MAX_LOG_ZOOM

    def apply_values(self, x, value, params):
        return points.scale(x, torch.exp(value))


@register
class Reflect(ProbabilityAugmentation):
    """Mirror image (``x -> -x``), applied with a learnable probability."""

    name, modality = "reflect", "points"
    op = staticmethod(points.reflect)
