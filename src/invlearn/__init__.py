"""invlearn: learn invariances from training data with differentiable augmentation layers.

A learner is a trunk (:mod:`invlearn.models`) x an augmentation family (:mod:`invlearn.families`, made of the
catalogue's transforms, :mod:`invlearn.augmentations`, over the pure ops of :mod:`invlearn.ops`) x an objective
(:mod:`invlearn.objectives`); :mod:`invlearn.metrics` measures what it learned. Training one run
(:mod:`invlearn.training`), studies of many (:mod:`invlearn.studies`), the data sets (:mod:`invlearn.data`) and
the command line are optional extras on top. Each package imports only those below it.
"""

from invlearn import augmentations, families, metrics, objectives, ops
from invlearn.families import (
    AugmentationLayer,
    AugmentationModule,
    DADAPolicy,
    IndependentCandidates,
    RandAugment,
    SubPolicies,
    TrainingOnly,
    TrivialAugment,
    UniformLieAffine,
)
from invlearn.models import Augerino, AugNet, Independent, InvariantModel

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
    "families",
    "metrics",
    "objectives",
    "ops",
]
