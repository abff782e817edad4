"""The augmentation families a config names (``model.method``), each one record of :data:`FAMILIES`.

A :class:`Family` says how its model is built from the config's ``model`` section, the data and the trunk; which
config keys it owns (and checks); whether it learns anything; which objectives, kinds of data and tasks it works
with; and a minimal example of its keys, from which the contract tests build and train it. Adding a family is one
record here (and its transform in :mod:`invlearn.families`); the config's checks, the config reference and the
tests read the record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from invlearn import augmentations
from invlearn._validation import shown
from invlearn.data.registry import DATA_SETS
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
from invlearn.models import Augerino, AugNet, Independent, InvariantModel
from invlearn.objectives import OBJECTIVES
from invlearn.training.schema import (
    INT,
    REAL,
    STR,
    ConfigError,
    Field,
    Structured,
    at_least_one,
    check_section,
    one_of,
    positive,
    unit_interval,
)
from invlearn.training.tasks import EQUIVARIANT_TASKS, LIKELIHOODS

#: ``(config, data, trunk) -> model``: ``data`` is a :class:`~invlearn.training.build.Data` (its ``task``,
#: ``modality`` and ``sfreq`` are read).
Builder = Callable[[dict, Any, nn.Module], InvariantModel]


@dataclass(frozen=True)
class Family:
    """One augmentation family of the config (``model.method``).

    Attributes:
        name: its ``model.method``.
        build: ``(config, data, trunk) -> model``.
        doc: one line: what it is.
        keys: the config keys it owns, dotted (``"model.layers"``), each a schema entry; a
            :class:`~invlearn.training.schema.Structured` key is refused in the config of a family that does not
            own it.
        check: ``(model section, data set name) -> None``: checks (and normalises in place) its structured keys;
            raises :class:`~invlearn.training.schema.ConfigError` naming the key.
        learns: whether it has an augmentation to learn (else it trains on the plain loss, whatever
            ``model.objective`` says).
        objectives: the objectives it trains under (``None``: every objective whose own
            :attr:`~invlearn.objectives.Objective.families` allow it).
        modalities: the kinds of input it augments (``None``: all).
        moves_targets: whether it works where targets move with the input (a segmentation).
        example: ``model`` keys that make a small working instance on data of its first modality (images where
            it takes any), for the contract tests.
    """

    name: str
    build: Builder
    doc: str
    keys: Mapping[str, Field | Structured] = field(default_factory=dict)
    check: Callable[[dict, str], None] | None = None
    learns: bool = True
    objectives: tuple[str, ...] | None = None
    modalities: tuple[str, ...] | None = None
    moves_targets: bool = True
    example: Mapping[str, Any] = field(default_factory=dict)

    def accepts(self, objective: str) -> bool:
        """Whether it trains under the registered objective ``objective``."""
        if not self.learns:
            return objective == "reward"
        allowed_here = self.objectives is None or objective in self.objectives
        families = OBJECTIVES[objective].families
        return allowed_here and (families is None or self.name in families)


def create_augmentation(entry: Mapping, sfreq: float | None) -> augmentations.Augmentation:
    """The augmentation a config entry ``{name: ..., **arguments}`` names, with the sampling frequency ``sfreq``
    where the augmentation needs one and the entry does not give it."""
    kwargs = {k: v for k, v in entry.items() if k != "name"}
    if augmentations.get(entry["name"]).needs_sfreq:
        kwargs.setdefault("sfreq", sfreq)
    return augmentations.create(entry["name"], **kwargs)


def _check_augmentation(entry: Any, path: str, data_name: str) -> dict:
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise ConfigError(f"{path}: must be a mapping with a 'name' key, got {shown(entry)}")
    name = entry["name"]
    if name not in augmentations.available():
        raise ConfigError(f"{path}.name: unknown augmentation {shown(name)}")
    modality = DATA_SETS[data_name].modality
    cls = augmentations.get(name)
    if cls.modality != modality:
        article = "an" if cls.modality == "image" else "a"
        holds = {"image": "images", "signal": "signals", "points": "point sets"}[modality]
        raise ConfigError(
            f"{path}.name: {shown(name)} is {article} {cls.modality} augmentation; {data_name} holds {holds}"
        )
    try:
        create_augmentation(entry, DATA_SETS[data_name].sfreq)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: {error}") from None
    return dict(entry)


def check_augmentation_list(entries: Any, path: str, data_name: str) -> list[dict]:
    """A non-empty list of augmentation entries of the data's modality, each buildable, no name twice."""
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: must be a non-empty list of augmentations")
    checked = [_check_augmentation(a, f"{path}.{j}", data_name) for j, a in enumerate(entries)]
    names = [entry["name"] for entry in checked]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"{path}: repeats {shown(repeated[0])}; each augmentation appears once")
    return checked


def _copies(spec: dict) -> dict:
    return {"n_copies_train": spec["n_copies_train"], "n_copies_eval": spec["n_copies_eval"]}


def _outputs(data) -> dict:
    """How the copies' outputs are averaged for the data's kind of task, and whether they move with the input."""
    return {"aggregate": LIKELIHOODS[data.task].aggregate, "equivariant": data.task in EQUIVARIANT_TASKS}


def _layers(spec: dict, data) -> list[AugmentationLayer]:
    return [
        AugmentationLayer(
            [create_augmentation(entry, data.sfreq) for entry in layer],
            temperature=spec["temperature"],
            eval_sampling=spec["eval_sampling"],
        )
        for layer in spec["layers"]
    ]


def _ops(config: dict, data) -> list[augmentations.Augmentation]:
    return [create_augmentation(entry, data.sfreq) for entry in config["model"]["candidates"]]


def _none(config: dict, data, trunk: nn.Module) -> InvariantModel:
    """The bare trunk: no augmentation, one copy, raw outputs (so its logits reach the loss unchanged)."""
    identity = augmentations.Identity(data.modality)
    return InvariantModel(trunk, identity, n_copies_train=1, n_copies_eval=1, aggregate="mean")


def _fixed(config: dict, data, trunk: nn.Module) -> InvariantModel:
    """AugNet's machinery with every augmentation parameter frozen: the given ranges are applied in training
    and averaged over copies at test time, and nothing about them is learned (an oracle)."""
    aggregate = LIKELIHOODS[data.task].aggregate
    model = AugNet(trunk, _layers(config["model"], data), aggregate=aggregate, **_copies(config["model"]))
    model.augmentation.requires_grad_(False)
    return model


def _augnet(config: dict, data, trunk: nn.Module) -> InvariantModel:
    spec = config["model"]
    aggregate = LIKELIHOODS[data.task].aggregate
    return AugNet(trunk, _layers(spec, data), penalty=config["loss"]["penalty"], aggregate=aggregate, **_copies(spec))


def _augerino(config: dict, data, trunk: nn.Module) -> InvariantModel:
    spec = config["model"]
    distribution = UniformLieAffine(init_width=spec["init_width"], generators=spec["generators"])
    caps = {"width_cap": spec["width_cap"], "safe_limit": spec["safe_limit"]}
    return Augerino(trunk, distribution, **caps, **_copies(spec), **_outputs(data))


def _independent(config: dict, data, trunk: nn.Module) -> InvariantModel:
    candidates = IndependentCandidates(_ops(config, data))
    return Independent(trunk, candidates, **_copies(config["model"]), **_outputs(data))


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

#: Per ``model.policy.name`` (family ``policy``; ``dada`` for family ``dada``): the settings it takes.
POLICY_SCHEMAS: dict[str, dict[str, Any]] = {
    "randaugment": {
        "n_ops": Field(INT, 2, at_least_one, doc="N, the ops drawn for each example"),
        "magnitude": Field(REAL, 0.5, unit_interval, doc="M, every op's magnitude (fraction of its range)"),
    },
    "trivialaugment": {},
    "sequence": {},
    "sub_policies": {
        "sub_policies": Structured("a list of sub-policies, each a list of op names from model.candidates"),
        "probabilities": Structured("each op's apply-probability: a number, or a table shaped like sub_policies"),
        "magnitudes": Structured("each op's magnitude in [0, 1]: a number, or a table shaped like sub_policies"),
    },
    "dada": {
        "temperature": Field(REAL, 0.5, positive, doc="the Gumbel-softmax temperature of the sub-policy draw"),
        "sharpness": Field(REAL, 20.0, positive, doc="the slope of the relaxed apply-mask of each op"),
        "top": Field(INT, 25, at_least_one, doc="the sub-policies kept, by weight, for the final training"),
    },
}


def _training_only(trunk: nn.Module, policy: augmentations.RandomTransform, data) -> InvariantModel:
    """``trunk`` behind ``policy`` applied to the training batches only
    (:class:`~invlearn.families.policies.TrainingOnly`); the test set is seen as it is, once."""
    return InvariantModel(trunk, TrainingOnly(policy), n_copies_train=1, n_copies_eval=1, **_outputs(data))


def _policy(config: dict, data, trunk: nn.Module) -> InvariantModel:
    """A policy of :data:`POLICIES`, in training only."""
    spec = config["model"]["policy"]
    return _training_only(trunk, POLICIES[spec["name"]](spec, _ops(config, data)), data)


def _dada(config: dict, data, trunk: nn.Module) -> InvariantModel:
    """DADA's search: the relaxed policy over the ops' pairs, in training only."""
    spec = config["model"]["policy"]
    policy = DADAPolicy(_ops(config, data), temperature=spec["temperature"], sharpness=spec["sharpness"])
    return _training_only(trunk, policy, data)


def _check_layers(model: dict, data_name: str) -> None:
    layers = model["layers"]
    if not isinstance(layers, list) or not layers:
        raise ConfigError(f"model.layers: method {shown(model['method'])} needs a non-empty list of layers")
    model["layers"] = [check_augmentation_list(layer, f"model.layers.{i}", data_name) for i, layer in enumerate(layers)]


def _check_candidates(model: dict, data_name: str) -> None:
    model["candidates"] = check_augmentation_list(model["candidates"], "model.candidates", data_name)


def _check_policy(model: dict, data_name: str) -> None:
    """``model.policy`` and the ops in ``model.candidates`` of families ``policy`` and ``dada``, checked by building
    the policy (a refused entry names its key)."""
    method, spec = model["method"], model["policy"]
    names = sorted(name for name in POLICY_SCHEMAS if name != "dada") if method == "policy" else ["dada"]
    if method == "dada" and (spec is None or isinstance(spec, Mapping)):  # its settings, all with defaults
        spec = {"name": "dada", **(spec or {})}
    if not isinstance(spec, Mapping) or spec.get("name") not in names:
        raise ConfigError(
            f"model.policy: method {shown(method)} needs a mapping with 'name' in {names}, got {shown(spec)}"
        )
    rest = {key: value for key, value in spec.items() if key != "name"}
    model["policy"] = {"name": spec["name"], **check_section(POLICY_SCHEMAS[spec["name"]], rest, "model.policy")}
    for key in ("probabilities", "magnitudes"):  # a sub-policies' tables: 0.5 each where not given
        if key in model["policy"] and model["policy"][key] is None:
            model["policy"][key] = 0.5
    _check_candidates(model, data_name)
    if method == "dada":
        return
    ops = [create_augmentation(entry, DATA_SETS[data_name].sfreq) for entry in model["candidates"]]
    try:
        POLICIES[spec["name"]](model["policy"], ops)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"model.policy: {error}") from None


LAYERS = Structured("augnet, fixed: a list of layers, each a list of {name: augmentation, **arguments}")
CANDIDATES = Structured(
    "independent: a list of {name: augmentation, **arguments}, each with its own range; policy, dada: the ops the "
    "policy draws from"
)
POLICY = Structured(
    "policy: {name: randaugment, trivialaugment, sequence or sub_policies, **settings}; dada: {temperature, "
    "sharpness, top}"
)
#: AugNet's layer settings, shared by the learned layers and their frozen oracle.
AUGNET_LAYERS = {
    "model.layers": LAYERS,
    "model.temperature": Field(REAL, 0.01, positive, doc="augnet: the softmax temperature of a layer's weights"),
    "model.eval_sampling": Field(
        STR,
        "per_example",
        one_of("per_example", "per_batch"),
        doc="augnet: one candidate drawn per example in evaluation, or one per batch (the reference code)",
    ),
}
IMAGE_OPS = [{"name": "rotate", "magnitude": 0.1}, {"name": "translate_x", "magnitude": 0.1}]

#: ``model.method`` -> its family.
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("none", _none, "the bare trunk, no augmentation", learns=False),
        Family(
            "fixed",
            _fixed,
            "AugNet's layers frozen at the given ranges (an oracle); nothing is learned",
            AUGNET_LAYERS,
            _check_layers,
            learns=False,
            moves_targets=False,
            example={"layers": [IMAGE_OPS]},
        ),
        Family(
            "augnet",
            _augnet,
            "AugNet's stacked layers of softmax-weighted candidates with learnable magnitudes (Rommel et al., 2022)",
            {
                **AUGNET_LAYERS,
                "loss.penalty": Field(
                    STR,
                    "magnitude_weight",
                    one_of("magnitude_weight", "magnitude"),
                    doc="augnet's reward: ||mu (.) omega|| (published) or ||mu|| (ablation)",
                ),
            },
            _check_layers,
            moves_targets=False,
            example={"layers": [IMAGE_OPS]},
        ),
        Family(
            "augerino",
            _augerino,
            "Augerino's uniform distribution over the affine Lie algebra with learnable widths (Benton et al., 2020)",
            {
                "model.init_width": Field(
                    REAL, math.log(2.0), positive, doc="augerino: every generator's initial width"
                ),
                "model.width_cap": Field(
                    REAL, None, positive, nullable=True, doc="augerino: no reward for a width past this cap"
                ),
                "model.safe_limit": Field(
                    REAL,
                    None,
                    positive,
                    nullable=True,
                    doc="augerino: the reference's safe variant, no reward while a width is at or past this (10 there)",
                ),
            },
            modalities=("image",),
        ),
        Family(
            "independent",
            _independent,
            "independent candidates, each with its own learnable range",
            {"model.candidates": CANDIDATES},
            _check_candidates,
            example={"candidates": IMAGE_OPS},
        ),
        Family(
            "policy",
            _policy,
            "a fixed policy (RandAugment, TrivialAugment, a sequence, sub-policies) in training only",
            {"model.candidates": CANDIDATES, "model.policy": POLICY},
            _check_policy,
            learns=False,
            example={"candidates": IMAGE_OPS, "policy": {"name": "trivialaugment"}},
        ),
        Family(
            "dada",
            _dada,
            "DADA's relaxed search over sub-policies of op pairs, in training only (Li et al., 2020)",
            {"model.candidates": CANDIDATES, "model.policy": POLICY},
            _check_policy,
            objectives=("unrolled",),
            example={"candidates": IMAGE_OPS},
        ),
    )
}


def _listed(names: list[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``."""
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def check_family_keys(model: dict, data_name: str) -> None:
    """Check ``model`` (a config's ``model`` section, its scalar keys already checked) against its family: the kind
    of data, the family's own structured keys (normalised in place), no structured key of another family, the task
    and the objective (``model.objective``)."""
    family, objective = FAMILIES[model["method"]], model["objective"]
    facts = DATA_SETS[data_name]
    if family.modalities is not None and facts.modality not in family.modalities:
        works = " or ".join(f"{m}s" for m in family.modalities)
        raise ConfigError(f"model.method: {family.name} augments {works}; {data_name} holds {facts.modality}s")
    for key in structured_keys():
        owners = [other.name for other in FAMILIES.values() if key in other.keys]
        if key not in family.keys and model[key.split(".")[1]] is not None:
            raise ConfigError(f"{key}: only used by methods {_listed(owners)}, not {family.name!r}")
    if family.check is not None:
        family.check(model, data_name)
    if not family.accepts(objective):
        if not family.learns:
            raise ConfigError(f"model.objective: {objective} learns an augmentation; method {family.name!r} has none")
        if family.objectives is not None and objective not in family.objectives:
            raise ConfigError(f"model.objective: method {family.name!r} trains under {_listed(family.objectives)} only")
        trains = _listed(OBJECTIVES[objective].families)
        raise ConfigError(f"model.objective: {objective} trains methods {trains} only, not {family.name!r}")
    if facts.task in EQUIVARIANT_TASKS and not family.moves_targets:
        movers = ", ".join(f.name for f in FAMILIES.values() if f.moves_targets)
        raise ConfigError(
            f"model.method: {data_name}'s targets move with the input ({facts.task}); {family.name} mixes "
            f"warps per example, with no single warp to move them by (use {movers})"
        )


def structured_keys() -> list[str]:
    """The families' structured ``model`` keys (a list or mapping that only the families owning it take)."""
    keys = {key: None for f in FAMILIES.values() for key, spec in f.keys.items() if isinstance(spec, Structured)}
    return list(keys)


def family_keys() -> dict[str, Field | Structured]:
    """Every key any family owns, dotted, once (a key shared by families is one schema entry)."""
    out: dict[str, Field | Structured] = {}
    for family in FAMILIES.values():
        for key, spec in family.keys.items():
            if out.setdefault(key, spec) != spec:
                raise TypeError(f"{key}: families {family.name!r} and another declare it differently")
    return out
