"""``invlearn bench objectives``: what a learned run costs over a plain run of the same trunk, data and epochs.

The runs are those of an identification study file (default: ``configs/identification-demo.yaml``, the runs of
``make demo`` at their shipped settings): for each of its methods that learns an augmentation, seed 0 of its first
task, trained whole (``invlearn train``, one after another in this process, in a temporary folder), against the
study's ``none`` method on the same task: once with the study's trunk (the demo's: LILA's MLP, ``mlp``) and once with
LeNet in its place (a CNN). Each row is a run's wall seconds (building, training, the epochs' evaluations) against
the plain run's: ``{method}_{trunk}_run`` with ``none_{trunk}_run`` as its baseline, so ``ratio`` is the run's cost
in plain runs; ``hyper_seconds`` says how much of it went to the objective's own updates of the augmentation.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch

from invlearn.bench.timing import machine, result_row
from invlearn.objectives import OBJECTIVES
from invlearn.studies import registry
from invlearn.training import config as configs
from invlearn.training.run import train
from invlearn.training.schema import objective_section_name

#: The study whose runs are timed, relative to the working folder (the repository's root).
DEMO_STUDY = Path("configs") / "identification-demo.yaml"
#: The trunks each method is timed with besides the study's own: a CNN in its place.
OTHER_TRUNKS = ({"name": "lenet"},)


def study_runs(study: str | Path, epochs: int | None = None) -> dict[str, dict]:
    """``{method: config}``: seed 0 of the study's first task for each method, ``epochs`` long where given
    (burn-ins kept shorter than the run)."""
    spec = registry.load_study(study)
    if spec.get("kind") != "identification" or "none" not in spec["methods"]:
        raise configs.ConfigError(f"{study}: needs an identification study with a 'none' method")
    task = next(iter(spec["tasks"]))
    runs = {method: config for (t, method, seed), config in spec["runs"].items() if t == task and seed == 0}
    for config in runs.values():
        if epochs is not None:
            config["trainer"]["epochs"] = epochs
            for section in map(objective_section_name, OBJECTIVES):
                if "burn_in_epochs" in config[section]:
                    config[section]["burn_in_epochs"] = min(config[section]["burn_in_epochs"], epochs - 1)
        config["trainer"]["progress_bar"] = False
    return runs


def run(study: str | Path = DEMO_STUDY, epochs: int | None = None) -> dict:
    """The ``objectives`` suite as a JSON-serialisable dict (the schema of the other suites, ``ms_median`` being
    one run's wall milliseconds), with each learned run's ``hyper_seconds``."""
    runs = study_runs(study, epochs)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        own = next(iter(runs.values()))["model"]["trunk"]
        for replacement in (own, *OTHER_TRUNKS):
            trunk = replacement["name"]
            seconds = {}
            for method, config in runs.items():
                resolved = copy.deepcopy(config)
                resolved["model"]["trunk"] = copy.deepcopy(replacement)
                metrics = train(configs.validate(resolved), Path(folder) / trunk / method)
                seconds[method] = (metrics["wall_time_s"], metrics["final"]["hyper_seconds"])
            plain = seconds.pop("none")[0]
            for method, (wall, hyper) in seconds.items():
                row = result_row(f"{method}_{trunk}_run", 1e3 * wall, f"none_{trunk}_run", 1e3 * plain)
                rows.append({**row, "hyper_seconds": round(hyper, 3)})
    report = {"suite": "objectives", "machine": machine(), "torch": torch.__version__, "study": str(study)}
    return {**report, "results": rows}
