"""The identification study: does a learner find each task's known invariance, in every seed?

A study file (YAML, ``kind: identification``) names tasks, methods and seeds::

    study: identification-quick
    kind: identification
    seeds: [0, 1]
    set: [trainer.progress_bar=false]        # optional: overrides for every run
    tasks:                                   # name -> a base config (relative to the study file) + overrides
      sinusoids: {base: sinusoids-augnet.yaml, set: [data.n_train=96], seeds: [0, 1, 2]}   # seeds: its own
      fmnist-rotated: {base: fmnist-rotated-augnet.yaml, plain: fmnist}   # plain: its untransformed task
      segments: {base: segments.yaml, methods: [none, marglik]}   # methods: only these (default: all)
      angles: {base: angles.yaml, slope: {name: rotate, value: 0.2}}   # slope: the model's response, tabled
    methods:                                 # name -> overrides of every task's base config
      none: {set: [model.method=none, model.layers=null, loss.lam=0.0]}
      augerino: {set: [model.method=augerino, model.layers=null], modality: image}   # images only
      marglik: {set: {image: [...], signal: [...]}}   # overrides per modality (a task of another: skipped)
      oracle: {oracle: true}                 # the task's true transformation at its true range, fixed

``invlearn study FILE --out DIR [--jobs N]`` trains every (task, method, seed) under ``DIR/<task>/<method>/seed<k>``
(a finished run is reused, a killed one resumed; ``N`` runs at a time, each in its own process with ``cores / N``
threads), then writes ``DIR/study.json`` (one row per run and one summary per
task and method), ``DIR/study.md`` and, with matplotlib, ``DIR/recovered.png`` (tasks x methods, the fraction of
seeds that recovered the truth). Each run's verdict is its ``metrics.json``'s ``final.identification``
(:mod:`invlearn.metrics.identification`). An ``oracle: true`` method trains, on every task whose data know their
transformation (and whose targets do not move with it), that transformation at its true range, fixed (family
``fixed``, one layer per part of the truth); each run is then judged against the oracle's test score and no
augmentation's (method ``none``) of the same task and seed: *as good as the oracle* within :data:`ORACLE_POINTS`
(a relative :data:`ORACLE_RELATIVE` for an error), and a range wider than the truth that is as good as the oracle
is *wider, harmless* rather than missed.
"""

from __future__ import annotations

import copy
import json
import math
import statistics
from pathlib import Path

import torch

from invlearn import augmentations
from invlearn._validation import shown
from invlearn.data import registry
from invlearn.metrics import identification
from invlearn.studies import grid
from invlearn.training import config as configs
from invlearn.training import evaluation, rundir, seeds
from invlearn.training.config import ConfigError
from invlearn.training.run import load_trained
from invlearn.training.tasks import EQUIVARIANT_TASKS

KEYS = {"study", "kind", "seeds", "set", "tasks", "methods"}
TASK_KEYS = {"base", "set", "plain", "seeds", "built_in", "methods", "slope"}
#: Where the trunk has a task's transformation built in (``built_in: true``), a run also counts as recovered when
#: its trained model's median invariance score to the transformation at its true range reaches this.
BUILT_IN_INVARIANCE = 0.9
#: "As good as the oracle": a test score (accuracy, balanced accuracy, mean IoU) at least the oracle's minus this.
ORACLE_POINTS = 0.01
#: ... or an error (MAE) at most the oracle's times ``1 +`` this.
ORACLE_RELATIVE = 0.02
#: Scores where lower is better.
ERRORS = ("test_mae",)


def load(path: str | Path, spec: dict) -> dict:
    """Check an identification study read from ``path`` and resolve every run's config (so a bad grid fails
    before anything trains); returns the spec with ``runs``: ``{(task, method, seed): config}``."""
    path = Path(path)
    grid.check_keys(spec, KEYS, ("tasks", "methods", "seeds"))
    grid.seed_list(spec["seeds"], "seeds")
    common = grid.overrides(spec.get("set"), "set")
    for section in ("tasks", "methods"):
        if not isinstance(spec[section], dict):
            raise ConfigError(f"{section}: must be a mapping of names to settings")
        for name in spec[section]:
            problem = configs.check_name(name)
            if problem:
                raise ConfigError(f"{section}.{name}: {problem}")
    runs = {}
    for task, task_spec in spec["tasks"].items():
        if not isinstance(task_spec, dict) or "base" not in task_spec or set(task_spec) - TASK_KEYS:
            raise ConfigError(
                f"tasks.{task}: must be a mapping with a 'base' config and optionally {sorted(TASK_KEYS - {'base'})}"
            )
        task_seeds = (
            grid.seed_list(task_spec["seeds"], f"tasks.{task}.seeds") if "seeds" in task_spec else spec["seeds"]
        )
        if not isinstance(task_spec.get("built_in", False), bool):
            raise ConfigError(f"tasks.{task}.built_in: must be true or false, got {shown(task_spec['built_in'])}")
        applies = task_spec.get("methods", list(spec["methods"]))
        if not isinstance(applies, list) or not applies or not set(applies) <= set(spec["methods"]):
            raise ConfigError(
                f"tasks.{task}.methods: must be a non-empty list of the study's methods {list(spec['methods'])}, "
                f"got {shown(applies)}"
            )
        grid.check_distinct(applies, f"tasks.{task}.methods")
        plain = task_spec.get("plain")
        if plain is not None and (plain not in spec["tasks"] or plain == task):
            raise ConfigError(f"tasks.{task}.plain: {shown(plain)} is not another task of this study")
        base = path.parent / task_spec["base"]
        task_sets = grid.overrides(task_spec.get("set"), f"tasks.{task}.set")
        try:
            data = configs.load(base, task_sets + common)["data"]
            modality = registry.get(data["name"]).modality
        except ConfigError as error:
            raise ConfigError(f"tasks.{task}: {error}") from None
        slope = task_spec.get("slope")
        if slope is not None and not (
            isinstance(slope, dict)
            and set(slope) == {"name", "value"}
            and isinstance(slope["value"], (int, float))
            and not isinstance(slope["value"], bool)
            and slope["value"] > 0
            and slope["name"] in augmentations.available(modality)
        ):
            raise ConfigError(
                f"tasks.{task}.slope: must be {{name: {'an' if modality == 'image' else 'a'} {modality} augmentation, "
                f"value: number > 0}}, got {shown(slope)}"
            )
        for method, method_spec in spec["methods"].items():
            method_spec = method_spec or {}
            if not isinstance(method_spec, dict) or set(method_spec) - {"set", "modality", "oracle"}:
                raise ConfigError(
                    f"methods.{method}: must be a mapping with 'set' and optionally 'modality' and 'oracle'"
                )
            if not isinstance(method_spec.get("oracle", False), bool):
                raise ConfigError(f"methods.{method}.oracle: must be true or false, got {shown(method_spec['oracle'])}")
            if method_spec.get("modality") not in (None, modality) or method not in applies:
                continue  # this method does not apply to this task's data
            oracle = _oracle_sets(data) if method_spec.get("oracle") else []
            if oracle is None:
                continue  # nothing to apply: no known transformation, or one the targets move with
            method_sets = method_spec.get("set")
            if isinstance(method_sets, dict):  # one list of overrides per modality
                if modality not in method_sets:
                    continue
                method_sets = method_sets[modality]
            sets = task_sets + grid.overrides(method_sets, f"methods.{method}.set") + oracle
            try:
                resolved = configs.load(base, [*sets, *common, f"experiment={spec['study']}-{task}-{method}"])
                for seed in task_seeds:  # the file is read once; each seed's config is validated on its own
                    runs[(task, method, seed)] = configs.validate({**copy.deepcopy(resolved), "seed": seed})
            except ConfigError as error:
                raise ConfigError(f"tasks.{task} x methods.{method}: {error}") from None
        if not any(key[0] == task for key in runs):
            raise ConfigError(f"tasks.{task}: none of its methods {applies} applies to its {modality} data")
    return {**spec, "runs": runs}


def _oracle_sets(data: dict) -> list[str] | None:
    """The overrides that make the oracle of a task whose resolved config's ``data`` section is ``data``: its known
    transformation at its true range, fixed (one AugNet layer per part of it, so a shift's x and y both apply);
    ``None`` where the data know none, the truth is no invariance, or the targets move with the input."""
    facts = registry.get(data["name"])
    truth = registry.truth(data["name"], data["transform"], data["transform_range"])
    if truth is None or truth.half_range == 0 or facts.task in EQUIVARIANT_TASKS:
        return None
    layers = [[{"name": name, "magnitude": 1.0, "scale": truth.half_range}] for name in truth.names]
    return [
        "model.method=fixed",
        "model.objective=reward",
        "model.candidates=null",
        "model.policy=null",
        f"model.layers={json.dumps(layers)}",
    ]


def select(spec: dict, tasks: list[str] | None = None, methods: list[str] | None = None) -> dict:
    """The part of a loaded study with only the named tasks (and the untransformed tasks they are compared
    with) and methods; ``None`` keeps all. Its runs train into the same directories as the whole study's, so a
    long study can be trained part by part and then tabulated whole (finished runs are reused)."""
    for section, names in (("tasks", tasks), ("methods", methods)):
        unknown = sorted(set(names or ()) - set(spec[section]))
        if unknown:
            raise ConfigError(
                f"--{section}: {shown(unknown[0])} is not one of the study's {section} ({sorted(spec[section])})"
            )
    kept_tasks = set(tasks or spec["tasks"])
    kept_tasks |= {spec["tasks"][task]["plain"] for task in kept_tasks if spec["tasks"][task].get("plain")}
    kept_methods = set(methods or spec["methods"])
    return {
        **spec,
        "tasks": {name: task for name, task in spec["tasks"].items() if name in kept_tasks},
        "runs": {key: run for key, run in spec["runs"].items() if key[0] in kept_tasks and key[1] in kept_methods},
    }


def _row(task: str, method: str, seed: int, metrics: dict) -> dict:
    final = metrics["final"]
    found = final.get("identification") or {}
    truth = found.get("truth")
    effective = found.get("effective_ranges", {})
    learned = learned_range = None
    if truth:
        learned_range = min(effective.get(name, 0.0) for name in truth["names"])
        learned = learned_range / truth["half_range"] if truth["half_range"] > 0 else None
    score, value = evaluation.headline(final)
    return {
        "task": task,
        "method": method,
        "seed": seed,
        "recovered": found.get("recovered"),
        "selected": _selected(final["learned_invariances"], truth),
        "rule": "range" if found.get("recovered") else None,
        "invariance": None,
        "learned_over_true": learned,
        "learned_range": learned_range,  # in the truth's unit (what a truth of "none" is judged on)
        "effective_ranges": effective,
        "learned_invariances": final["learned_invariances"],
        "truth": truth,
        "score": score,
        "test_score": value,
        "seconds": metrics["wall_time_s"],  # building the data and the model, training, evaluation
        "hyper_seconds": final.get("hyper_seconds", 0.0),  # of which the objective's hyper-steps
    }


def _selected(learned: dict, truth: dict | None) -> bool | None:
    """The run's "selected" verdict (:func:`invlearn.metrics.identification.selected`), from its learned ranges."""
    if not truth:
        return None
    return identification.selected(learned, _truth(truth))


def _truth(entry: dict) -> identification.Truth:
    """The :class:`~invlearn.metrics.identification.Truth` of a row's ``truth`` entry (from ``metrics.json``)."""
    return identification.Truth(tuple(entry["names"]), entry["half_range"], entry["unit"])


def invariance_at_truth(run_dir: Path, truth: dict) -> float:
    """The trained model's median invariance score (:func:`invlearn.metrics.invariance_score`, on its test set,
    with its test-time copies) to the task's transformation uniform over its true range; the least over the
    transformation's parts (x and y for a shift)."""
    config, data, model, _ = load_trained(run_dir)
    return min(
        evaluation.median_invariance(
            model,
            data,
            {"name": name, "magnitude": 1.0, "scale": truth["half_range"]},
            torch.Generator().manual_seed(config["seed"] + seeds.SCORING),
        )
        for name in truth["names"]
    )


def response_slope_of(run_dir: Path, slope: dict) -> float:
    """The trained model's response slope (:func:`invlearn.training.evaluation.response_slope`) to the task's
    ``slope`` transformation ``{name, value}``, on its test set with its test-time copies."""
    config, data, model, _ = load_trained(run_dir)
    return evaluation.response_slope(model, data, slope["name"], slope["value"], config["seed"] + seeds.SCORING)


def _judge_built_in(row: dict, run_dir: Path) -> None:
    """A task whose trunk has its transformation built in: the run also counts as recovered when its model's
    invariance at the truth reaches :data:`BUILT_IN_INVARIANCE` (``row["rule"]`` says which rule held)."""
    row["invariance"] = invariance_at_truth(run_dir, row["truth"])
    if not row["recovered"] and row["invariance"] >= BUILT_IN_INVARIANCE:
        row["recovered"], row["rule"] = True, "invariance"


def _spurious(rows: list[dict], spec: dict) -> None:
    """Give each row of a task with a ``plain`` counterpart its largest spurious ratio (same method and seed)."""
    by_key = {(r["task"], r["method"], r["seed"]): r for r in rows}
    for row in rows:
        plain = spec["tasks"][row["task"]].get("plain")
        other = by_key.get((plain, row["method"], row["seed"])) if plain else None
        if other is None or row["truth"] is None:
            row["spurious"] = None
            continue
        ratios = identification.spurious_ratios(
            row["learned_invariances"], other["learned_invariances"], _truth(row["truth"])
        )
        row["spurious"] = max(ratios.values(), default=1.0)


def _as_good(score: str, value: float | None, reference: float | None) -> bool | None:
    """Whether a test score ``value`` is as good as ``reference`` (:data:`ORACLE_POINTS`, :data:`ORACLE_RELATIVE`)."""
    if value is None or reference is None:
        return None
    if score in ERRORS:
        return value <= reference * (1 + ORACLE_RELATIVE)
    return value >= reference - ORACLE_POINTS


def _against_baselines(rows: list[dict], oracle: str | None) -> None:
    """Give each row the test scores of the oracle (method ``oracle``) and of no augmentation (``none``) on its task
    and seed, whether it is as good as the oracle, and its verdict: ``recovered``, ``wider, harmless`` (a range
    wider than the truth that is as good as the oracle) or ``missed`` (``None`` without a truth)."""
    by_key = {(r["task"], r["method"], r["seed"]): r for r in rows}
    for row in rows:
        for name, method in (("oracle", oracle), ("none", "none")):
            other = by_key.get((row["task"], method, row["seed"]))
            row[f"{name}_score"] = None if other is None else other["test_score"]
        row["as_good_as_oracle"] = _as_good(row["score"], row["test_score"], row["oracle_score"])
        if row["truth"] is None:
            row["verdict"] = None
        elif row["recovered"]:
            row["verdict"] = "recovered"
        elif (row["learned_over_true"] or 0.0) > 1 + identification.TOLERANCE and row["as_good_as_oracle"]:
            row["verdict"] = "wider, harmless"
        else:
            row["verdict"] = "missed"


def _median(values: list) -> float | None:
    defined = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(defined) if defined else None


def _summaries(rows: list[dict]) -> dict:
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["method"]), []).append(row)
    return {
        f"{task}/{method}": {
            "recovered": sum(bool(r["recovered"]) for r in group),
            "selected": sum(bool(r["selected"]) for r in group),
            "selection_known": all(r["selected"] is not None for r in group),
            "by_invariance": sum(r["rule"] == "invariance" for r in group),
            "seeds": len(group),
            "has_truth": group[0]["truth"] is not None,
            "learned_over_true": _median([r["learned_over_true"] for r in group]),
            "learned_range": _median([r.get("learned_range") for r in group]),
            "slope": _median([r.get("slope") for r in group]),
            "truth": group[0]["truth"],
            "spurious": _median([r["spurious"] for r in group]),
            "score": group[0]["score"],
            "test_score": _median([r["test_score"] for r in group]),
            "wider_harmless": sum(r.get("verdict") == "wider, harmless" for r in group),
            "as_good_as_oracle": sum(bool(r.get("as_good_as_oracle")) for r in group),
            "oracle_known": any(r.get("as_good_as_oracle") is not None for r in group),
            "oracle_score": _median([r.get("oracle_score") for r in group]),
            "none_score": _median([r.get("none_score") for r in group]),
            "seconds": _median([r["seconds"] for r in group]),
            "hyper_seconds": _median([r.get("hyper_seconds", 0.0) for r in group]),
        }
        for (task, method), group in groups.items()
    }


#: Ratios above this are tabled as "> 1000" (a range grown from about 0 on the untransformed task; study.json
#: keeps the value).
LARGE_RATIO = 1000.0


def _cell(value: float | None, digits: str = ".2f") -> str:
    if value is None:
        return ""
    return "inf" if math.isinf(value) else f"> {LARGE_RATIO:g}" if value > LARGE_RATIO else format(value, digits)


#: How the study's table names each test score.
SCORE_LABELS = {"test_accuracy": "acc", "test_mae": "MAE", "test_mean_iou": "mIoU"}


def _learned_cell(summary: dict) -> str:
    """The learned range over the truth; where the truth is "none" (a half-range of 0), the learned range itself."""
    truth = summary.get("truth")
    if truth and truth["half_range"] == 0:
        return f"{_cell(summary['learned_range'], '.3f')} {truth['unit']} (truth 0)"
    return _cell(summary["learned_over_true"])


def markdown(result: dict) -> str:
    """The study's table: per task and method, recovered in k/N seeds, medians of the rest."""
    lines = [
        f"# Study: {result['study']}",
        "",
        f"Seeds {result['seeds']}. Recovered: the effective range of the applied transformation within +-30 % of the "
        "truth (at least 0.8 pi for the full circle, never above 1.3x; where the truth is no invariance, at most "
        "its tolerance, 0.1 rad for a rotation); wider, harmless: wider than 1.3x the truth and as good as the "
        "oracle (a range that costs nothing is no error); as good as the oracle: a test score at least the oracle's "
        f"(the true transformation at its true range, fixed) minus {ORACLE_POINTS:g} (an error at most "
        f"{1 + ORACLE_RELATIVE:g}x the oracle's); oracle, none: their median test scores on the same task and "
        "seeds (blank where the study has no such method); learned/true: its effective range over the truth "
        "(median); spurious: the largest ratio of another transform's range to its range on the untransformed task, "
        "each range counted as at least 0.01 of its scale (median; about 1 when not fooled); seconds per "
        "run: wall time, in brackets the part spent in the objective's updates of the augmentation. Where a task's "
        "trunk has its transformation built in, a run also "
        f"counts as recovered when its model's median invariance score at the truth is at least {BUILT_IN_INVARIANCE} "
        '(shown as "by invariance"). Test score: accuracy (acc), mean absolute error (MAE, in the target\'s unit) '
        "or mean intersection over union (mIoU), median. Slope (where a task asks for it): how much the trained "
        "model's prediction follows the transformation of its input (0: invariant; 1 on the angle regression: "
        "it follows the angle exactly), median.",
        "",
        "| task | method | recovered | wider, harmless | as good as the oracle | learned / true | spurious "
        "| test score | oracle | none | slope | seconds per run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, summary in result["summary"].items():
        task, method = key.split("/")
        found = f"{summary['recovered']}/{summary['seeds']}" if summary["has_truth"] else "no truth"
        if summary["by_invariance"]:
            found += f" ({summary['by_invariance']} by invariance)"
        wider = f"{summary['wider_harmless']}/{summary['seeds']}" if summary.get("oracle_known") else ""
        as_good = f"{summary['as_good_as_oracle']}/{summary['seeds']}" if summary.get("oracle_known") else ""
        baselines = " | ".join(_cell(summary.get(key), ".3f") for key in ("oracle_score", "none_score"))
        seconds = _cell(summary["seconds"], ".1f")
        if summary.get("hyper_seconds"):
            seconds += f" ({summary['hyper_seconds']:.1f})"
        lines.append(
            f"| {task} | {method} | {found} | {wider} | {as_good} | {_learned_cell(summary)} | "
            f"{_cell(summary['spurious'])} | "
            f"{_cell(summary['test_score'], '.3f')} {SCORE_LABELS.get(summary['score'], summary['score'])} | "
            f"{baselines} | {_cell(summary.get('slope'))} | {seconds} |"
        )
    return "\n".join(lines) + "\n"


def _heatmap(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, s in result["summary"].items() if s["has_truth"]]
    if not keys:  # no task with a known invariance: nothing to draw
        return
    tasks = list(dict.fromkeys(k.split("/")[0] for k in keys))
    methods = list(dict.fromkeys(k.split("/")[1] for k in keys))
    grid = [[math.nan] * len(methods) for _ in tasks]
    for key in keys:
        task, method = key.split("/")
        summary = result["summary"][key]
        grid[tasks.index(task)][methods.index(method)] = summary["recovered"] / summary["seeds"]
    fig, ax = plt.subplots(figsize=(3.2 + 1.2 * len(methods), 1.2 + 0.5 * len(tasks)))  # room for the task names
    image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(methods)), methods)
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_title("fraction of seeds that\nrecovered the truth")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    rundir.write_atomic(out / "recovered.png", lambda temporary: fig.savefig(temporary, dpi=110, format="png"))
    plt.close(fig)


def run(spec: dict, out: str | Path, jobs: int = 1, table_only: bool = False) -> dict:
    """Train every run of the grid (finished runs reused, killed ones resumed; ``jobs`` at a time) and write the
    study's files; with ``table_only``, tabulate only the runs already finished."""
    out = Path(out)
    run_dirs = {key: out / key[0] / key[1] / f"seed{key[2]}" for key in spec["runs"]}
    pending = [key for key, run_dir in run_dirs.items() if not grid.finished(run_dir, spec["runs"][key])]  # in order
    if not table_only:
        grid.train_pending([(spec["runs"][key], run_dirs[key]) for key in pending], jobs)
    else:
        run_dirs = {key: run_dir for key, run_dir in run_dirs.items() if key not in pending}
        if not run_dirs:
            raise grid.no_finished_run(out)
    rows = [_row(*key, rundir.read_metrics(run_dir)) for key, run_dir in run_dirs.items()]
    for row, run_dir in zip(rows, run_dirs.values(), strict=True):
        if spec["tasks"][row["task"]].get("built_in") and row["truth"] is not None:
            _judge_built_in(row, run_dir)
        slope = spec["tasks"][row["task"]].get("slope")
        row["slope"] = None if slope is None else response_slope_of(run_dir, slope)
    _spurious(rows, spec)
    _against_baselines(rows, next((m for m, s in spec["methods"].items() if (s or {}).get("oracle")), None))
    result = {"study": spec["study"], "seeds": spec["seeds"], "runs": rows, "summary": _summaries(rows)}
    return grid.write_study(out, result, markdown(result), _heatmap)
