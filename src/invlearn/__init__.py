"""invlearn: learn invariances from training data with differentiable augmentation layers."""

from invlearn import augmentations, losses, metrics, objectives, ops
from invlearn.augerino import UniformLieAffine
from invlearn.independent import IndependentCandidates
from invlearn.layers import AugmentationLayer, AugmentationModule
from invlearn.models import Augerino, AugNet, Independent, InvariantModel

__version__ = "0.1.0"

__all__ = [
    "AugNet",
    "Augerino",
    "AugmentationLayer",
    "AugmentationModule",
    "Independent",
    "IndependentCandidates",
    "InvariantModel",
    "UniformLieAffine",
    "__version__",
    "augmentations",
    "losses",
    "metrics",
    "objectives",
    "ops",
]
