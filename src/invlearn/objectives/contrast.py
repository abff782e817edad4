"""The contrast rule of the held-out objective: the ranges widen while a twin of the model, trained beside it on the
same batches at a fraction of its ranges, predicts the held-out part no better than it, within one standard error.

Comparing ranges at the current weights (:mod:`~invlearn.objectives.tolerance`) cannot see what *training* on a
wider range costs: weights trained on the wider range predict as well from narrower copies, so harm that builds up
step by step passes every comparison. A twin trained on the narrower ranges (``fraction`` of the current ones) is
what a narrower choice would have given: the paired held-out difference between the two (each unit scored by both
under the same augmentation draw) says whether the last widenings paid. The Occam term of the hyper-step,
``- weight * extent``, then follows that verdict: its ``weight`` grows while the model is within the tolerance of
its twin (wider is harmless: prefer it) and shrinks while the twin is better (wider costs: the held-out likelihood
alone then narrows the ranges, by the short-horizon bias the Occam term otherwise offsets).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from invlearn.augmentations import Augmentation
from invlearn.models.invariant import InvariantModel


def _strengths(model: InvariantModel) -> list[Tensor]:
    return [m.strength_parameter for m in model.augmentation.modules() if isinstance(m, Augmentation)]


class Contrast(nn.Module):
    """The twin and the Occam weight of the contrast rule (see the module).

    Args:
        model: the model being trained; the twin starts as its copy (same weights, same ranges).
        fraction: the twin's ranges as a fraction of the model's, in ``(0, 1)``.
        floor: the tolerance's least value, as a fraction of the twin's mean held-out NLL:
            ``tol = max(se, floor * nll(twin))``.
        rate: how far the weight's logarithm moves per hyper-step per tolerance of violation (clipped to
            ``[-1, 1]``).
    """

    def __init__(self, model: InvariantModel, fraction: float = 0.5, floor: float = 0.05, rate: float = 0.1) -> None:
        super().__init__()
        self.twin = copy.deepcopy(model)
        for parameter in self.twin.augmentation.parameters():
            parameter.requires_grad_(False)
        self.fraction, self.floor, self.rate = fraction, floor, rate
        self.weight = math.nan  # set at the first verdict

    def follow(self, model: InvariantModel) -> None:
        """Set the twin's ranges to ``fraction`` of ``model``'s."""
        with torch.no_grad():
            for own, theirs in zip(_strengths(self.twin), _strengths(model), strict=True):
                own.copy_(self.fraction * theirs)

    def trunk_parameters(self) -> list[nn.Parameter]:
        """The twin's trainable weights (they train with the model's optimiser)."""
        return [p for p in self.twin.trunk.parameters() if p.requires_grad]

    def training_outputs(
        self, model: InvariantModel, x: Tensor, target: Tensor, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """The twin's training outputs on the model's batch, at ``fraction`` of its ranges."""
        self.follow(model)
        return self.twin.training_outputs(x, target, generator)

    def verdict(self, gap: float, se: float, twin_nll: float) -> float:
        """Take the paired ``gap`` (model minus twin), its ``se`` and the twin's mean NLL; returns the Occam weight
        after the update (the first verdict sets it to the tolerance)."""
        tol = max(se, self.floor * abs(twin_nll))
        if math.isnan(self.weight):
            self.weight = tol
        violation = 0.0 if tol == 0 else max(-1.0, min(1.0, (gap - tol) / tol))
        self.weight = max(self.weight * math.exp(-self.rate * violation), 1e-12)
        return self.weight

    def state(self) -> dict:
        return {"weight": self.weight}

    def load(self, state: dict) -> None:
        self.weight = float(state["weight"])
