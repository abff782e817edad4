"""What a learner's augmentation is trained on: the objectives, a registry apart from the augmentation families.

A learner is a trunk, an augmentation family (AugNet's layers, Augerino's Lie-algebra box, independent
candidates) and an :class:`Objective`:

* :class:`RewardPenalty` (``"reward"``, :mod:`~invlearn.objectives.reward`): the published objective of AugNet
  (Rommel et al., NeurIPS 2022) and Augerino (Benton et al., NeurIPS 2020), ``task loss - lam * model.penalty()``
  (:func:`regularized_loss`), minimised over the weights and the augmentation together by one optimiser.
* :class:`Unrolled` (``"unrolled"``, :mod:`~invlearn.objectives.unrolled`): DADA's bilevel objective (Li et al.,
  ECCV 2020): the weights train on the task loss of augmented data; the augmentation, apart, on the clean loss of
  held-out data after one unrolled gradient step of the weights.
* :class:`MarginalLikelihood` (``"marglik"``, :mod:`~invlearn.objectives.marglik`): LILA's objective (Immer, van
  der Ouderaa et al., NeurIPS 2022). The weights train on the maximum-a-posteriori loss, ``task loss + delta / (2
  N) ||theta||^2`` (the prior as weight decay); the augmentation and the prior precision ``delta`` are updated
  apart, by their own optimiser, on ``-log p(D | eta) / N``
  (:func:`invlearn.objectives.laplace.log_marginal_likelihood`, the KFAC code), every ``every_n_steps`` weight
  steps once ``burn_in_epochs`` are done.
* :class:`HeldOut` (``"heldout"``, :mod:`~invlearn.objectives.heldout`): the likelihood of held-out data. A part of
  the training set is kept from the weights; the augmentation is updated apart on the negative log-likelihood of
  the copy-averaged prediction on it, minus the Occam term ``spread * extent`` (how much the held-out score moves
  between hyper-steps times the augmentation's width; or the one-standard-error rule,
  :mod:`~invlearn.objectives.tolerance`), so that among ranges the held-out data cannot tell apart the widest
  wins. Its hyper-gradient can add the weights' response to the ranges (one unrolled step, or implicit
  differentiation: :mod:`~invlearn.objectives.implicit`). It stays informative where the trunk fits its training
  set perfectly and the Laplace evidence goes flat.

Each reads the task's outputs through a :class:`Likelihood` (:mod:`~invlearn.objectives.likelihoods`: categorical
for classification and segmentation, Gaussian for regression). The base class is in
:mod:`~invlearn.objectives.base`, that of the bilevel objectives (the weights on one part of the training set, the
augmentation on the held-out rest), :class:`BilevelObjective`, in :mod:`~invlearn.objectives.bilevel`, and the
registry :data:`~invlearn.objectives.registry.OBJECTIVES` in :mod:`~invlearn.objectives.registry`. A hyper-step's
inputs are one :class:`HyperStep` (:mod:`~invlearn.objectives.context`: the batch, the model, the weights' optimizer,
whose step :func:`virtual_step` takes differentiably). The trainer asks an objective for its weight loss, its
hyper-step's gradients and its schedule; it never branches on which one it has.

A new objective is one file (a subclass of :class:`Objective` whose documented, annotated constructor arguments are
its config section) and one line in :data:`~invlearn.objectives.registry.OBJECTIVES`.

Layering: objectives import ops, augmentations, families and models, never training, studies or the CLI.
"""

from invlearn.objectives import laplace, likelihoods
from invlearn.objectives.base import Objective
from invlearn.objectives.bilevel import BilevelObjective
from invlearn.objectives.context import HyperStep, virtual_step
from invlearn.objectives.heldout import HeldOut
from invlearn.objectives.likelihoods import Categorical, Gaussian, Likelihood
from invlearn.objectives.marglik import MarginalLikelihood
from invlearn.objectives.registry import OBJECTIVES
from invlearn.objectives.reward import RewardPenalty, regularized_loss
from invlearn.objectives.unrolled import Unrolled

__all__ = [
    "OBJECTIVES",
    "BilevelObjective",
    "Categorical",
    "Gaussian",
    "HeldOut",
    "HyperStep",
    "Likelihood",
    "MarginalLikelihood",
    "Objective",
    "RewardPenalty",
    "Unrolled",
    "laplace",
    "likelihoods",
    "regularized_loss",
    "virtual_step",
]
