"""The objectives' registry: the name a config gives (``model.objective``) -> the objective's class."""

from __future__ import annotations

from invlearn.objectives.base import Objective
from invlearn.objectives.heldout import HeldOut
from invlearn.objectives.marglik import MarginalLikelihood
from invlearn.objectives.reward import RewardPenalty
from invlearn.objectives.unrolled import Unrolled

#: ``model.objective`` -> the objective's class.
OBJECTIVES: dict[str, type[Objective]] = {
    "reward": RewardPenalty,
    "marglik": MarginalLikelihood,
    "heldout": HeldOut,
    "unrolled": Unrolled,
}
