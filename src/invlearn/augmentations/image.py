"""Image augmentations ``(B, C, H, W)``, one class per registry name.

Geometric augmentations (:class:`AffineAugmentation`) also expose :meth:`~AffineAugmentation.matrix`, the
sampling matrices of a draw, so several of them can share one warp.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import ClassVar

import torch
from torch import Tensor

from invlearn import ops
from invlearn._validation import check_choice
from invlearn.augmentations.base import MagnitudeAugmentation, Params, ProbabilityAugmentation, permutations
from invlearn.augmentations.registry import register


class AffineAugmentation(MagnitudeAugmentation):
    """A geometric augmentation applied with one ``grid_sample``.

    Args:
        magnitude: initial magnitude in ``[0, 1]``.
        scale: physical scale (default per class).
        mode, padding_mode, align_corners: passed to :func:`invlearn.ops.affine`.
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
        """Sampling matrices ``(B, 3, 3)`` of a draw, in ``affine_grid``'s normalised convention."""
        return self._matrix(self.value(params), height, width)

    def _matrix(self, value: Tensor, height: int, width: int) -> Tensor:
        raise NotImplementedError

    def _augment(self, x: Tensor, value: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        theta = self._matrix(value.to(x.dtype), x.shape[-2], x.shape[-1])
        return ops.affine(x, theta, self.mode, self.padding_mode, self.align_corners)


def _pair(first: Tensor, second: Tensor) -> Tensor:
    return torch.stack([first, second], dim=-1)


@register
class TranslateX(AffineAugmentation):
    """Horizontal translation by a fraction of the width, uniform in ``[-mu s, mu s]`` (default s = 0.45)."""

    name, unit, default_scale = "translate_x", "fraction of width", 0.45

    def _matrix(self, value, height, width):
        return ops.translation_matrix(_pair(value, torch.zeros_like(value)), height, width, self.align_corners)


@register
class TranslateY(AffineAugmentation):
    """Vertical translation by a fraction of the height, uniform in ``[-mu s, mu s]`` (default s = 0.45)."""

    name, unit, default_scale = "translate_y", "fraction of height", 0.45

    def _matrix(self, value, height, width):
        return ops.translation_matrix(_pair(torch.zeros_like(value), value), height, width, self.align_corners)


@register
class Rotate(AffineAugmentation):
    """Rotation about the centre by an angle uniform in ``[-mu s, mu s]`` radians (default s = pi / 6)."""

    name, unit, default_scale = "rotate", "rad", math.pi / 6

    def _matrix(self, value, height, width):
        return ops.rotation_matrix(value, height, width, self.align_corners)


@register
class Scale(AffineAugmentation):
    """Isotropic zoom by ``exp(v)``, ``v`` uniform in ``[-mu s, mu s]`` (default s = ln 2: factors 1/2 to 2)."""

    name, unit, default_scale = "scale", "log of the zoom factor", math.log(2.0)

    def _matrix(self, value, height, width):
        return ops.scale_matrix(torch.exp(value), height, width, self.align_corners)


@register
class ShearX(AffineAugmentation):
    """Horizontal shear ``x' = x + v y``, ``v`` uniform in ``[-mu s, mu s]`` (default s = 0.3)."""

    name, unit, default_scale = "shear_x", "shear factor", 0.3

    def _matrix(self, value, height, width):
        return ops.shear_matrix(_pair(value, torch.zeros_like(value)), height, width, self.align_corners)


@register
class ShearY(AffineAugmentation):
    """Vertical shear ``y' = y + v x``, ``v`` uniform in ``[-mu s, mu s]`` (default s = 0.3)."""

    name, unit, default_scale = "shear_y", "shear factor", 0.3

    def _matrix(self, value, height, width):
        return ops.shear_matrix(_pair(torch.zeros_like(value), value), height, width, self.align_corners)


class _RelativeFactor(MagnitudeAugmentation):
    """Colour op with factor ``1 + v``, ``v`` uniform in ``[-mu s, mu s]`` (default s = 1: factors 0 to 2)."""

    modality, unit, default_scale = "image", "relative factor (factor = 1 + value)", 1.0
    op: ClassVar[Callable[[Tensor, Tensor], Tensor]]

    def _augment(self, x, value, params):
        return type(self).op(x, 1.0 + value)


@register
class Brightness(_RelativeFactor):
    """Multiply intensities by ``1 + v`` (see :func:`invlearn.ops.brightness`)."""

    name, op = "brightness", staticmethod(ops.brightness)


@register
class Contrast(_RelativeFactor):
    """Scale contrast about the mean grey level by ``1 + v`` (see :func:`invlearn.ops.contrast`)."""

    name, op = "contrast", staticmethod(ops.contrast)


@register
class Saturation(_RelativeFactor):
    """Scale saturation by ``1 + v`` (see :func:`invlearn.ops.saturation`)."""

    name, op = "saturation", staticmethod(ops.saturation)


@register
class Sharpness(_RelativeFactor):
    """Sharpen (``v > 0``) or smooth (``v < 0``) with factor ``1 + v`` (see :func:`invlearn.ops.sharpness`)."""

    name, op = "sharpness", staticmethod(ops.sharpness)


@register
class Hue(MagnitudeAugmentation):
    """Hue rotation by ``v`` turns, uniform in ``[-mu s, mu s]`` (default s = 0.5: the whole wheel)."""

    name, modality, unit, default_scale = "hue", "image", "turns of the colour wheel", 0.5

    def _augment(self, x, value, params):
        return ops.hue(x, value)


@register
class SamplePairing(MagnitudeAugmentation):
    """Mix with another image of the batch, weight uniform in ``[0, mu s]`` (default s = 0.5)."""

    name, modality, unit, default_scale, symmetric = "sample_pairing", "image", "mixing weight", 0.5, False
    batch_index_keys = ("partner",)

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        params = super().sample(batch_size, generator, device)
        params["partner"] = permutations(1, batch_size, generator, device)[0]
        return params

    def _augment(self, x, value, params):
        return ops.sample_pairing(x, value, self._batch_noise(x, params, "partner"))


class _StraightThrough(MagnitudeAugmentation):
    """Non-differentiable op: exact forward, surrogate gradient (``straight_through=False`` returns the
    surrogate itself, which is what the gradient checks test)."""

    modality, symmetric = "image", False

    def __init__(self, magnitude: float = 0.5, scale: float | None = None, straight_through: bool = True) -> None:
        super().__init__(magnitude, scale)
        self.straight_through = bool(straight_through)


@register
class Solarize(_StraightThrough):
    """Invert pixels above ``1 - v``, ``v`` uniform in ``[0, mu s]`` (default s = 1)."""

    name, unit, default_scale = "solarize", "threshold decrease (threshold = 1 - value)", 1.0

    def _augment(self, x, value, params):
        return ops.solarize(x, 1.0 - value, hard=self.straight_through)


@register
class Posterize(_StraightThrough):
    """Keep ``8 - v`` bits, ``v`` uniform in ``[0, mu s]`` (default s = 4: down to 4 bits)."""

    name, unit, default_scale = "posterize", "bits removed (of 8)", 4.0

    def _augment(self, x, value, params):
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
