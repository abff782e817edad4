"""invlearn: learn invariances from training data with differentiable augmentation layers."""

from invlearn import augmentations, losses, metrics, objectives, ops, policies
from invlearn.augerino import UniformLieAffine
from invlearn.dada import DADAPolicy
from invlearn.independent import IndependentCandidates
from invlearn.layers import AugmentationLayer, AugmentationModule
from invlearn.models import Augerino, AugNet, Independent, InvariantModel
from invlearn.policies import RandAugment, SubPolicies, TrainingOnly, TrivialAugment

__version__ = "0.1.0"

__all__ = [
    "AugNet",
    "Augerino",
    "AugmentationLayer",
    "AugmentationModule",
    "DADAPolicy",
    "Independent",
    "IndependentCandidates",
    "InvariantModel",
    "RandAugment",
    "SubPolicies",
    "TrainingOnly",
    "TrivialAugment",
    "UniformLieAffine",
    "__version__",
    "augmentations",
    "losses",
    "metrics",
    "objectives",
    "ops",
    "policies",
]
