"""LILA's objective (Immer, van der Ouderaa et al., NeurIPS 2022): the Laplace-KFAC marginal likelihood."""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor, nn

from invlearn._validation import check_choice, check_copies, check_count, check_positive
from invlearn.objectives import laplace
from invlearn.objectives.base import Objective, checked_likelihood
from invlearn.objectives.likelihoods import LABELS, Likelihood


class MarginalLikelihood(Objective):
    """LILA's Laplace-KFAC marginal likelihood (see the module and :mod:`~invlearn.objectives.laplace`).

    Args:
        prior_precision: initial ``delta > 0`` of the Gaussian prior ``N(0, 1/delta)`` on the covered weights
            (learned with the augmentation).
        copies: augmented copies ``S`` per example in the hyper-step's forward pass.
        every_n_steps: weight steps between two hyper-steps.
        burn_in_epochs: epochs of weight training before the first hyper-step (LILA: 10 of 1,000).
        lr: Adam's learning rate of the hyper-step (augmentation parameters and ``log delta``).
        labels: ``"sampled"`` (one label per example from the model) or ``"exact"`` (all ``K``; ``K`` backward
            passes) for the output-gradient factor.
        layers: ``"all"`` (KFAC over every Linear and Conv layer) or ``"last"`` (the last layer only: cheaper,
            but on digits rotated over the full circle it did not identify rotation where ``"all"`` did).
        likelihood: the task's likelihood (default: categorical); its own parameters (a regression's noise) are
            learned with the augmentation.
    """

    augmentation_with_weights = False

    def __init__(
        self,
        prior_precision: float = 1.0,
        copies: int = 8,
        every_n_steps: int = 1,
        burn_in_epochs: int = 5,
        lr: float = 0.05,
        labels: str = "sampled",
        layers: str = "all",
        likelihood: Likelihood | None = None,
    ) -> None:
        super().__init__()
        self.likelihood = checked_likelihood(likelihood)
        log_delta = math.log(check_positive(prior_precision, "prior_precision"))
        self.log_prior_precision = nn.Parameter(torch.tensor(log_delta))
        self.copies = check_copies(copies, "copies")
        self.every_n_steps = check_count(every_n_steps, "every_n_steps")
        self.burn_in_epochs = check_count(burn_in_epochs, "burn_in_epochs", minimum=0)
        self.lr = check_positive(lr, "lr")
        self.labels = check_choice(labels, "labels", LABELS)
        self.layers = check_choice(layers, "layers", laplace.SUBSETS)

    @property
    def prior_precision(self) -> Tensor:
        """``delta = exp(log_prior_precision)``, differentiable."""
        return self.log_prior_precision.exp()

    def weights_loss(self, model, output, target, n_data):
        covered = laplace.kfac_layers(model.trunk, self.layers)
        decay = self.prior_precision.detach() / (2 * n_data) * laplace.squared_norm(covered).to(output.device)
        # the likelihood's own parameters (a noise) are not the weight optimiser's: they move in the hyper-step
        return self.likelihood.nll(output, target) + decay

    def hyper_parameters(self, model):
        return [*model.augmentation.parameters(), self.log_prior_precision, *self.likelihood.parameters()]

    def hyper_step_due(self, epoch, step):
        return epoch >= self.burn_in_epochs and step % self.every_n_steps == 0

    def hyper_loss(self, model, x, target, n_data, generator):
        covered = laplace.kfac_layers(model.trunk, self.layers)
        forward = functools.partial(model.predict, x, self.copies, generator)
        output, factors = laplace.kfac_factors(
            model.trunk, forward, self.copies, covered, self.labels, generator, self.likelihood
        )
        fit = self.likelihood.nll(output, target)
        delta = self.prior_precision.to(output.device)
        return -laplace.log_marginal_likelihood(fit, factors, covered, n_data, delta) / n_data

    def hyper_values(self) -> dict[str, float]:
        return {"prior_precision": float(self.prior_precision.detach()), **self.likelihood.hyper_values()}

    def extra_repr(self) -> str:
        return (
            f"copies={self.copies}, every_n_steps={self.every_n_steps}, burn_in_epochs={self.burn_in_epochs}, "
            f"lr={self.lr:g}, labels={self.labels!r}, layers={self.layers!r}"
        )
