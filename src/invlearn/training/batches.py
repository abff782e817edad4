"""In-memory batching with an order that depends only on (seed, epoch), so a run resumed mid-epoch sees the
same batches as an uninterrupted one, and each distributed process takes its own share."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import Tensor


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class TensorBatches:
    """Iterate ``(inputs, labels)`` batches of tensors held in memory.

    Args:
        inputs: ``(N, ...)`` examples.
        labels: ``(N,)`` labels.
        batch_size: examples per batch (per process); the last batch may be smaller.
        shuffle: a new permutation every epoch, drawn from ``seed`` and the epoch number.
        seed: base seed of the permutations.
        kept: with ``refit_from``: the first ``kept`` examples are the ones the weights train on until epoch
            ``refit_from``; from then on every epoch draws its ``kept`` examples from all of them (the held-out
            part given back to the weights once the augmentation is chosen), so epochs keep their length.
        refit_from: the epoch from which all examples are drawn (``None``: always the whole set).

    ``position``, when set, is called with the number of batches at the start of every iteration and returns
    ``(epoch, batches already done in it)``: the epoch selects the permutation, and a resumed run starts after
    the batches it already trained on. Without it, iterations count epochs from 0 and start at the first
    batch. With several processes, each takes every ``world_size``-th example of the permutation (the order
    padded by wrapping so that all get the same number of batches).
    """

    def __init__(
        self,
        inputs: Tensor,
        labels: Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        kept: int | None = None,
        refit_from: int | None = None,
    ) -> None:
        if inputs.shape[0] != labels.shape[0]:
            raise ValueError(
                f"inputs and labels must have the same length, got {inputs.shape[0]} and {labels.shape[0]}"
            )
        if (kept is None) != (refit_from is None) or (kept is not None and not 0 < kept <= labels.shape[0]):
            raise ValueError(f"kept and refit_from go together, kept within the examples; got {kept}, {refit_from}")
        self.inputs, self.labels = inputs, labels
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.kept, self.refit_from = kept, refit_from
        self.epoch = -1
        self.position: Callable[[int], tuple[int, int]] | None = None

    def state_dict(self) -> dict:
        """What fixes the order of every epoch (Lightning's resumable-loader protocol); the position within an
        epoch comes from ``position``, i.e. from the trainer's restored step count."""
        state = {"seed": self.seed, "shuffle": self.shuffle, "n": int(self.labels.shape[0])}
        if self.refit_from is not None:
            state.update(kept=self.kept, refit_from=self.refit_from)
        return state

    def load_state_dict(self, state: dict) -> None:
        mine = self.state_dict()
        if state != mine:
            raise ValueError(f"the checkpoint's batches {state} do not match this run's {mine}")

    @property
    def _per_epoch(self) -> int:
        return self.labels.shape[0] if self.kept is None else self.kept

    def _order(self) -> Tensor:
        n = self._per_epoch
        refitting = self.refit_from is not None and self.epoch >= self.refit_from
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.labels.shape[0] if refitting else n, generator=generator)[:n]
        else:
            order = torch.arange(n)
        rank, world = _rank_and_world()
        if world > 1:
            per_process = math.ceil(n / world)
            order = order.repeat(2)[: per_process * world][rank::world]
        return order

    def __len__(self) -> int:
        _, world = _rank_and_world()
        return math.ceil(math.ceil(self._per_epoch / world) / self.batch_size)

    def __iter__(self):
        if self.position is None:
            self.epoch, start = self.epoch + 1, 0
        else:
            self.epoch, start = self.position(len(self))
        order = self._order()
        for b in range(start, len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self.inputs[index], self.labels[index]
