"""invlearn: learn invariances from training data with differentiable augmentation layers."""

from invlearn import augmentations, ops

__version__ = "0.1.0"

__all__ = ["__version__", "augmentations", "ops"]
