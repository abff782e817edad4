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
from invlearn.augmentations.noise import uniform
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
