"""The base of the objectives: the losses a trainer asks an objective for, its schedule of hyper-steps, and what it
declares about itself (its config section, the rules it sets on a run) so that no other part names it."""

from __future__ import annotations

import contextlib
from typing import ClassVar

import torch
from torch import Tensor, nn

from invlearn.models.invariant import InvariantModel
from invlearn.objectives.context import HyperStep
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
    apart, the gradients of the augmentation's own step (its *hyper-step*). Each holds the task's
    :class:`~invlearn.objectives.likelihoods.Likelihood` (``likelihood``: a categorical by default).

    A new objective is a subclass in a file of its own and one line in
    :data:`~invlearn.objectives.registry.OBJECTIVES`: its constructor's arguments, annotated ``int``, ``float``,
    ``str`` or ``bool`` (or ``| None``) and documented under ``Args:`` in the class docstring, are its config
    section's keys (their defaults the defaults, the constructor's own checks the config's), and the class
    attributes below say the rest.
    """

    #: Whether the augmentation's parameters are updated by the weight optimiser (else by the hyper-step).
    augmentation_with_weights: ClassVar[bool] = True
    #: Adam's learning rate and betas of the hyper-step (unused where there is none).
    lr: float = 0.0
    hyper_betas: ClassVar[tuple[float, float]] = (0.9, 0.999)
    #: The fraction of the training set the objective holds out from the weights (given to
    #: :meth:`~invlearn.objectives.Objective.hold_out`).
    held_out_fraction: ClassVar[float] = 0.0
    #: The fraction of a run's epochs, at its end, in which the held-out examples join the weights' training set and
    #: no hyper-step is taken (the augmentation stays as learned).
    refit: float = 0.0
    #: The per-example fact (a :class:`~invlearn.data.split.Split`'s ``facts`` name, e.g. ``"recording"``: the
    #: subject of a sleep epoch) whose values group examples that are not independent; the held-out part is then
    #: drawn as whole groups (``None``: examples are independent).
    held_out_group: str | None = None
    #: The config section of its settings (``None``: its registry name).
    config_section: ClassVar[str | None] = None
    #: Constructor arguments that come from the task, not the config.
    task_arguments: ClassVar[tuple[str, ...]] = ("likelihood",)
    #: Settings whose config default is another key's value (``{"batch_size": "trainer.batch_size"}``).
    config_defaults: ClassVar[dict[str, str]] = {}
    #: Whether it trains on several devices (data parallel).
    multi_device: ClassVar[bool] = True
    #: Whether it learns the weights' prior, so that the run's own weight decay must be 0.
    weight_decay_is_prior: ClassVar[bool] = False
    #: The augmentation families it trains (``None``: every family that learns one and admits it).
    families: ClassVar[tuple[str, ...] | None] = None

    likelihood: Likelihood

    @classmethod
    def task_problem(cls, settings: dict, task: str) -> tuple[str, str] | None:
        """``(key, problem)`` where its resolved ``settings`` cannot serve a kind of ``task`` (none)."""
        return None

    def weights_loss(self, model: InvariantModel, output: Tensor, target: Tensor, n_data: int) -> Tensor:
        """The scalar loss of a weight step, from the model's training ``output`` and the ``target`` it is
        compared with (:meth:`~invlearn.models.InvariantModel.training_outputs`); ``n_data`` is the number of
        training examples."""
        raise NotImplementedError

    def training_ranges(self, model: InvariantModel) -> contextlib.AbstractContextManager:
        """A context within which a weight step builds its graph: the ranges the weights train at (here the
        learned ranges themselves; the held-out objective's ``margin`` widens them). Not entered in refit epochs."""
        return contextlib.nullcontext()

    def refit_epochs(self, epochs: int) -> int:
        """How many of a run's ``epochs``, at its end, are its :attr:`refit` (rounded to the nearest)."""
        return round(self.refit * epochs)

    def hyper_parameters(self, model: InvariantModel) -> list[nn.Parameter]:
        """The parameters the hyper-step updates (none: there is no hyper-step)."""
        return []

    def hyper_step_due(self, epoch: int, step: int) -> bool:
        """Whether a hyper-step follows weight step ``step`` (counted from 1) of epoch ``epoch`` (from 0)."""
        return False

    def hyper_loss(self, step: HyperStep) -> Tensor:
        """The scalar surrogate loss of a hyper-step, whose gradient is the hyper-step's."""
        raise NotImplementedError

    def hyper_gradients(self, step: HyperStep) -> tuple[float, list[Tensor | None]]:
        """``(value, gradients)`` of a hyper-step: the value it reports (its loss) and one gradient per
        :meth:`hyper_parameters` entry (``None`` where it has none). By default those of :meth:`hyper_loss`; an
        objective whose gradient is no loss's (implicit differentiation) overrides this instead."""
        loss = self.hyper_loss(step)
        parameters = self.hyper_parameters(step.model)
        grads = torch.autograd.grad(loss, parameters, allow_unused=True) if parameters else ()
        return float(loss.detach()), list(grads)

    def hyper_backward(self, step: HyperStep) -> float:
        """Accumulate the hyper-step's gradients into the ``.grad`` of :meth:`hyper_parameters` (as ``backward()``
        does) and return its value: an own loop's hyper-step is ``ranges.zero_grad()``, this, ``ranges.step()``."""
        value, grads = self.hyper_gradients(step)
        for parameter, grad in zip(self.hyper_parameters(step.model), grads, strict=True):
            if grad is not None:
                parameter.grad = grad if parameter.grad is None else parameter.grad + grad
        return value

    def evidence(
        self,
        model: InvariantModel,
        fitted: tuple[Tensor, Tensor],
        held: tuple[Tensor, Tensor],
        n_data: int,
        batch: int,
        copies: int,
        generator: torch.Generator | None,
    ) -> float:
        """This objective's own score of ``model`` trained with its range held fixed, in log-likelihood per example
        (higher is better): one point of an evidence curve (:mod:`invlearn.studies.evidence`). ``fitted``: inputs
        and targets its weights trained on (of ``n_data``), ``held``: some it never saw; ``batch`` examples at a
        time, ``copies`` augmented copies each. Raises ``NotImplementedError`` where the objective has no score of
        a fixed range (the reward)."""
        raise NotImplementedError(f"{type(self).__name__} has no evidence score")

    def hyper_values(self) -> dict[str, float]:
        """The objective's own learned values, for ``metrics.json`` (none)."""
        return {}

    @property
    def n_held_out(self) -> int:
        """The number of training examples this objective keeps from the weights (none)."""
        return 0

    def hold_out(
        self, inputs: Tensor, targets: Tensor, seed: int, groups: Tensor | None = None, classes: int | None = None
    ) -> None:
        """Receive the held-out examples (:attr:`~invlearn.objectives.Objective.held_out_fraction` of the training set,
        kept from the weights), the seed of their batches' order, where the objective names a
        :attr:`~invlearn.objectives.Objective.held_out_group`, each example's group ``(N,)``, and the number of
        classes where there are classes (the targets are checked against it); only objectives that hold some out
        take them."""
        raise TypeError(f"{type(self).__name__} holds no examples out")
