"""The base of the bilevel objectives: the weights train on one part of the training set, the augmentation on the
other, held-out part, batches of which each hyper-step draws (DADA's unrolled hypergradient, the held-out
likelihood)."""

from __future__ import annotations

import torch
from torch import Tensor

from invlearn._validation import check_count, check_finite, check_float_tensor, check_tensor, shown
from invlearn.objectives.base import Objective


class BilevelObjective(Objective):
    """A bilevel objective: its hyper-steps read examples the weights never train on: the trainer gives them to
    :meth:`hold_out` (:attr:`~invlearn.objectives.Objective.held_out_fraction` of the training set) before training, and
    each hyper-step draws the next batch of them (:meth:`held_out_batch`: shuffled passes over the held-out set, from a
    generator of its own whose state checkpoints keep).

    Args:
        batch_size: held-out examples per hyper-step.
    """

    augmentation_with_weights = False
    #: A bilevel objective holds out half the training set unless it says otherwise (DADA's half).
    held_out_fraction = 0.5

    def __init__(self, batch_size: int) -> None:
        super().__init__()
        self.batch_size = check_count(batch_size, "batch_size")
        self._held_out: tuple[Tensor, Tensor] | None = None
        self._order = torch.Generator()
        self._queue: list[Tensor] = []
        self._restored: dict | None = None  # a checkpoint's order: hold_out, before or after it, keeps it

    @property
    def n_held_out(self) -> int:
        """The number of held-out examples (0 before :meth:`hold_out`)."""
        return 0 if self._held_out is None else len(self._held_out[1])

    def hold_out(
        self, inputs: Tensor, targets: Tensor, seed: int, groups: Tensor | None = None, classes: int | None = None
    ) -> None:
        """Keep ``inputs`` ``(N, ...)`` (finite, floating point) and their ``targets`` ``(N, ...)`` (the likelihood's:
        class indices below ``classes`` where given, or finite real values) for the hyper-steps, drawn in an order
        seeded by ``seed``; ``groups`` ``(N,)``: each example's independent unit (a subject), where the objective
        counts units. The order a checkpoint restored (before or after this call) is kept.

        Raises:
            TypeError: an input or target of the wrong type or dtype, or a ``seed`` that is not an integer.
            ValueError: no examples, a count of targets or groups that is not one per input, a non-finite input,
                or a target the likelihood cannot take (a class index outside ``[0, classes)``).
        """
        check_float_tensor(inputs, "held-out inputs")
        if inputs.ndim < 2:
            raise ValueError(f"held-out inputs must be (N, ...) examples, got shape {tuple(inputs.shape)}")
        check_finite(inputs, "held-out inputs")
        check_tensor(targets, "held-out targets")
        if len(inputs) == 0 or len(inputs) != len(targets):
            raise ValueError(f"the held-out set must hold examples with one target each, got {len(inputs)} inputs")
        self.likelihood.check_targets(targets, "held-out targets", classes)
        if groups is not None and (not isinstance(groups, Tensor) or groups.shape != (len(inputs),)):
            raise ValueError(f"groups must be one group per held-out example ({len(inputs)},), got {shown(groups)}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an integer, got {shown(seed)}")
        self._held_out = (inputs, targets)
        if self._restored is None:
            self._order.manual_seed(seed)
            self._queue = []

    def get_extra_state(self) -> dict:
        """The held-out batches' order (its generator's state, this pass's batches left), kept in checkpoints so a
        resumed run draws the batches an uninterrupted one would."""
        return {"order": self._order.get_state(), "queue": list(self._queue)}

    def set_extra_state(self, state: dict) -> None:
        self._restored = state
        self._order.set_state(state["order"])
        self._queue = list(state["queue"])

    def held_out_batch(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """The next held-out batch (shuffled passes over the held-out set, its own generator), on ``device``."""
        if self._held_out is None:
            raise RuntimeError(f"{type(self).__name__} needs held-out examples (hold_out) before its first hyper-step")
        inputs, targets = self._held_out
        if not self._queue:
            order = torch.randperm(len(inputs), generator=self._order)
            self._queue = list(order.split(self.batch_size))
        rows = self._queue.pop(0)
        return inputs[rows].to(device), targets[rows].to(device)
