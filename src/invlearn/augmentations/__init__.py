"""Augmentation modules: learnable-strength shells over :mod:`invlearn.ops`, and their registry.

One module per modality (``image``, ``signal``, ``points``), their base classes (``base``), the noise samplers
(``noise``) and the ``registry``. The families (:mod:`invlearn.families`) are made of them. Layering: they
import the ops only.

>>> from invlearn import augmentations
>>> rotate = augmentations.create("rotate", magnitude=0.25)   # angles uniform in +-0.25 * pi/6 rad
>>> augmentations.available("signal")[:3]
['amplitude_scale', 'channel_dropout', 'channel_shuffle']
"""

from invlearn.augmentations import image, noise, points, signal  # noqa: F401  (registers the classes)
from invlearn.augmentations.base import (
    Augmentation,
    Identity,
    MagnitudeAugmentation,
    Params,
    ProbabilityAugmentation,
    RandomTransform,
)
from invlearn.augmentations.image import AffineAugmentation
from invlearn.augmentations.registry import available, create, get, register

__all__ = [
    "AffineAugmentation",
    "Augmentation",
    "Identity",
    "MagnitudeAugmentation",
    "Params",
    "ProbabilityAugmentation",
    "RandomTransform",
    "available",
    "create",
    "get",
    "noise",
    "register",
]
