"""The one-standard-error rule of the held-out objective: the widest ranges whose held-out score stays within one
standard error of the best ranges seen, as a constraint with a dual variable.

glmnet's ``lambda.1se`` picks the most regularised model whose cross-validated error is within one standard error
of the best; invariance-constrained learning (Hounie, Chamon, Ribeiro, ICML 2023) writes such a preference as a
constraint whose multiplier is learned by dual ascent. Here the ranges maximise their width subject to

    ``gap = mean_i (nll_i(ranges) - nll_i(best)) <= se``

where ``i`` runs over a fixed set of held-out units scored under the same augmentation draw at both ranges (a
*paired* difference, in which each unit's own difficulty cancels), ``best`` is the ranges with the lowest held-out
score seen so far (re-scored at the current weights) and ``se`` the standard error of the paired difference. The
Lagrangian of a hyper-step is ``dual * mean_i nll_i(ranges) - extent(ranges)``; the dual variable rises while the
constraint is broken and falls to 0 while it holds, so ranges widen freely until they cost one standard error.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import Tensor

from invlearn.models.invariant import InvariantModel


def paired_gap(current: Tensor, reference: Tensor, groups: Tensor | None = None) -> tuple[float, float]:
    """``(mean, standard error)`` of the per-unit differences ``current - reference`` ``(N,)`` (the error 0 for a
    single unit); with ``groups`` ``(N,)``, the units are the groups: each group's mean difference, then their
    mean and standard error over groups."""
    difference = (current - reference).detach().double()
    if groups is not None:
        _, index = torch.unique(groups, return_inverse=True)
        sums = torch.zeros(int(index.max()) + 1, dtype=difference.dtype).index_add_(0, index, difference)
        difference = sums / torch.bincount(index).to(difference.dtype)
    se = float(difference.std() / math.sqrt(len(difference))) if len(difference) > 1 else 0.0
    return float(difference.mean()), se


def _ranges(model: InvariantModel) -> dict[str, Tensor]:
    return {name: p.detach().clone() for name, p in model.augmentation.named_parameters()}


class Tolerance:
    """The best ranges seen and the dual variable of the one-standard-error constraint (see the module).

    Args:
        dual_lr: how far the dual variable moves per hyper-step per tolerance of violation (the violation
            ``(gap - tol) / tol`` is clipped to ``[-1, 1]``, so one step moves it by at most ``dual_lr``).
        floor: the tolerance's least value, as a fraction of the best ranges' mean held-out NLL:
            ``tol = max(se, floor * nll(best))``.
        memory: the dual variable's memory per hyper-step: ``dual <- max(0, memory * dual + dual_lr * violation)``.
    """

    def __init__(self, dual_lr: float = 1.0, floor: float = 0.05, memory: float = 0.9) -> None:
        self.dual_lr, self.floor, self.memory = dual_lr, floor, memory
        self.dual = 0.0
        self.best: dict[str, Tensor] | None = None

    @contextlib.contextmanager
    def at_best(self, model: InvariantModel) -> Iterator[None]:
        """The model's augmentation set to the best ranges seen (the current ones before any), restored after."""
        saved = _ranges(model)
        best = saved if self.best is None else self.best
        with torch.no_grad():
            for name, parameter in model.augmentation.named_parameters():
                parameter.copy_(best[name])
        try:
            yield
        finally:
            with torch.no_grad():
                for name, parameter in model.augmentation.named_parameters():
                    parameter.copy_(saved[name])

    def update(self, model: InvariantModel, gap: float, se: float, best_nll: float) -> float:
        """Take a hyper-step's paired ``gap``, its ``se`` and the best ranges' mean NLL: the current ranges become
        the best where they score better (or where none was seen), and the dual variable moves by the clipped
        violation; returns it."""
        if self.best is None or gap < 0:
            self.best = _ranges(model)
        tol = max(se, self.floor * abs(best_nll))
        if gap < 0:  # better than the best: the constraint holds with all its margin
            violation = -1.0
        else:
            violation = 0.0 if tol == 0 else max(-1.0, min(1.0, (gap - tol) / tol))
        self.dual = max(0.0, self.memory * self.dual + self.dual_lr * violation)
        return self.dual

    def state(self) -> dict:
        return {"dual": self.dual, "best": None if self.best is None else dict(self.best)}

    def load(self, state: dict) -> None:
        self.dual = float(state["dual"])
        self.best = None if state["best"] is None else dict(state["best"])
