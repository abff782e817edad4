"""The base of the objectives: the losses a trainer asks an objective for, and its schedule of hyper-steps."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from invlearn.models.invariant import InvariantModel
from invlearn.objectives.likelihoods import Categorical, Likelihood


def checked_likelihood(likelihood: Likelihood | None) -> Likelihood:
    """``likelihood``, or a categorical one where it is ``None``; anything but a
    :class:`~invlearn.objectives.likelihoods.Likelihood` is a ``TypeError``."""
    likelihood = Categorical() if likelihood is None else likelihood
    if not isinstance(likelihood, Likelihood):
        raise TypeError(
            f"likelihood must be an invlearn.objectives.likelihoods.Likelihood, got {type(likelihood).__name__}"
        )
    return likelihood


class Objective(nn.Module):
    """Base of the objectives: the loss of the weight optimiser's step and, where the augmentation is learned
    apart, the loss of the augmentation's own step (its *hyper-step*). Each holds the task's
    :class:`~invlearn.objectives.likelihoods.Likelihood` (``likelihood``: a categorical by default)."""

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

    @property
    def n_held_out(self) -> int:
        """The number of training examples this objective keeps from the weights (none)."""
        return 0

    def hold_out(self, inputs: Tensor, targets: Tensor, seed: int) -> None:
        """Receive the held-out examples (:attr:`~invlearn.objectives.Objective.held_out_fraction` of the training set,
        kept from the weights) and the seed of their batches' order; only objectives that hold some out take them."""
        raise TypeError(f"{type(self).__name__} holds no examples out")
