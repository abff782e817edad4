"""Turn a validated configuration into the learner and the data it names.

A learner is a trunk, an augmentation family and an objective. The families (``model.method``) are the records of
:data:`~invlearn.training.families.FAMILIES`: each builds the model from the config's ``model`` section, the data and
the trunk. The objective (``model.objective``) comes from :data:`~invlearn.objectives.registry.OBJECTIVES`, with its
settings from its own config section. The trainer never branches on either.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

from invlearn.data import registry
from invlearn.data.split import Split
from invlearn.models import InvariantModel, create_trunk
from invlearn.models.registry import TRUNKS
from invlearn.objectives import OBJECTIVES, Objective, RewardPenalty
from invlearn.training.families import FAMILIES
from invlearn.training.schema import objective_section_name
from invlearn.training.tasks import LIKELIHOODS


@dataclass(frozen=True)
class Data:
    """The train and test splits of an experiment, with the facts of their data set."""

    train: Split
    test: Split
    facts: registry.DataSet

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return self.facts.n_classes

    @property
    def sfreq(self) -> float | None:
        """Sampling frequency of signals (Hz, that of the files where they give one), ``None`` for images."""
        return self.train.sfreq

    @property
    def modality(self) -> str:
        """``"image"`` for ``(N, C, H, W)`` inputs, ``"signal"`` for ``(N, channels, times)``."""
        return self.facts.modality

    @property
    def task(self) -> str:
        """The kind of task, one of :data:`invlearn.data.registry.TASKS`."""
        return self.facts.task


def build_data(config: dict) -> Data:
    """Generate or load the configured data set (deterministic given ``config["seed"]``)."""
    spec = config["data"]
    keys = ("n_train", "n_test", "root", "transform", "transform_range")
    train, test = registry.load(spec["name"], config["seed"], **{key: spec[key] for key in keys})
    return Data(train, test, registry.get(spec["name"]))


def _trunk_arguments(entry: dict, data: Data) -> dict:
    """The config's trunk arguments, completed from the data where the trunk takes them and the config is
    silent: ``n_classes``, ``in_channels``, ``in_features`` (one example's size), ``image_size`` (images'
    width), ``point_channels`` (values per point of a point set) and ``sfreq``."""
    example = tuple(data.train.inputs.shape[1:])
    known = {"n_classes": data.n_classes, "in_channels": example[0], "in_features": math.prod(example)}
    if data.modality == "image":
        known["image_size"] = example[-1]
    if data.modality == "points":
        known["point_channels"] = example[-1]
    if data.sfreq is not None:
        known["sfreq"] = data.sfreq
    accepted = inspect.signature(TRUNKS[entry["name"]]).parameters
    kwargs = {k: v for k, v in entry.items() if k != "name"}
    return {**{k: v for k, v in known.items() if k in accepted}, **kwargs}


@dataclass(frozen=True)
class Learner:
    """What the trainer receives: the model and the objective it is trained on."""

    model: InvariantModel
    objective: Objective


def build_objective(config: dict, task: str = "classification", name: str | None = None) -> Objective:
    """The configured objective for a kind of ``task`` (its likelihood,
    :data:`~invlearn.training.tasks.LIKELIHOODS`), with the settings of its config section; the plain loss (the
    reward with ``lam = 0``) for a family that learns nothing. ``name``: the registered objective of that name
    instead, with its section's settings (an evidence score of a run trained under another)."""
    likelihood = LIKELIHOODS[task]()
    if name is None and not FAMILIES[config["model"]["method"]].learns:
        return RewardPenalty(0.0, likelihood)
    name = config["model"]["objective"] if name is None else name
    cls = OBJECTIVES[name]
    section = config[objective_section_name(name)]
    settings = {key: section[key] for key in inspect.signature(cls.__init__).parameters if key in section}
    return cls(**settings, likelihood=likelihood)


def build_learner(config: dict, data: Data) -> Learner:
    """The configured learner: its trunk (arguments completed from the data) behind the family's augmentation,
    with the configured objective."""
    spec = config["model"]
    trunk = create_trunk(spec["trunk"]["name"], **_trunk_arguments(spec["trunk"], data))
    return Learner(FAMILIES[spec["method"]].build(config, data, trunk), build_objective(config, data.task))
