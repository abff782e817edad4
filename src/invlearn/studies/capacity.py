"""The capacity study of the AugNet paper: several trunk sizes x {no augmentation, an oracle augmentation,
AugNet scored with several numbers of test-time copies} x several seeds, each run scored for test accuracy and
for its median invariance to the true transformation, beside the published numbers.

A study file (YAML) names a base run config and the grid::

    study: sinusoids-capacity
    base: sinusoids-augnet.yaml        # relative to the study file; its layer is AugNet's
    trunk: mlp
    sizes: [[1, 1], [2, 1], [2, 2], [2, 3]]   # (width, depth)
    seeds: [0, 1, 2]
    eval_copies: [1, 4, 10]            # AugNet is trained once per size and seed, scored with each C
    oracle: {name: frequency_shift, magnitude: 0.25, scale: 2.0}
    invariance: {name: frequency_shift, magnitude: 0.25, scale: 2.0}
    published: {...}                   # optional: {method: {"width,depth": [invariance, accuracy]}}
    methods:                           # optional: more learners beside AugNet, each scored like it
      heldout: {set: [model.method=independent, model.objective=heldout, ...]}

``invlearn study FILE --out DIR`` writes every run under ``DIR/<width>x<depth>/<method>/seed<k>``, then
``DIR/study.json`` and ``DIR/study.md`` (medians over seeds).
"""

from __future__ import annotations

import copy
import math
import statistics
from pathlib import Path
from typing import Any

import torch

from invlearn._validation import shown
from invlearn.studies import grid
from invlearn.training import config as configs
from invlearn.training import evaluation, seeds
from invlearn.training.config import ConfigError
from invlearn.training.run import load_trained, train
from invlearn.training.rundir import METRICS, write_atomic, write_json

STUDY_KEYS = {
    "study", "base", "trunk", "sizes", "seeds", "eval_copies", "oracle", "invariance", "published", "set", "methods",
}  # fmt: skip
#: The runs every capacity study trains; ``methods`` adds learners beside them.
BUILT_IN = ("none", "oracle", "augnet")


def load(path: str | Path, spec: dict) -> dict:
    """Check a capacity study read from ``path``; the base config is resolved (with the study's ``set``
    overrides)."""
    path = Path(path)
    spec.pop("kind", None)
    unknown = sorted(set(spec) - STUDY_KEYS)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key (known: {sorted(STUDY_KEYS)})")
    for key in ("study", "base", "trunk", "sizes", "seeds", "eval_copies", "oracle", "invariance"):
        if key not in spec:
            raise ConfigError(f"{key}: missing")
    sizes = spec["sizes"]
    if not isinstance(sizes, list) or not sizes or not all(_is_size(s) for s in sizes):
        raise ConfigError(f"sizes: must be a non-empty list of [width, depth] positive integers, got {shown(sizes)}")
    grid.check_distinct(sizes, "sizes")
    for key in ("seeds", "eval_copies"):
        values = spec[key]
        if not isinstance(values, list) or not values or not all(_is_count(v) for v in values):
            raise ConfigError(
                f"{key}: must be a non-empty list of integers in [0, {seeds.MAX_SEED}], got {shown(values)}"
            )
        grid.check_distinct(values, key)
    if 0 in spec["eval_copies"]:
        raise ConfigError("eval_copies: every number of copies must be >= 1")
    spec["base_config"] = configs.load(path.parent / spec["base"], spec.get("set", []))
    if spec["base_config"]["model"]["method"] != "augnet":
        raise ConfigError(f"base: must be an AugNet config, got method {shown(spec['base_config']['model']['method'])}")
    for key in ("oracle", "invariance"):
        _check_transform(spec[key], key, spec["base_config"])
    spec["method_configs"] = _method_configs(path, spec)
    return spec


def _method_configs(path: Path, spec: dict) -> dict[str, dict]:
    """The base config of each learner of ``methods``: the study's base with the study's and the method's
    overrides, checked."""
    methods = spec.get("methods") or {}
    if not isinstance(methods, dict):
        raise ConfigError(f"methods: must be a mapping of name -> {{set: [overrides]}}, got {shown(methods)}")
    resolved = {}
    for name, entry in methods.items():
        if name in BUILT_IN or configs.check_name(name):
            raise ConfigError(f"methods.{name}: must be a plain folder name other than {list(BUILT_IN)}")
        if not isinstance(entry, dict) or set(entry) != {"set"}:
            raise ConfigError(f"methods.{name}: must be a mapping with one key, 'set' (a list of overrides)")
        overrides = grid.overrides(entry["set"], f"methods.{name}.set")
        resolved[name] = configs.load(path.parent / spec["base"], [*spec.get("set", []), *overrides])
    return resolved


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= seeds.MAX_SEED


def _is_size(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and v >= 1 for v in value)


def _check_transform(entry: Any, key: str, base: dict) -> None:
    probe = copy.deepcopy(base)
    probe["model"]["layers"] = [[entry]]
    try:
        configs.validate(probe)
    except ConfigError as error:
        raise ConfigError(f"{key}: {error}") from None


def run_configs(spec: dict) -> dict[tuple[str, str, int], dict]:
    """``{(size label, method, seed): run config}`` for the trained runs (``none``, ``oracle``, ``augnet`` and
    the study's ``methods``)."""
    runs = {}
    for width, depth in spec["sizes"]:
        for seed in spec["seeds"]:
            base = copy.deepcopy(spec["base_config"])
            base["seed"] = seed
            base["model"]["trunk"] = {"name": spec["trunk"], "width": width, "depth": depth}
            label = f"{width}x{depth}"
            none = copy.deepcopy(base)
            none["model"].update(method="none", layers=None)
            none["loss"]["lam"] = 0.0
            oracle = copy.deepcopy(base)
            oracle["model"].update(method="fixed", layers=[[dict(spec["oracle"])]])
            oracle["loss"]["lam"] = 0.0
            learners = {}
            for name, method_config in spec["method_configs"].items():
                learners[name] = copy.deepcopy(method_config)
                learners[name]["seed"] = seed
                learners[name]["model"]["trunk"] = dict(base["model"]["trunk"])
            for method, run in {"none": none, "oracle": oracle, "augnet": base, **learners}.items():
                run["experiment"] = f"{spec['study']}-{label}-{method}"
                runs[(label, method, seed)] = configs.validate(run)
    return runs


def score(run_dir: Path, transform_entry: dict, n_copies: int | None = None) -> tuple[float, float]:
    """``(median invariance score, test accuracy)`` of a finished run on its test set, with ``n_copies``
    test-time copies where the model averages copies."""
    config, data, model, _ = load_trained(run_dir, n_copies)
    generator = torch.Generator().manual_seed(config["seed"] + seeds.SCORING)
    invariance = evaluation.median_invariance(model, data, transform_entry, generator)
    # the whole test set as one batch, drawing its copies from the generator the scores used
    results = evaluation.evaluate(
        model, data.test.inputs, data.test.labels, evaluation.Accuracy(data.n_classes), len(data.test.labels), generator
    )
    return invariance, results["test_accuracy"]


def run(spec: dict, out: str | Path, jobs: int = 1, table_only: bool = False) -> dict:
    """Train every run of the grid (a finished run directory is reused) and score them, one run at a time;
    returns and writes ``study.json`` (per run and medians over seeds) and ``study.md``. With ``table_only``,
    score only the runs already finished."""
    if jobs != 1:
        raise ConfigError("--jobs: a capacity study runs one run at a time (--jobs is for identification studies)")
    out = Path(out)
    rows = []
    for (label, method, seed), run_config in run_configs(spec).items():
        run_dir = out / label / method / f"seed{seed}"
        if not (run_dir / METRICS).is_file():
            if table_only:
                continue
            run_config["trainer"]["progress_bar"] = False
            train(run_config, run_dir)
        learned = method not in ("none", "oracle")
        for copies in spec["eval_copies"] if learned else [None]:
            invariance, accuracy = score(run_dir, spec["invariance"], copies)
            name = f"{method} C={copies}" if learned else method
            rows.append({"size": label, "method": name, "seed": seed, "invariance": invariance, "accuracy": accuracy})
    if not rows:
        raise grid.no_finished_run(out)
    medians = {}
    for row in rows:
        medians.setdefault(row["method"], {}).setdefault(row["size"], []).append(row)
    table = {
        method: {
            size: {
                "invariance": _median([r["invariance"] for r in group]),
                "accuracy": statistics.median(r["accuracy"] for r in group),
            }
            for size, group in sizes.items()
        }
        for method, sizes in medians.items()
    }
    result = {"study": spec["study"], "runs": rows, "medians": table, "published": spec.get("published", {})}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "study.json", result)
    markdown = study_markdown(result, spec)
    write_atomic(out / "study.md", lambda temporary: temporary.write_text(markdown, encoding="utf-8"))
    return result


def _median(values: list[float]) -> float:
    """Median of the defined (non-NaN) values; NaN if none is."""
    defined = [v for v in values if not math.isnan(v)]
    return statistics.median(defined) if defined else math.nan


def study_markdown(result: dict, spec: dict) -> str:
    """One table: per method and size, our median invariance / accuracy beside the published pair."""
    sizes = [f"{w}x{d}" for w, d in spec["sizes"]]
    lines = [
        f"# Study: {result['study']}",
        "",
        f"Medians over seeds {spec['seeds']}; invariance to {spec['invariance']['name']} at magnitude "
        f"{spec['invariance'].get('magnitude')} (AugNet's score, 1 = invariant). Cells: ours (published).",
        "",
        "| method | " + " | ".join(f"{s} invariance | {s} accuracy" for s in sizes) + " |",
        "|---|" + "---|---|" * len(sizes),
    ]
    for method, by_size in result["medians"].items():
        published = result["published"].get(method.split(" ")[0], {})
        cells = []
        for size in sizes:
            ours = by_size[size]
            theirs = published.get(size.replace("x", ","))
            for i, key in enumerate(("invariance", "accuracy")):
                cells.append(f"{ours[key]:.3f}" + (f" ({theirs[i]})" if theirs else ""))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
