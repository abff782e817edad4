"""What a learner's augmentation is trained on: the objectives, a registry apart from the augmentation families.

A learner is a trunk, an augmentation family (AugNet's layers, Augerino's Lie-algebra box, independent
candidates) and an :class:`Objective`:

* :class:`RewardPenalty` (``"reward"``): the published objective of AugNet (Rommel et al., NeurIPS 2022) and
  Augerino (Benton et al., NeurIPS 2020), ``task loss - lam * model.penalty()``, minimised over the weights and
  the augmentation together by one optimiser.
* :class:`Unrolled` (``"unrolled"``): DADA's bilevel objective (Li et al., ECCV 2020): the weights train on the
  task loss of augmented data; the augmentation, apart, on the clean loss of held-out data after one unrolled
  gradient step of the weights.
* :class:`MarginalLikelihood` (``"marglik"``): LILA's objective (Immer, van der Ouderaa et al., NeurIPS 2022).
  The weights train on the maximum-a-posteriori loss, ``task loss + delta / (2 N) ||theta||^2`` (the prior as
  weight decay); the augmentation and the prior precision ``delta`` are updated apart, by their own optimiser,
  on ``-log p(D | eta) / N`` (:func:`invlearn.laplace.log_marginal_likelihood`), every ``every_n_steps`` weight
  steps once ``burn_in_epochs`` are done.

The trainer asks an objective for its two losses and its schedule; it never branches on which one it has.
"""

from __future__ import annotations

import functools
import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from invlearn import laplace
from invlearn._validation import check_choice, check_count, check_positive
from invlearn.likelihoods import LABELS, Categorical, Likelihood
from invlearn.losses import check_lam, regularized_loss
from invlearn.models.invariant import InvariantModel


def _checked_likelihood(likelihood: Likelihood | None) -> Likelihood:
    likelihood = Categorical() if likelihood is None else likelihood
    if not isinstance(likelihood, Likelihood):
        raise TypeError(f"likelihood must be an invlearn.likelihoods.Likelihood, got {type(likelihood).__name__}")
    return likelihood


class Objective(nn.Module):
    """Base of the objectives: the loss of the weight optimiser's step and, where the augmentation is learned
    apart, the loss of the augmentation's own step (its *hyper-step*). Each holds the task's
    :class:`~invlearn.likelihoods.Likelihood` (``likelihood``: a categorical by default)."""

    #: Whether the augmentation's parameters are updated by the weight optimiser (else by the hyper-step).
    augmentation_with_weights: ClassVar[bool] = True
    #: Adam's learning rate and betas of the hyper-step (unused where there is none).
    lr: float = 0.0
    hyper_betas: ClassVar[tuple[float, float]] = (0.9, 0.999)
    #: The fraction of the training set the objective holds out from the weights (given to :meth:`hold_out`).
    held_out_fraction: ClassVar[float] = 0.0

    likelihood: Likelihood

    def weights_loss(self, model: InvariantModel, output: Tensor, target: Tensor, n_data: int) -> Tensor:
        """The scalar loss of a weight step, from the model's training ``output`` and the ``target`` it is
        compared with (:meth:`~invlearn.models.InvariantModel.training_outputs`); ``n_data`` is the number of
        training examples."""
        raise NotImplementedError

    def hyper_parameters(self, model: InvariantModel) -> list[nn.Parameter]:
        """The parameters the hyper-step updates (none: there is no hyper-step)."""
        return []

    def hyper_step_due(self, epoch: int, step: int) -> bool:
        """Whether a hyper-step follows weight step ``step`` (counted from 1) of epoch ``epoch`` (from 0)."""
        return False

    def hyper_loss(
        self, model: InvariantModel, x: Tensor, target: Tensor, n_data: int, generator: torch.Generator | None
    ) -> Tensor:
        """The scalar loss of a hyper-step on the batch ``x`` ``(B, ...)`` with its targets."""
        raise NotImplementedError

    def hyper_values(self) -> dict[str, float]:
        """The objective's own learned values, for ``metrics.json`` (none)."""
        return {}

    def hold_out(self, inputs: Tensor, targets: Tensor, seed: int) -> None:
        """Receive the held-out examples (:attr:`held_out_fraction` of the training set, kept from the weights)
        and the seed of their batches' order; only objectives that hold some out take them."""
        raise TypeError(f"{type(self).__name__} holds no examples out")


class RewardPenalty(Objective):
    """The published reward objective, ``task loss - lam * model.penalty()`` (:func:`regularized_loss`), the task
    loss being the likelihood's conventional one (cross-entropy, mean squared error).

    Args:
        lam: ``lambda >= 0``, the weight of the reward for wide augmentation.
        likelihood: the task's likelihood (default: categorical).
    """

    def __init__(self, lam: float = 0.5, likelihood: Likelihood | None = None) -> None:
        super().__init__()
        self.lam = check_lam(lam)
        self.likelihood = _checked_likelihood(likelihood)

    def weights_loss(self, model, output, target, n_data):
        return regularized_loss(output, target, model, self.lam, self.likelihood.loss)

    def extra_repr(self) -> str:
        return f"lam={self.lam:g}"


class MarginalLikelihood(Objective):
    """LILA's Laplace-KFAC marginal likelihood (see the module and :mod:`invlearn.laplace`).

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
        self.likelihood = _checked_likelihood(likelihood)
        log_delta = math.log(check_positive(prior_precision, "prior_precision"))
        self.log_prior_precision = nn.Parameter(torch.tensor(log_delta))
        self.copies = check_count(copies, "copies")
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


class Unrolled(Objective):
    """DADA's one-step unrolled hypergradient (Li et al., ECCV 2020), the bilevel search of DARTS (Liu et al.,
    ICLR 2019) applied to augmentation.

    The weights ``w`` train on the task loss of augmented training data. Before each weight step, the
    augmentation ``alpha`` takes a step of its own Adam down ``L_val(w - xi grad_w L_train(w, alpha))``: the
    clean task loss of a held-out batch after one unrolled gradient step of the weights on the augmented training
    batch. Its gradient is exact here (autograd through the unrolled step, a Hessian-vector product); DADA
    approximates the same term by finite differences. The held-out data are ``held_out_fraction`` of the
    training set (DADA: half), kept from the weights.

    Args:
        lr: Adam's learning rate of the augmentation (DADA: 5e-3, betas 0.5 and 0.999, no weight decay).
        step: ``xi``, the unrolled step's learning rate (DADA: the weights' current learning rate).
        batch_size: held-out examples per hyper-step.
        likelihood: the task's likelihood (default: categorical); its conventional loss is used.
    """

    augmentation_with_weights = False
    held_out_fraction = 0.5
    hyper_betas = (0.5, 0.999)

    def __init__(self, lr: float = 5e-3, step: float = 0.1, batch_size: int = 128, likelihood=None) -> None:
        super().__init__()
        self.likelihood = _checked_likelihood(likelihood)
        self.lr = check_positive(lr, "lr")
        self.step = check_positive(step, "step")
        self.batch_size = check_count(batch_size, "batch_size")
        self._held_out: tuple[Tensor, Tensor] | None = None
        self._order = torch.Generator()
        self._queue: list[Tensor] = []

    def weights_loss(self, model, output, target, n_data):
        return self.likelihood.loss(output, target)

    def hyper_parameters(self, model):
        return [p for p in model.augmentation.parameters() if p.requires_grad]

    def hyper_step_due(self, epoch, step):
        return True

    def hold_out(self, inputs: Tensor, targets: Tensor, seed: int) -> None:
        if len(inputs) == 0 or len(inputs) != len(targets):
            raise ValueError(f"the held-out set must hold examples with one target each, got {len(inputs)} inputs")
        self._held_out = (inputs, targets)
        self._order.manual_seed(seed)
        self._queue = []

    def get_extra_state(self) -> dict:
        """The held-out batches' order (its generator's state, this epoch's batches left), kept in checkpoints so a
        resumed search draws the batches an uninterrupted one would."""
        return {"order": self._order.get_state(), "queue": list(self._queue)}

    def set_extra_state(self, state: dict) -> None:
        self._order.set_state(state["order"])
        self._queue = list(state["queue"])

    def held_out_batch(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """The next held-out batch (shuffled epochs of the held-out set, its own generator), on ``device``."""
        if self._held_out is None:
            raise RuntimeError("Unrolled needs held-out examples (hold_out) before its first hyper-step")
        inputs, targets = self._held_out
        if not self._queue:
            order = torch.randperm(len(inputs), generator=self._order)
            self._queue = list(order.split(self.batch_size))
        rows = self._queue.pop(0)
        return inputs[rows].to(device), targets[rows].to(device)

    def hyper_loss(self, model, x, target, n_data, generator):
        output, moved = model.training_outputs(x, target, generator)
        names, weights = zip(*[(n, p) for n, p in model.trunk.named_parameters() if p.requires_grad], strict=True)
        grads = torch.autograd.grad(self.likelihood.loss(output, moved), weights, create_graph=True)
        unrolled = {name: w - self.step * g for name, w, g in zip(names, weights, grads, strict=True)}
        buffers = {name: b.clone() for name, b in model.trunk.named_buffers()}  # batch norm's stay untouched
        held_x, held_y = self.held_out_batch(x.device)
        clean = torch.func.functional_call(model.trunk, {**unrolled, **buffers}, (held_x,))
        return self.likelihood.loss(clean, held_y)

    def extra_repr(self) -> str:
        return f"lr={self.lr:g}, step={self.step:g}, batch_size={self.batch_size}"


#: ``model.objective`` -> the objective's class.
OBJECTIVES: dict[str, type[Objective]] = {"reward": RewardPenalty, "marglik": MarginalLikelihood, "unrolled": Unrolled}
