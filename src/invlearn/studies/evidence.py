"""Evidence curves: what each objective scores a range at, for models trained at that range.

Where a learner does not find a task's known range, this tells whether the objective itself prefers that range
(then the optimisation is at fault) or is flat or peaked elsewhere (then the data, through this model, do not pin
the range). ``invlearn evidence CONFIG --candidate NAME --magnitudes 0,0.25,0.5,...`` trains, for each seed and
magnitude, the independent-candidates learner with the named candidate held at that magnitude (after any
``--hold`` candidates held at theirs; ``--set`` first, e.g. the task): the held-out objective's run with no
hyper-step, so its weights train on the task's conventional loss on ``1 - fraction`` of the training set and never
see the rest. Each registered objective that scores a fixed range (:data:`SCORES`, its
:meth:`~invlearn.objectives.Objective.evidence`) is then estimated at the trained weights, in log-likelihood per
example (higher is better):

* ``marglik``: the Laplace-KFAC log marginal likelihood ``log p(D | magnitude) / N`` on the weights' part ``D``
  (:meth:`MarginalLikelihood.evidence <invlearn.objectives.MarginalLikelihood.evidence>`), at the prior precision
  (and, for a regression, the noise) that maximise it;
* ``heldout``: the log-likelihood of the held-out part under the prediction averaged over ``copies`` augmented
  copies (:meth:`HeldOut.evidence <invlearn.objectives.HeldOut.evidence>`), the held-out objective's score.

Writes ``<out>/<candidate>-<magnitude>/seed<k>`` (finished runs are reused), ``<out>/evidence.json`` (per score and
magnitude: the value per seed, their mean and standard deviation; the best magnitude of each score and the widest
whose mean is within the best one's seed spread of it) and, with matplotlib, ``<out>/evidence.png`` (one panel a
score, the seeds and their mean against the magnitude, the truth marked where the data set knows it).
"""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
import sys
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from invlearn import augmentations
from invlearn._validation import shown
from invlearn.data import registry
from invlearn.data.split import Split
from invlearn.objectives import OBJECTIVES, Objective
from invlearn.studies import grid
from invlearn.training import config as configs
from invlearn.training import rundir
from invlearn.training.build import build_objective
from invlearn.training.config import ConfigError
from invlearn.training.run import load_trained, split_held_out


def run_configs(
    config: str | Path,
    candidate: str,
    magnitudes: list[float],
    seeds: list[int],
    overrides: list[str] | None = None,
    hold: list[dict] | None = None,
    scale: float | None = None,
    fraction: float = 0.2,
) -> dict[tuple[float, int], dict]:
    """``{(magnitude, seed): resolved run config}``; every one is checked, so a bad option fails before anything
    trains (:class:`~invlearn.training.schema.ConfigError` naming it)."""
    if not magnitudes or not all(_is_strength(m) for m in magnitudes) or len(set(magnitudes)) != len(magnitudes):
        raise ConfigError(f"--magnitudes: must be distinct numbers in [0, 1], got {magnitudes}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds: must be distinct integers, got {seeds}")
    overrides, hold = overrides or [], [] if hold is None else hold
    if not isinstance(hold, list) or not all(isinstance(entry, dict) for entry in hold):
        raise ConfigError(f"--hold: must be a list of candidate entries, got {shown(hold)}")
    runs = {}
    for magnitude in magnitudes:
        entry = {"name": candidate, "magnitude": magnitude, **({} if scale is None else {"scale": scale})}
        for seed in seeds:
            settings = configs.load(
                config,
                [
                    *overrides,
                    f"seed={seed}",
                    "model.method=independent",
                    "model.objective=heldout",
                    "model.layers=null",
                    f"model.candidates={json.dumps([*hold, entry])}",
                    f"heldout.fraction={fraction!r}",
                    "trainer.progress_bar=false",
                ],
            )
            settings["heldout"]["burn_in_epochs"] = settings["trainer"]["epochs"] + 1  # the range is held
            runs[(magnitude, seed)] = configs.validate(settings)
    return runs


def _is_strength(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


class TrainedRun(NamedTuple):
    """A finished run of :func:`run_configs`, loaded once for every score: its config, its kind of task, its model
    and the training examples its weights saw (``kept``) and did not (``held``)."""

    settings: dict
    task: str
    model: nn.Module
    kept: Split
    held: Split


def load(run_dir: str | Path) -> TrainedRun:
    """The finished run in ``run_dir``, its training set split as it was trained, its model in training mode (the
    augmentation sampled per example, as in training and in the objectives' hyper-steps)."""
    settings, data, model, _ = load_trained(run_dir)
    section = settings["heldout"]
    kept, held = split_held_out(data.train, section["fraction"], settings["seed"], section["group"])
    return TrainedRun(settings, data.task, model.train(), kept, held)


#: The registered objectives with a score of a fixed range (:meth:`Objective.evidence
#: <invlearn.objectives.Objective.evidence>`), each a panel of the curves.
SCORES: list[str] = [name for name, cls in OBJECTIVES.items() if cls.evidence is not Objective.evidence]


def score(name: str, trained: TrainedRun, batch: int, copies: int, examples: int | None = None) -> float:
    """The objective ``name``'s score of a trained run (its :meth:`~invlearn.objectives.Objective.evidence`, the
    objective built from the run's config section): over the first ``examples`` (default: all) of the examples the
    weights trained on and of those held out, in batches of ``batch``, ``copies`` augmented copies each."""
    settings, task, model, kept, held = trained
    objective = build_objective(settings, task, name)
    generator = torch.Generator().manual_seed(settings["seed"])
    fitted = kept.inputs[:examples], kept.labels[:examples]
    held_part = held.inputs[:examples], held.labels[:examples]
    return objective.evidence(model, fitted, held_part, len(kept.labels), batch, copies, generator)


def true_magnitude(settings: dict, candidate: str, scale: float | None) -> float | None:
    """The magnitude of ``candidate`` that samples the data's true range, where the data set knows one for it (under
    any of the truth's namings: ``rotate_so3`` for QM9's every rotation)."""
    data = settings["data"]
    truth = registry.truth(data["name"], data.get("transform", "none"), data.get("transform_range"))
    if truth is None or all(candidate not in names for names in (truth.names, *truth.equivalents)):
        return None
    return truth.half_range / candidate_scale(candidate, scale)


def candidate_scale(candidate: str, scale: float | None) -> float:
    """The candidate's scale: the given one, else its catalogue default."""
    return augmentations.get(candidate).default_scale if scale is None else scale


def summary(values: dict[float, list[float]]) -> dict:
    """Per magnitude the values, their mean and standard deviation over seeds; the best magnitude (highest mean)
    and the widest whose mean is within the best one's seed spread (standard deviation) of it."""
    table = {
        magnitude: {
            "per_seed": per_seed,
            "mean": statistics.fmean(per_seed),
            "spread": statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0,
        }
        for magnitude, per_seed in values.items()
    }
    best = max(table, key=lambda m: table[m]["mean"])
    floor = table[best]["mean"] - table[best]["spread"]
    widest = max(m for m in table if table[m]["mean"] >= floor)
    return {"magnitudes": {f"{m:g}": entry for m, entry in table.items()}, "best": best, "widest_within_spread": widest}


def run(
    runs: dict[tuple[float, int], dict],
    out: str | Path,
    candidate: str,
    batch: int = 250,
    copies: int = 8,
    examples: int | None = None,
    jobs: int = 1,
    scale: float | None = None,
) -> dict:
    """Train every run of :func:`run_configs` not finished yet (``jobs`` at a time), score them, and write
    ``evidence.json`` and ``evidence.png`` under ``out``; returns what ``evidence.json`` holds. Progress goes to
    stderr. A second process on the same ``out`` is refused while this one runs."""
    with rundir.writing_into(out, "--out"):
        return _run(runs, Path(out), candidate, batch, copies, examples, jobs, scale)


def _run(runs, out, candidate, batch, copies, examples, jobs, scale) -> dict:
    run_dirs = {key: out / f"{candidate}-{key[0]:g}" / f"seed{key[1]}" for key in runs}
    pending = [(runs[key], run_dirs[key]) for key in runs if not grid.finished(run_dirs[key], runs[key])]
    if pending:
        print(f"evidence: training {len(pending)} of {len(runs)} runs", file=sys.stderr, flush=True)
    grid.train_pending(pending, jobs)
    values: dict[str, dict[float, list[float]]] = {name: {} for name in SCORES}
    for (magnitude, seed), run_dir in run_dirs.items():
        trained = load(run_dir)
        for name in SCORES:
            values[name].setdefault(magnitude, []).append(score(name, trained, batch, copies, examples))
        line = ", ".join(f"{name} {values[name][magnitude][-1]:.4f}" for name in SCORES)
        print(f"evidence: {candidate} {magnitude:g} seed {seed}: {line}", file=sys.stderr, flush=True)
    first = next(iter(runs.values()))
    result = {
        "candidate": candidate,
        "scale": candidate_scale(candidate, scale),
        "true_magnitude": true_magnitude(first, candidate, scale),
        "held_out_fraction": first["heldout"]["fraction"],
        "seeds": sorted({seed for _, seed in runs}),
        "scores": {name: summary(per_magnitude) for name, per_magnitude in values.items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    rundir.write_json(out / "evidence.json", result)
    if importlib.util.find_spec("matplotlib") is not None:
        figure(result).savefig(out / "evidence.png", dpi=120)
    return result


def figure(result: dict):
    """One panel a score: every seed's value and their mean against the magnitude, the truth dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["scores"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        table = result["scores"][name]["magnitudes"]
        magnitudes = [float(m) for m in table]
        for m, entry in zip(magnitudes, table.values(), strict=True):
            axis.scatter([m] * len(entry["per_seed"]), entry["per_seed"], color="0.6", s=12)
        axis.plot(magnitudes, [entry["mean"] for entry in table.values()], marker="o", color="C0", label="mean")
        if result["true_magnitude"] is not None:
            axis.axvline(result["true_magnitude"], color="C3", linestyle="--", label="truth")
        axis.set_title(name)
        axis.set_xlabel(f"{result['candidate']} magnitude (x {result['scale']:.3g})")
        axis.set_ylabel("log-likelihood per example")
        axis.legend(fontsize=8)
    fig.tight_layout()
    return fig


def magnitude_list(text: str) -> list[float]:
    """``"0,0.25,0.5"`` -> ``[0.0, 0.25, 0.5]``; anything else is a :class:`ValueError` naming the text."""
    try:
        values = [float(item) for item in text.split(",")]
    except ValueError:
        raise ValueError(f"expected comma-separated numbers, got {shown(text)}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"expected finite numbers, got {shown(text)}")
    names = [f"{value:g}" for value in values]  # each magnitude's runs live in a folder named by 6 digits
    for value, name in zip(values, names, strict=True):
        other = values[names.index(name)]
        if other != value:
            raise ValueError(f"{shown(other)} and {shown(value)} would share the run folder of magnitude {name}")
    return values
