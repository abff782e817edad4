"""Image augmentations ``(B, C, H, W)``, one class per registry name.

Geometric augmentations (:class:`AffineAugmentation`) also expose
:meth:`~invlearn.augmentations.AffineAugmentation.matrix`, the sampling matrices of a draw, so several of them can share
one warp. Every class is at most two levels below :class:`~invlearn.augmentations.Augmentation`: ``AffineAugmentation``
is a mixin beside :class:`~invlearn.augmentations.MagnitudeAugmentation`, not a level between them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from invlearn import ops
from invlearn._validation import check_choice, check_count, checking, trusted
from invlearn.augmentations.base import (
    MAX_LOG_ZOOM,
    MagnitudeAugmentation,
    Params,
    ProbabilityAugmentation,
    parameter_dtype,
)
from invlearn.augmentations.noise import permutations
from invlearn.augmentations.registry import register


class AffineAugmentation:
    """Mixin of the geometric :class:`~invlearn.augmentations.MagnitudeAugmentation` s: one affine warp per
    example, applied with one ``grid_sample``; its sampling matrix is public (:meth:`matrix`) so several
    candidates can share a warp.

    Args:
        magnitude: initial magnitude in ``[0, 1]``.
        scale: physical scale (default per class).
        mode, padding_mode, align_corners: passed to :func:`invlearn.ops.affine`.

    Subclasses list it before ``MagnitudeAugmentation`` and implement :meth:`matrix_of`.
    """

    modality = "image"

    def __init__(
        self,
        magnitude: float = 0.5,
        scale: float | None = None,
        mode: str = "bilinear",
        padding_mode: str = "zeros",
        align_corners: bool = True,
    ) -> None:
        super().__init__(magnitude, scale)
        self.mode = check_choice(mode, "mode", ops.geometry.INTERPOLATIONS)
        self.padding_mode = check_choice(padding_mode, "padding_mode", ops.geometry.PADDINGS)
        self.align_corners = bool(align_corners)

    def matrix(self, params: Mapping[str, Tensor], height: int, width: int) -> Tensor:
        """Sampling matrices ``(B, 3, 3)`` of a draw (``params`` from
        :meth:`~invlearn.augmentations.RandomTransform.sample`) for images of ``height`` x ``width`` pixels, in
        ``affine_grid``'s normalised convention."""
        if checking():
            self.check_params(params, None, None)
            check_count(height, "height")
            check_count(width, "width")
        with trusted():
            return self.matrix_of(self.value(params), height, width)

    def matrix_of(self, value: Tensor, height: int, width: int) -> Tensor:
        """Hook: sampling matrices ``(B, 3, 3)`` for per-example physical values ``value`` ``(B,)``."""
        raise NotImplementedError

    def apply_values(self, x: Tensor, value: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        theta = self.matrix_of(value.to(parameter_dtype(x)), x.shape[-2], x.shape[-1])
        return ops.affine(x, theta, self.mode, self.padding_mode, self.align_corners)


def _pair(first: Tensor, second: Tensor) -> Tensor:
    return torch.stack([first, second], dim=-1)


@register
class TranslateX(AffineAugmentation, MagnitudeAugmentation):
    """Horizontal translation by a fraction of the width, uniform in ``[-mu s, mu s]`` (default s = 0.45)."""

    name, unit, default_scale = "translate_x", "fraction of width", 0.45

    def matrix_of(self, value, height, width):
        return ops.translation_matrix(_pair(value, torch.zeros_like(value)), height, width, self.align_corners)


@register
class TranslateY(AffineAugmentation, MagnitudeAugmentation):
    """Vertical translation by a fraction of the height, uniform in ``[-mu s, mu s]`` (default s = 0.45)."""

    name, unit, default_scale = "translate_y", "fraction of height", 0.45

    def matrix_of(self, value, height, width):
        return ops.translation_matrix(_pair(torch.zeros_like(value), value), height, width, self.align_corners)


@register
class Rotate(AffineAugmentation, MagnitudeAugmentation):
    """Rotation about the centre by an angle uniform in ``[-mu s, mu s]`` radians (default s = pi / 6)."""

    name, unit, default_scale = "rotate", "rad", math.pi / 6

    def matrix_of(self, value, height, width):
        return ops.rotation_matrix(value, height, width, self.align_corners)


@register
class Scale(AffineAugmentation, MagnitudeAugmentation):
    """Isotropic zoom by ``exp(v)``, ``v`` uniform in ``[-mu s, mu s]`` (default s = ln 2: factors 1/2 to 2; s at most
    ln 1000)."""

    name, unit, default_scale = "scale", "log of the zoom factor", math.log(2.0)
    max_scale = MAX_LOG_ZOOM

    def matrix_of(self, value, height, width):
        return ops.scale_matrix(torch.exp(value), height, width, self.align_corners)


@register
class ShearX(AffineAugmentation, MagnitudeAugmentation):
    """Horizontal shear ``x' = x + v y``, ``v`` uniform in ``[-mu s, mu s]`` (default s = 0.3)."""

    name, unit, default_scale = "shear_x", "shear factor", 0.3

    def matrix_of(self, value, height, width):
        return ops.shear_matrix(_pair(value, torch.zeros_like(value)), height, width, self.align_corners)


@register
class ShearY(AffineAugmentation, MagnitudeAugmentation):
    """Vertical shear ``y' = y + v x``, ``v`` uniform in ``[-mu s, mu s]`` (default s = 0.3)."""

    name, unit, default_scale = "shear_y", "shear factor", 0.3

    def matrix_of(self, value, height, width):
        return ops.shear_matrix(_pair(torch.zeros_like(value), value), height, width, self.align_corners)


#: Unit of the colour ops with factor ``1 + v``, ``v`` uniform in ``[-mu s, mu s]``: default s = 1 (factors 0 to 2),
#: at most 1 (a factor stays >= 0).
FACTOR_UNIT = "relative factor (factor = 1 + value)"


@register
class Brightness(MagnitudeAugmentation):
    """Multiply intensities by ``1 + v`` (see :func:`invlearn.ops.brightness` and :data:`FACTOR_UNIT`)."""

    name, modality, unit, default_scale, max_scale = "brightness", "image", FACTOR_UNIT, 1.0, 1.0

    def apply_values(self, x, value, params):
        return ops.brightness(x, 1.0 + value)


@register
class Contrast(MagnitudeAugmentation):
    """Scale contrast about the mean grey level by ``1 + v`` (see :func:`invlearn.ops.contrast`)."""

    name, modality, unit, default_scale, max_scale = "contrast", "image", FACTOR_UNIT, 1.0, 1.0

    def apply_values(self, x, value, params):
        return ops.contrast(x, 1.0 + value)


@register
class Saturation(MagnitudeAugmentation):
    """Scale saturation by ``1 + v`` (see :func:`invlearn.ops.saturation`)."""

    name, modality, unit, default_scale, max_scale = "saturation", "image", FACTOR_UNIT, 1.0, 1.0

    def apply_values(self, x, value, params):
        return ops.saturation(x, 1.0 + value)


@register
class Sharpness(MagnitudeAugmentation):
    """Sharpen (``v > 0``) or smooth (``v < 0``) with factor ``1 + v`` (see :func:`invlearn.ops.sharpness`)."""

    name, modality, unit, default_scale, max_scale = "sharpness", "image", FACTOR_UNIT, 1.0, 1.0

    def apply_values(self, x, value, params):
        return ops.sharpness(x, 1.0 + value)


@register
class Hue(MagnitudeAugmentation):
    """Hue rotation by ``v`` turns, uniform in ``[-mu s, mu s]`` (default s = 0.5: the whole wheel)."""

    name, modality, unit, default_scale = "hue", "image", "turns of the colour wheel", 0.5

    def apply_values(self, x, value, params):
        return ops.hue(x, value)


@register
class SamplePairing(MagnitudeAugmentation):
    """Mix with another image of the batch, weight uniform in ``[0, mu s]`` (default s = 0.5)."""

    name, modality, unit, default_scale, symmetric = "sample_pairing", "image", "mixing weight", 0.5, False
    max_scale = 1.0  # a mixing weight stays in [0, 1]
    batch_index_keys = permutation_keys = ("partner",)

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        params = super().generate_parameters(batch_size, generator, device, shape)
        params["partner"] = permutations(1, batch_size, generator, device)[0]
        return params

    def apply_values(self, x, value, params):
        return ops.sample_pairing(x, value, params["partner"])


@register
class Solarize(MagnitudeAugmentation):
    """Invert pixels above ``1 - v``, ``v`` uniform in ``[0, mu s]`` (default s = 1). Not differentiable:
    exact forward, surrogate gradient (``straight_through=False`` returns the surrogate itself, which is what
    the gradient checks test)."""

    name, modality, unit, default_scale = "solarize", "image", "threshold decrease (threshold = 1 - value)", 1.0
    symmetric = False

    def __init__(self, magnitude: float = 0.5, scale: float | None = None, straight_through: bool = True) -> None:
        super().__init__(magnitude, scale)
        self.straight_through = bool(straight_through)

    def apply_values(self, x, value, params):
        return ops.solarize(x, 1.0 - value, hard=self.straight_through)


@register
class Posterize(MagnitudeAugmentation):
    """Keep ``8 - v`` bits, ``v`` uniform in ``[0, mu s]`` (default s = 4: down to 4 bits; at most 8). Not
    differentiable: straight-through as :class:`Solarize`."""

    name, modality, unit, default_scale, max_scale = "posterize", "image", "bits removed (of 8)", 4.0, 8.0
    symmetric = False

    def __init__(self, magnitude: float = 0.5, scale: float | None = None, straight_through: bool = True) -> None:
        super().__init__(magnitude, scale)
        self.straight_through = bool(straight_through)

    def apply_values(self, x, value, params):
        return ops.posterize(x, 8.0 - value, hard=self.straight_through)


@register
class HFlip(ProbabilityAugmentation):
    """Left-right mirror with a learnable probability."""

    name, modality, op = "hflip", "image", staticmethod(ops.hflip)


@register
class VFlip(ProbabilityAugmentation):
    """Top-bottom mirror with a learnable probability."""

    name, modality, op = "vflip", "image", staticmethod(ops.vflip)


@register
class Invert(ProbabilityAugmentation):
    """Colour inversion ``1 - x`` with a learnable probability."""

    name, modality, op = "invert", "image", staticmethod(ops.invert)


@register
class Grayscale(ProbabilityAugmentation):
    """Conversion to grey (3 channels kept) with a learnable probability."""

    name, modality, op = "grayscale", "image", staticmethod(ops.grayscale)
