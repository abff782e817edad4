"""``invlearn bench objectives``: what a learned run costs over a plain run of the same trunk, data and epochs.

The runs are those of an identification study file (default: ``configs/identification-demo.yaml``, the runs of
``make demo`` at their shipped settings): for each of its methods that learns an augmentation, seed 0 of its first
task, trained whole (``invlearn train``, in this process, in a temporary folder), against the study's ``none``
method on the same task, with three trunks: the study's own (the demo's: LILA's MLP, ``mlp``), LeNet in its place
(a small CNN), and a ResNet-18-shaped CNN (``preact_resnet18``) on 3 x 32 x 32 images, the size of trunk users
train: :data:`RESNET_IMAGES` random CIFAR-10-shaped images per batch file (640 training, 128 test) written to a
temporary folder (the content does not change what a step costs), :data:`RESNET_EPOCHS` epochs (or the ``epochs``
asked for all runs), burn-ins shortened in proportion. Every run scores the test set once, after its last
epoch (``trainer.eval_every_n_epochs``): the score a study reports; the per-epoch scores of a monitored run are a
choice of the user's, not a cost of learning (with 4 test-time copies and batch-norm recalibration they cost a
learned LeNet run a third of its time, a plain ResNet run a quarter of its own).

One whole run per method is too noisy a measure on a small machine (two timings of the same rows gave 1.24x and
1.42x), so, after one untimed epoch of the first plain run (the process's imports and first reads), every run is
trained ``repeats`` times, the methods taking turns within each repeat (drifts of the
machine hit them alike). Each row is the median of a method's wall seconds (building, training, the epochs'
evaluations) against the median of the plain run's: ``{method}_{trunk}_run`` with ``none_{trunk}_run`` as its
baseline, so ``ratio`` is the run's cost in plain runs; ``ratio_range`` is the least and the largest ratio of one
repeat's run to the same repeat's plain run, and ``hyper_seconds`` the median time of the objective's own updates
of the augmentation.
"""

from __future__ import annotations

import copy
import pickle
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from invlearn.bench.timing import machine, result_row
from invlearn.data.images import CIFAR10_FOLDER, CIFAR10_TEST, CIFAR10_TRAIN
from invlearn.objectives import OBJECTIVES
from invlearn.studies import registry
from invlearn.training import config as configs
from invlearn.training.run import train
from invlearn.training.schema import objective_section_name

#: The study whose runs are timed, relative to the working folder (the repository's root).
DEMO_STUDY = Path("configs") / "identification-demo.yaml"
#: Random 3 x 32 x 32 images per CIFAR-10 batch file of the ResNet rows (5 training files, 1 test file), unless
#: :func:`run` is given another number.
RESNET_IMAGES = 128
#: Epochs of the ResNet rows.
RESNET_EPOCHS = 4


def study_runs(study: str | Path, epochs: int | None = None) -> dict[str, dict]:
    """``{method: config}``: seed 0 of the study's first task for each method, ``epochs`` long where given
    (burn-ins shortened in proportion, and kept shorter than the run)."""
    spec = registry.load_study(study)
    if spec.get("kind") != "identification" or "none" not in spec["methods"]:
        raise configs.ConfigError(f"{study}: needs an identification study with a 'none' method")
    task = next(iter(spec["tasks"]))
    runs = {method: config for (t, method, seed), config in spec["runs"].items() if t == task and seed == 0}
    for config in runs.values():
        if epochs is not None:
            _shorten(config, epochs)
        config["trainer"]["progress_bar"] = False
    return runs


def _shorten(config: dict, epochs: int) -> None:
    """``config`` trained ``epochs`` epochs, each objective's burn-in the same fraction of them (at most all but
    one)."""
    before, config["trainer"]["epochs"] = config["trainer"]["epochs"], epochs
    for section in map(objective_section_name, OBJECTIVES):
        if "burn_in_epochs" in config[section]:
            burn_in = round(config[section]["burn_in_epochs"] * epochs / before)
            config[section]["burn_in_epochs"] = max(0, min(burn_in, epochs - 1))


def _random_cifar10(folder: Path, images: int) -> Path:
    """A CIFAR-10-shaped folder of random images and labels, ``images`` per batch file."""
    root = folder / CIFAR10_FOLDER
    root.mkdir(parents=True)
    generator = np.random.default_rng(0)
    for name in CIFAR10_TRAIN + CIFAR10_TEST:
        batch = {
            b"labels": generator.integers(0, 10, images).tolist(),
            b"data": generator.integers(0, 256, (images, 3 * 32 * 32), dtype=np.uint8),
        }
        (root / name).write_bytes(pickle.dumps(batch))
    return root


def _trunks(runs: dict[str, dict], folder: Path, images: int, epochs: int) -> dict[str, dict[str, dict]]:
    """``{trunk label: {method: config}}``: the study's runs with their own trunk, with LeNet, and with a ResNet-18
    on random CIFAR-10-shaped images (``images`` per batch file, ``epochs`` epochs)."""
    own = next(iter(runs.values()))["model"]["trunk"]["name"]
    variants = {own: copy.deepcopy(runs), "lenet": copy.deepcopy(runs), "resnet18": copy.deepcopy(runs)}
    cifar = _random_cifar10(folder, images)
    for config in variants["lenet"].values():
        config["model"]["trunk"] = {"name": "lenet"}
    for config in variants["resnet18"].values():
        config["model"]["trunk"] = {"name": "preact_resnet18"}
        config["data"].update({"name": "cifar10", "root": str(cifar), "n_train": None, "n_test": None})
        _shorten(config, epochs)
    for config in (c for by_method in variants.values() for c in by_method.values()):
        config["trainer"]["eval_every_n_epochs"] = config["trainer"]["epochs"]  # the score reported: the last one
    return {trunk: {m: configs.validate(c) for m, c in by_method.items()} for trunk, by_method in variants.items()}


def _warm_up(plain: dict, out: Path) -> None:
    """Train one epoch of ``plain``, untimed: the process's first run pays its imports and first data reads
    (about 2 s), which would otherwise count against the first repeat's plain run."""
    config = copy.deepcopy(plain)
    config["trainer"]["epochs"] = 1
    train(config, out)


def run(
    study: str | Path = DEMO_STUDY, epochs: int | None = None, repeats: int = 3, resnet_images: int = RESNET_IMAGES
) -> dict:
    """The ``objectives`` suite as a JSON-serialisable dict (the schema of the other suites, ``ms_median`` being
    the median of one run's wall milliseconds over ``repeats``), with each learned run's ``hyper_seconds`` and
    ``ratio_range``; the ResNet rows train on ``resnet_images`` random images per CIFAR-10 batch file."""
    runs = study_runs(study, epochs)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        variants = _trunks(runs, Path(folder), resnet_images, epochs or RESNET_EPOCHS)
        _warm_up(next(iter(variants.values()))["none"], Path(folder) / "warm-up")
        for trunk, by_method in variants.items():
            walls: dict[str, list[float]] = {method: [] for method in by_method}
            hypers: dict[str, list[float]] = {method: [] for method in by_method}
            for repeat in range(repeats):
                for method, config in by_method.items():
                    metrics = train(copy.deepcopy(config), Path(folder) / trunk / method / str(repeat))
                    walls[method].append(metrics["wall_time_s"])
                    hypers[method].append(metrics["final"]["hyper_seconds"])
            plain = walls.pop("none")
            for method, seconds in walls.items():
                ratios = [run / base for run, base in zip(seconds, plain, strict=True)]
                name, baseline = f"{method}_{trunk}_run", f"none_{trunk}_run"
                row = result_row(name, 1e3 * statistics.median(seconds), baseline, 1e3 * statistics.median(plain))
                spread = [float(f"{min(ratios):.4g}"), float(f"{max(ratios):.4g}")]
                rows.append(
                    {**row, "ratio_range": spread, "hyper_seconds": round(statistics.median(hypers[method]), 3)}
                )
    report = {"suite": "objectives", "machine": machine(), "torch": torch.__version__, "study": str(study)}
    return {**report, "repeats": repeats, "results": rows}
