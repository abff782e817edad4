"""Turn a validated configuration into the learner and the data it names.

A learner is a trunk, an augmentation family and an objective. The families (``none``, ``fixed``, ``augnet``,
``augerino``, ``independent``, ``policy``, ``dada``) are a registry, :data:`METHODS`: each builds the model from
the config's ``model`` section, the data and the trunk; the policies a ``policy`` model applies in training are
one too, :data:`POLICIES`. The objective (``model.objective``) comes from
:data:`~invlearn.objectives.registry.OBJECTIVES`, with its settings from ``loss`` (the reward), ``marglik`` or
``unrolled``. The trainer never branches on either.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from invlearn import augmentations
from invlearn.data import registry
from invlearn.data.split import Split
from invlearn.families import (
    AugmentationLayer,
    DADAPolicy,
    IndependentCandidates,
    RandAugment,
    SubPolicies,
    TrainingOnly,
    TrivialAugment,
    UniformLieAffine,
)
from invlearn.models import Augerino, AugNet, Independent, InvariantModel, create_trunk
from invlearn.models.registry import TRUNKS
from invlearn.objectives import OBJECTIVES, Categorical, Gaussian, Likelihood, Objective, RewardPenalty

#: The kind of task (:data:`invlearn.data.registry.TASKS`) -> the likelihood its outputs are read with.
LIKELIHOODS: dict[str, type[Likelihood]] = {
    "classification": Categorical,
    "regression": Gaussian,
    "segmentation": Categorical,
}
#: Kinds of task whose dense targets move with the input (equivariant models).
EQUIVARIANT_TASKS = ("segmentation",)


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


def create_augmentation(entry: dict, data: Data) -> augmentations.Augmentation:
    """The augmentation a config entry ``{name: ..., **arguments}`` names, with the data's sampling frequency
    where the augmentation needs one and the entry does not give it."""
    kwargs = {k: v for k, v in entry.items() if k != "name"}
    if augmentations.get(entry["name"]).needs_sfreq:
        kwargs.setdefault("sfreq", data.sfreq)
    return augmentations.create(entry["name"], **kwargs)


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


def _copies(spec: dict) -> dict:
    return {"n_copies_train": spec["n_copies_train"], "n_copies_eval": spec["n_copies_eval"]}


def _outputs(data: Data) -> dict:
    """How the copies' outputs are averaged for the data's kind of task, and whether they move with the input."""
    return {"aggregate": LIKELIHOODS[data.task].aggregate, "equivariant": data.task in EQUIVARIANT_TASKS}


def _layers(spec: dict, data: Data) -> list[AugmentationLayer]:
    return [
        AugmentationLayer(
            [create_augmentation(entry, data) for entry in layer],
            temperature=spec["temperature"],
            eval_sampling=spec["eval_sampling"],
        )
        for layer in spec["layers"]
    ]


def _none(config: dict, data: Data, trunk: nn.Module) -> InvariantModel:
    """The bare trunk: no augmentation, one copy, raw outputs (so its logits reach the loss unchanged)."""
    identity = augmentations.Identity(data.modality)
    return InvariantModel(trunk, identity, n_copies_train=1, n_copies_eval=1, aggregate="mean")


def _fixed(config: dict, data: Data, trunk: nn.Module) -> InvariantModel:
    """AugNet's machinery with every augmentation parameter frozen: the given ranges are applied in training
    and averaged over copies at test time, and nothing about them is learned (an oracle)."""
    aggregate = LIKELIHOODS[data.task].aggregate
    model = AugNet(trunk, _layers(config["model"], data), aggregate=aggregate, **_copies(config["model"]))
    model.augmentation.requires_grad_(False)
    return model


def _augnet(config: dict, data: Data, trunk: nn.Module) -> InvariantModel:
    spec = config["model"]
    aggregate = LIKELIHOODS[data.task].aggregate
    return AugNet(trunk, _layers(spec, data), penalty=config["loss"]["penalty"], aggregate=aggregate, **_copies(spec))


def _augerino(config: dict, data: Data, trunk: nn.Module) -> InvariantModel:
    spec = config["model"]
    distribution = UniformLieAffine(init_width=spec["init_width"], generators=spec["generators"])
    caps = {"width_cap": spec["width_cap"], "safe_limit": spec["safe_limit"]}
    return Augerino(trunk, distribution, **caps, **_copies(spec), **_outputs(data))


def _independent(config: dict, data: Data, trunk: nn.Module) -> InvariantModel:
    spec = config["model"]
    candidates = IndependentCandidates([create_augmentation(entry, data) for entry in spec["candidates"]])
    return Independent(trunk, candidates, **_copies(spec), **_outputs(data))


def _ops(config: dict, data: Data) -> list[augmentations.Augmentation]:
    return [create_augmentation(entry, data) for entry in config["model"]["candidates"]]


def _sequence(spec: dict, ops: list) -> IndependentCandidates:
    """Every op applied to every example at its configured strength (the classic fixed crop and flip)."""
    return IndependentCandidates(ops).requires_grad_(False)


#: ``model.policy.name`` -> builder of the policy from its settings and the ops (``model.candidates``).
POLICIES: dict[str, Callable[[dict, list], augmentations.RandomTransform]] = {
    "randaugment": lambda spec, ops: RandAugment(ops, spec["n_ops"], spec["magnitude"]),
    "trivialaugment": lambda spec, ops: TrivialAugment(ops),
    "sub_policies": lambda spec, ops: SubPolicies(ops, spec["sub_policies"], spec["probabilities"], spec["magnitudes"]),
    "sequence": _sequence,
}


def _training_only(trunk: nn.Module, policy: augmentations.RandomTransform, data: Data) -> InvariantModel:
    """``trunk`` behind ``policy`` applied to the training batches only
    (:class:`~invlearn.families.policies.TrainingOnly`); the test set is seen as it is, once."""
    return InvariantModel(trunk, TrainingOnly(policy), n_copies_train=1, n_copies_eval=1, **_outputs(data))


def _policy(config: dict, data: Data, trunk: nn.Module) -> InvariantModel:
    """A policy of :data:`POLICIES`, in training only."""
    spec = config["model"]["policy"]
    return _training_only(trunk, POLICIES[spec["name"]](spec, _ops(config, data)), data)


def _dada(config: dict, data: Data, trunk: nn.Module) -> InvariantModel:
    """DADA's search: the relaxed policy over the ops' pairs, in training only."""
    spec = config["model"]["policy"]
    policy = DADAPolicy(_ops(config, data), temperature=spec["temperature"], sharpness=spec["sharpness"])
    return _training_only(trunk, policy, data)


#: ``model.method`` -> builder of its model (trunk behind an augmentation family) from ``(config, data, trunk)``.
METHODS: dict[str, Callable[[dict, Data, nn.Module], InvariantModel]] = {
    "none": _none,
    "fixed": _fixed,
    "augnet": _augnet,
    "augerino": _augerino,
    "independent": _independent,
    "policy": _policy,
    "dada": _dada,
}

#: Methods whose augmentation learns nothing: they train on the plain loss, whatever ``model.objective`` says.
FIXED_METHODS = ("none", "fixed", "policy")


def build_objective(config: dict, task: str = "classification") -> Objective:
    """The configured objective for a kind of ``task`` (its likelihood, :data:`LIKELIHOODS`): the reward with
    ``loss.lam`` or the marginal likelihood with ``marglik``'s settings; the plain loss (``lam = 0``) for a method
    that learns nothing."""
    likelihood = LIKELIHOODS[task]()
    if config["model"]["method"] in FIXED_METHODS:
        return RewardPenalty(0.0, likelihood)
    name = config["model"]["objective"]
    settings = {"lam": config["loss"]["lam"]} if name == "reward" else dict(config[name])
    return OBJECTIVES[name](**settings, likelihood=likelihood)


def build_learner(config: dict, data: Data) -> Learner:
    """The configured learner: its trunk (arguments completed from the data) behind the method's augmentation,
    with the configured objective."""
    spec = config["model"]
    trunk = create_trunk(spec["trunk"]["name"], **_trunk_arguments(spec["trunk"], data))
    return Learner(METHODS[spec["method"]](config, data, trunk), build_objective(config, data.task))
