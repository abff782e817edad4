"""The smallest working config of every registered family and objective, read from the registries alone, so that
a new entry is tested by being registered (``tests/test_registries.py``, the crash-consistency tests)."""

from __future__ import annotations

import copy

from invlearn.objectives import OBJECTIVES
from invlearn.training import config
from invlearn.training.families import FAMILIES
from invlearn.training.schema import objective_section, objective_section_name

#: Per modality: a generated data set, cut small, and a small trunk for it.
DATA = {
    "image": ({"name": "sprites", "n_train": 40, "n_test": 16}, {"name": "mlp", "width": 16}),
}
#: Schedule settings an objective may have, set so that its hyper-steps start at once.
FAST_SCHEDULE = {"burn_in_epochs": 0, "every_n_steps": 1}


def objective_of(family: str) -> str:
    """The objective a family's contract trains under: the reward where it takes it, else its first."""
    takes = [name for name in OBJECTIVES if FAMILIES[family].accepts(name)]
    return "reward" if "reward" in takes else takes[0]


def family_of(objective: str) -> str:
    """The first family that learns an augmentation under ``objective``."""
    return next(name for name, family in FAMILIES.items() if family.learns and family.accepts(objective))


def contract_config(family: str | None = None, objective: str | None = None, epochs: int = 2) -> dict:
    """A validated config of ``family`` (default: :func:`family_of` the objective) under ``objective`` (default:
    :func:`objective_of` the family) on tiny data of the family's first modality: 2 epochs of 4 steps, a
    checkpoint every 2 steps, the objective at its defaults but for :data:`FAST_SCHEDULE`."""
    family = family or family_of(objective)
    objective = objective or objective_of(family)
    record, cls = FAMILIES[family], OBJECTIVES[objective]
    data, trunk = DATA[(record.modalities or ("image",))[0]]
    section = objective_section_name(objective)
    schedule = {key: value for key, value in FAST_SCHEDULE.items() if key in objective_section(cls)}
    raw = {
        "data": dict(data),
        "model": {"method": family, "objective": objective, "trunk": dict(trunk), **copy.deepcopy(record.example)},
        section: schedule,
        "optim": {"weight_decay": 0.0, "lr": 1e-2},
        "trainer": {"epochs": epochs, "batch_size": 8, "checkpoint_every_n_steps": 2, "progress_bar": False},
    }
    return config.validate(raw)
