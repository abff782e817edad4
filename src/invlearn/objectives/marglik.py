"""LILA's objective (Immer, van der Ouderaa et al., NeurIPS 2022): the Laplace-KFAC marginal likelihood."""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor, nn

from invlearn._validation import check_choice, check_copies, check_count, check_positive
from invlearn.objectives import laplace
from invlearn.objectives.base import Objective, checked_likelihood
from invlearn.objectives.likelihoods import LABELS, Likelihood, at_each_noise, n_noises


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
    multi_device = False
    weight_decay_is_prior = True

    @classmethod
    def task_problem(cls, settings, task):
        if settings["labels"] == "exact" and task == "segmentation":
            return "labels", "exact needs one class per example; a segmentation uses sampled"
        return None

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

    def hyper_loss(self, step):
        model, x, target, n_data, generator = step.model, step.x, step.target, step.n_data, step.generator
        covered = laplace.kfac_layers(model.trunk, self.layers)
        forward = functools.partial(model.predict, x, self.copies, generator)
        output, factors = laplace.kfac_factors(
            model.trunk, forward, self.copies, covered, self.labels, generator, self.likelihood
        )
        fit = self.likelihood.nll(output, target)
        delta = self.prior_precision.to(output.device)
        return -laplace.log_marginal_likelihood(fit, factors, covered, n_data, delta) / n_data

    def evidence(self, model, fitted, held, n_data, batch, copies, generator):
        """``max log p(D | eta, delta[, sigma]) / N`` on the ``fitted`` examples (``D``, of ``N = n_data``): KFAC
        factors with the exact output-gradient factor (one sampled label per pixel for an equivariant model), in
        batches of ``batch`` (each standing for the whole set, as in a hyper-step), averaged, at the best prior
        precision of :data:`~invlearn.objectives.laplace.PRIOR_GRID` and, for a Gaussian likelihood, the best noise
        of :data:`~invlearn.objectives.likelihoods.NOISE_GRID`."""
        covered = laplace.kfac_layers(model.trunk, self.layers)
        likelihood = type(self.likelihood)().double()
        labels = "sampled" if model.equivariant else "exact"
        (x, y), priors = fitted, laplace.PRIOR_GRID
        totals = torch.zeros(n_noises(likelihood), len(priors), dtype=torch.float64)
        n_batches = 0
        for start in range(0, len(y), batch):
            xb, yb = x[start : start + batch], y[start : start + batch]
            forward = functools.partial(model.predict, xb, copies, generator)
            output, factors = laplace.kfac_factors(model.trunk, forward, copies, covered, labels, generator, likelihood)
            with torch.no_grad():
                spectra = [laplace.kfac_spectra(f) for f in factors]  # one eigendecomposition for every noise, prior
                for i, noise in at_each_noise(likelihood):  # a Gaussian's factor rows scale as 1/sigma, G's 1/sigma^2
                    fit = likelihood.nll(output.double(), yb)
                    scaled = [(a, g / noise**2, pairs) for a, g, pairs in spectra]
                    for j, delta in enumerate(priors):
                        value = laplace.log_marginal_likelihood(fit, factors, covered, n_data, delta, scaled)
                        totals[i, j] += value / n_data
            n_batches += 1
        return float((totals / n_batches).max())

    def hyper_values(self) -> dict[str, float]:
        return {"prior_precision": float(self.prior_precision.detach()), **self.likelihood.hyper_values()}

    def extra_repr(self) -> str:
        return (
            f"copies={self.copies}, every_n_steps={self.every_n_steps}, burn_in_epochs={self.burn_in_epochs}, "
            f"lr={self.lr:g}, labels={self.labels!r}, layers={self.layers!r}"
        )
