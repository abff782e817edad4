"""Functional core: pure, batched, differentiable operations with explicit per-example parameters.

No randomness and no modules live here; :mod:`invlearn.augmentations` samples the parameters.
Images are ``(B, C, H, W)`` floats, signals ``(B, channels, times)`` floats, point sets ``(B, N, 3 + C)``.
Modules: ``geometry`` (affine warps), ``color``, ``signal``, ``points`` and ``relax`` (relaxed masks).

Layering: the bottom layer; ops import nothing of invlearn but its argument checks.
"""

from invlearn.ops.color import (
    brightness,
    contrast,
    grayscale,
    hue,
    invert,
    luminance,
    posterize,
    sample_pairing,
    saturation,
    sharpness,
    solarize,
)
from invlearn.ops.geometry import (
    AFFINE_GENERATORS,
    GENERATOR_NAMES,
    affine,
    affine_stack,
    hflip,
    lie_affine_matrix,
    rotate,
    rotation_matrix,
    scale,
    scale_matrix,
    shear,
    shear_matrix,
    translate,
    translation_matrix,
    vflip,
)
from invlearn.ops.relax import bernoulli_mask, straight_through
from invlearn.ops.signal import (
    amplitude_scale,
    analytic_signal,
    channel_dropout,
    channel_shuffle,
    frequency_shift,
    ft_surrogate,
    gaussian_noise,
    sign_flip,
    time_mask,
    time_reverse,
    time_shift,
)

__all__ = [
    "AFFINE_GENERATORS",
    "GENERATOR_NAMES",
    "affine",
    "affine_stack",
    "amplitude_scale",
    "analytic_signal",
    "bernoulli_mask",
    "brightness",
    "channel_dropout",
    "channel_shuffle",
    "contrast",
    "frequency_shift",
    "ft_surrogate",
    "gaussian_noise",
    "grayscale",
    "hflip",
    "hue",
    "invert",
    "lie_affine_matrix",
    "luminance",
    "posterize",
    "rotate",
    "rotation_matrix",
    "sample_pairing",
    "saturation",
    "scale",
    "scale_matrix",
    "sharpness",
    "shear",
    "shear_matrix",
    "sign_flip",
    "solarize",
    "straight_through",
    "time_mask",
    "time_reverse",
    "time_shift",
    "translate",
    "translation_matrix",
    "vflip",
]
