"""The compute study: accuracy against total compute (search + final training) for learned invariance, augmentation
search and fixed policies, on one task.

A study file (YAML, ``kind: compute``)::

    study: search-vs-learned-fmnist
    kind: compute
    base: search-vs-learned/fmnist.yaml      # relative to the study file
    seeds: [0, 1, 2]
    set: [trainer.progress_bar=false]        # optional: overrides for every run
    score: balanced_accuracy                 # optional: which test score to table (default: the task's headline)
    methods:                                 # name -> overrides of the base config
      none: {set: [model.method=none, model.layers=null]}
      randaugment:                           # a grid: every point trained, the best reported with the grid's cost
        set: [model.method=policy, "model.policy={name: randaugment}", ...]
        grid: {model.policy.n_ops: [1, 2], model.policy.magnitude: [0.3, 0.6]}
      dada:                                  # a search run first, then the final run with the searched policy
        search: [model.method=dada, model.objective=unrolled, trainer.epochs=20]
        set: [model.method=policy]

``invlearn study FILE --out DIR`` trains every run, seed after seed, one after the other (``--jobs`` runs several at
a time, which skews the times), under ``DIR/<method>/seed<k>`` (a grid point under ``DIR/<method>/<point>/seed<k>``,
the point named by its values as ``n_ops2-magnitude0.5``; a search under ``.../seed<k>/search``): finished runs are
reused, killed ones resumed. A search method's final run trains ``set`` with ``model.policy`` set to the searched
policy (:func:`searched_policy`). Then it writes ``DIR/study.json`` (a row per run; per method the median score over
seeds, search, training and total seconds; for a grid, its best point by median score, with the whole grid's
seconds), ``DIR/study.md`` and, with matplotlib, ``DIR/accuracy-vs-seconds.png``.
"""

from __future__ import annotations

import copy
import itertools
import json
import statistics
from pathlib import Path
from typing import Any

from invlearn._validation import shown
from invlearn.studies import grid
from invlearn.training import config as configs
from invlearn.training import evaluation, rundir
from invlearn.training.config import ConfigError
from invlearn.training.run import load_trained

KEYS = {"study", "kind", "base", "seeds", "set", "methods", "score"}
METHOD_KEYS = {"set", "grid", "search"}


def searched_policy(run_dir: str | Path) -> dict:
    """The ``model.policy`` entry (``sub_policies``) of a finished DADA search run: its ``model.policy.top``
    sub-policies of largest weight, with their probabilities and magnitudes (what DADA trains the final model
    with). A run of another method is refused."""
    settings, _, model, _ = load_trained(run_dir)
    if settings["model"]["method"] != "dada":
        raise ConfigError(f"{run_dir}: a run of method {shown(settings['model']['method'])}, not a DADA search (dada)")
    entries = model.augmentation.transform.searched(settings["model"]["policy"]["top"]).entries()
    return {
        "name": "sub_policies",
        "sub_policies": [[op["name"] for op in sub] for sub in entries],
        "probabilities": [[op["probability"] for op in sub] for sub in entries],
        "magnitudes": [[op["magnitude"] for op in sub] for sub in entries],
    }


def _points(spec: Any, method: str) -> list[tuple[str, list[str]]]:
    """``[(point name, overrides)]`` of a method's grid (``[("", [])]`` without one)."""
    if spec is None:
        return [("", [])]
    if not isinstance(spec, dict) or not spec or not all(isinstance(v, list) and v for v in spec.values()):
        raise ConfigError(
            f"methods.{method}.grid: must map config keys to non-empty lists of values, got {shown(spec)}"
        )
    points = []
    for values in itertools.product(*spec.values()):
        pairs = list(zip(spec, values, strict=True))
        name = "-".join(f"{key.rsplit('.', 1)[-1]}{value}" for key, value in pairs)  # n_ops2-magnitude0.5
        problem = configs.check_name(name)
        if problem:
            raise ConfigError(f"methods.{method}.grid: the point {shown(name)} {problem}")
        points.append((name, [f"{key}={value}" for key, value in pairs]))
    return points


def load(path: str | Path, spec: dict) -> dict:
    """Check a compute study read from ``path`` and resolve its runs' configs (a search method's final run is
    resolved once its search has run); returns the spec with ``runs``:
    ``{(method, point, seed): {"config": ..., "search": config or None}}``."""
    path = Path(path)
    grid.check_keys(spec, KEYS, ("base", "methods", "seeds"))
    seeds = grid.seed_list(spec["seeds"], "seeds")
    score = spec.get("score")
    if score is not None and score not in evaluation.SCORE_KEYS:
        raise ConfigError(f"score: must be one of {sorted(evaluation.SCORE_KEYS)}, got {shown(score)}")
    common = grid.overrides(spec.get("set"), "set")
    if not isinstance(spec["methods"], dict):
        raise ConfigError("methods: must be a mapping of names to settings")
    base = path.parent / spec["base"]
    runs = {}
    for method, method_spec in spec["methods"].items():
        problem = configs.check_name(method)
        if problem:
            raise ConfigError(f"methods.{method}: {problem}")
        method_spec = method_spec or {}
        if not isinstance(method_spec, dict) or set(method_spec) - METHOD_KEYS:
            raise ConfigError(f"methods.{method}: must be a mapping with 'set' and optionally 'grid' or 'search'")
        if "grid" in method_spec and "search" in method_spec:
            raise ConfigError(f"methods.{method}: a grid or a search, not both")
        sets = grid.overrides(method_spec.get("set"), f"methods.{method}.set")
        search = method_spec.get("search")
        experiment = f"experiment={spec['study']}-{method}"
        for point, point_sets in _points(method_spec.get("grid"), method):
            try:
                searched = None
                if search is not None:
                    search_sets = grid.overrides(search, f"methods.{method}.search")
                    searched = configs.load(base, [*sets, *search_sets, *common, f"{experiment}-search"])
                    final = None  # known once the search has run
                else:
                    final = configs.load(base, [*sets, *point_sets, *common, experiment])
            except ConfigError as error:
                raise ConfigError(f"methods.{method}{f' ({point})' if point else ''}: {error}") from None
            for seed in seeds:
                runs[(method, point, seed)] = {
                    "config": None if final is None else {**copy.deepcopy(final), "seed": seed},
                    "search": None if searched is None else {**copy.deepcopy(searched), "seed": seed},
                    "final_sets": [*sets, *common, experiment, f"seed={seed}"],
                }
    return {**spec, "runs": runs, "base_path": str(base)}


def select(spec: dict, methods: list[str] | None) -> dict:
    """The part of a loaded study with only the named methods (``None`` keeps all); its runs train into the same
    directories as the whole study's."""
    unknown = sorted(set(methods or ()) - set(spec["methods"]))
    if unknown:
        raise ConfigError(
            f"--methods: {shown(unknown[0])} is not one of the study's methods ({sorted(spec['methods'])})"
        )
    kept = set(methods or spec["methods"])
    return {**spec, "runs": {key: entry for key, entry in spec["runs"].items() if key[0] in kept}}


def _run_dir(out: Path, method: str, point: str, seed: int) -> Path:
    return out / method / point / f"seed{seed}" if point else out / method / f"seed{seed}"


def _final_config(spec: dict, entry: dict, search_dir: Path) -> dict:
    """The final run's config of a search method: its overrides with the searched policy."""
    policy = searched_policy(search_dir)
    return configs.load(spec["base_path"], [*entry["final_sets"], f"model.policy={json.dumps(policy)}"])


def _row(method: str, point: str, seed: int, metrics: dict, search: dict | None, score: str | None) -> dict:
    score, value = evaluation.headline(metrics["final"]) if score is None else (score, metrics["final"][score])
    search_seconds = 0.0 if search is None else search["wall_time_s"]
    return {
        "method": method,
        "point": point,
        "seed": seed,
        "score": score,
        "test_score": value,
        "search_seconds": search_seconds,
        "train_seconds": metrics["wall_time_s"],
        "total_seconds": search_seconds + metrics["wall_time_s"],
    }


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _summaries(rows: list[dict]) -> dict:
    """Per method: the median score and seconds over seeds; for a grid, its best point by median score, with the
    sum of every point's median seconds (what tuning the grid cost)."""
    summary = {}
    for method in dict.fromkeys(row["method"] for row in rows):
        points = {}
        for row in rows:
            if row["method"] == method:
                points.setdefault(row["point"], []).append(row)
        medians = {
            point: {key: _median(group, key) for key in ("test_score", "search_seconds", "train_seconds")}
            for point, group in points.items()
        }
        best = max(medians, key=lambda point: medians[point]["test_score"])
        search = sum(m["search_seconds"] for m in medians.values())
        train = sum(m["train_seconds"] for m in medians.values())
        summary[method] = {
            "score": next(iter(points.values()))[0]["score"],
            "test_score": medians[best]["test_score"],
            "best_point": best,
            "points": medians,
            "seeds": len(points[best]),
            "search_seconds": search,
            "train_seconds": train,
            "total_seconds": search + train,
        }
    return summary


def markdown(result: dict) -> str:
    """The study's table: per method, the median score over seeds and the seconds it cost."""
    lines = [
        f"# Study: {result['study']}",
        "",
        f"Seeds {result['seeds']}; medians over seeds. Seconds: wall time of each run (data, training, evaluation), "
        "the search's apart; for a grid, the best point's score and the whole grid's seconds (tuning it took them "
        "all). Score: " + next(iter(result["summary"].values()))["score"] + ".",
        "",
        "| method | score | search s | training s | total s |",
        "|---|---|---|---|---|",
    ]
    for method, summary in result["summary"].items():
        name = f"{method} (best: {summary['best_point']})" if summary["best_point"] else method
        lines.append(
            f"| {name} | {summary['test_score']:.3f} | {summary['search_seconds']:.0f} | "
            f"{summary['train_seconds']:.0f} | {summary['total_seconds']:.0f} |"
        )
    grids = {m: s for m, s in result["summary"].items() if len(s["points"]) > 1}
    for method, summary in grids.items():
        lines += ["", f"Grid of {method}:", "", "| point | score | training s |", "|---|---|---|"]
        for point, medians in summary["points"].items():
            lines.append(f"| {point} | {medians['test_score']:.3f} | {medians['train_seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def figure(result: dict):
    """The study's plot (a matplotlib ``Figure``): per method, its median score against its total seconds (large
    marker, log scale) and each seed's score (small markers), in a colour and marker of the method's own."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for index, (method, summary) in enumerate(result["summary"].items()):
        colour, marker = f"C{index % 10}", "os^D"[index // 10 % 4]  # a colour and marker of its own per method
        seeds = [row for row in result["runs"] if row["method"] == method and row["point"] == summary["best_point"]]
        seconds = [summary["total_seconds"]] * len(seeds)
        ax.scatter(seconds, [row["test_score"] for row in seeds], s=10, alpha=0.4, color=colour, marker=marker)
        ax.scatter([summary["total_seconds"]], [summary["test_score"]], s=60, label=method, color=colour, marker=marker)
    ax.set_xscale("log")
    ax.set_xlabel("total seconds (search + training; a grid: all its points)")
    ax.set_ylabel(next(iter(result["summary"].values()))["score"])
    ax.set_title(result["study"])
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _plot(result: dict, out: Path) -> None:
    import matplotlib.pyplot as plt

    fig = figure(result)
    rundir.write_atomic(
        out / "accuracy-vs-seconds.png", lambda temporary: fig.savefig(temporary, dpi=110, format="png")
    )
    plt.close(fig)


def run(spec: dict, out: str | Path, jobs: int = 1, table_only: bool = False) -> dict:
    """Train every run, seed after seed (each seed's searches first; finished runs reused, killed ones resumed;
    ``jobs`` at a time), so a study stopped part-way holds whole seeds; then write the study's files. With
    ``table_only``, tabulate only the runs already finished (a searched method's search and final run both)."""
    out = Path(out)
    finals = {}
    for seed in dict.fromkeys(key[2] for key in spec["runs"]):
        keys = [key for key in spec["runs"] if key[2] == seed]
        searching = {
            key: _run_dir(out, *key) / "search"
            for key in keys
            if spec["runs"][key]["search"] is not None
            and not grid.finished(_run_dir(out, *key) / "search", spec["runs"][key]["search"])
        }
        if table_only:
            keys = [key for key in keys if key not in searching]
        else:
            grid.train_pending([(spec["runs"][key]["search"], d) for key, d in searching.items()], jobs)
        pending = []
        for key in keys:
            entry, run_dir = spec["runs"][key], _run_dir(out, *key)
            config = entry["config"] if entry["search"] is None else _final_config(spec, entry, run_dir / "search")
            done = grid.finished(run_dir, config)
            if done or not table_only:
                finals[key] = run_dir
            if not done and not table_only:
                pending.append((config, run_dir))
        grid.train_pending(pending, jobs)
    if not finals:
        raise grid.no_finished_run(out)
    rows = []
    for key in (key for key in spec["runs"] if key in finals):
        entry, run_dir = spec["runs"][key], finals[key]
        search = None if entry["search"] is None else rundir.read_metrics(run_dir / "search")
        rows.append(_row(*key, rundir.read_metrics(run_dir), search, spec.get("score")))
    result = {"study": spec["study"], "seeds": spec["seeds"], "runs": rows, "summary": _summaries(rows)}
    return grid.write_study(out, result, markdown(result), _plot)
