"""Augmentation families: how a learner's augmentation is made of the catalogue's transforms
(:mod:`invlearn.augmentations`), and which of its parameters are learned.

* :mod:`~invlearn.families.augnet`: AugNet's layers (Rommel et al., NeurIPS 2022), softmax-weighted candidates
  with learnable magnitudes, stacked into a module.
* :mod:`~invlearn.families.augerino`: Augerino's uniform distribution over the 6-generator affine Lie algebra
  with learnable widths (Benton et al., NeurIPS 2020).
* :mod:`~invlearn.families.independent`: independent candidates, each with its own learnable range, composed.
* :mod:`~invlearn.families.policies`: fixed policies (RandAugment, TrivialAugment, AutoAugment-form
  sub-policies), applied to training batches only.
* :mod:`~invlearn.families.dada`: DADA's relaxed policy over pairs of ops (Li et al., ECCV 2020), searched.
* :mod:`~invlearn.families.composite`: what they share (numbered parts and their parameters).

A family is trained by an objective (:mod:`invlearn.objectives`) around a trunk (:mod:`invlearn.models`).
Layering: families import ops and augmentations, never models, objectives, training or studies.
"""

from invlearn.families import augerino, augnet, composite, dada, independent, policies
from invlearn.families.augerino import UniformLieAffine
from invlearn.families.augnet import AugmentationLayer, AugmentationModule
from invlearn.families.dada import DADAPolicy
from invlearn.families.independent import IndependentCandidates
from invlearn.families.policies import RandAugment, SubPolicies, TrainingOnly, TrivialAugment

__all__ = [
    "AugmentationLayer",
    "AugmentationModule",
    "DADAPolicy",
    "IndependentCandidates",
    "RandAugment",
    "SubPolicies",
    "TrainingOnly",
    "TrivialAugment",
    "UniformLieAffine",
    "augerino",
    "augnet",
    "composite",
    "dada",
    "independent",
    "policies",
]
