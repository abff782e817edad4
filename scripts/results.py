"""Regenerate one single-run results table of the docs: train its runs (a finished run is reused) and print the table.

    .venv/bin/python scripts/results.py TABLE [--out runs/results] [--set KEY=VALUE ...]

Tables: see ``TABLES`` (``invlearn study`` makes the capacity tables, ``make bench`` the benchmark tables). Each run
is ``invlearn train configs/<config> --set ...`` into ``<out>/<table>/<label>``; the table goes to
``<out>/<table>.md`` and to stdout, headed by the commit, machine and date that produced it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from invlearn.bench.timing import machine
from invlearn.training import config, run, rundir
from invlearn.training.report import truth, truth_span

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
#: The subset of the sprites demo (`make demo` before the identification demo): 5,000 training and 1,000 test
#: sprites, 10 epochs.
DEMO = ["data.n_train=5000", "data.n_test=1000", "trainer.epochs=10"]


@dataclass(frozen=True)
class Row:
    """One run of a table: ``configs/<config>`` with ``sets`` overrides, shown as ``label``."""

    label: str
    config: str
    sets: list[str] = field(default_factory=list)


TABLES: dict[str, list[Row]] = {
    "sprites": [
        Row("AugNet", "sprites-augnet.yaml", DEMO),
        Row("Augerino", "sprites-augerino.yaml", DEMO),
        Row("no augmentation", "sprites-none.yaml", DEMO),
    ],
    "sinusoids-seeds": [Row(f"seed {seed}", "sinusoids-augnet.yaml", [f"seed={seed}"]) for seed in range(10)],
    "rotmnist": [
        Row("rotmnist-augnet", "rotmnist-augnet.yaml"),
        Row("rotmnist-augerino", "rotmnist-augerino.yaml"),
        Row("rotmnist-none", "rotmnist-none.yaml"),
        Row("rotmnist-augnet-stacked", "rotmnist-augnet-stacked.yaml"),
        Row("rotmnist-augnet-stacked seed 1", "rotmnist-augnet-stacked.yaml", ["seed=1"]),
    ],
    "fmnist": [
        Row(f"fmnist-{data}-{method}", f"fmnist-{data}-{method}.yaml")
        for data in ("rotated", "translated", "scaled")
        for method in ("augnet", "augerino", "none")
    ],
}


def commit() -> str:
    """The checkout's commit (marked when ``src`` or ``configs`` differ from it), or the ``RESULTS_COMMIT`` that
    the sender of a copy of the tree names (a machine the tree was sent to may hold a stale git folder)."""
    if "RESULTS_COMMIT" in os.environ:
        return f"{os.environ['RESULTS_COMMIT']} (a copy of it)"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src", "configs"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        head = None
    if head is None or head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (" with local changes" if dirty.stdout.strip() else "")


def kept(learned: dict) -> str:
    """What each AugNet layer keeps (its most-weighted candidate) or, without weights, every range."""
    layers: dict[str, tuple[str, dict]] = {}
    for key, entry in learned.items():
        if entry["weight"] is None:
            continue
        layer, name = key.split(".", 1)
        if layer not in layers or entry["weight"] > layers[layer][1]["weight"]:
            layers[layer] = (name, entry)
    if layers:
        return "; ".join(
            f"{name} (weight {e['weight']:.2f}, magnitude {e['magnitude']:.3f})" for name, e in layers.values()
        )
    return "; ".join(f"{key} +-{entry['high']:.3g}" for key, entry in learned.items())


def table(name: str, out: Path, sets: list[str]) -> str:
    """Train the table's missing runs (its rows' overrides, then ``sets``) and return the Markdown table."""
    options = "".join(f" --set {item}" for item in sets)
    lines = [
        f"Produced by `.venv/bin/python scripts/results.py {name}{options}` at commit {commit()} on "
        f"{machine()}, torch {torch.__version__}, {datetime.date.today().isoformat()}.",
        "",
        "| run | test accuracy | balanced | kept | learned range of the true transform | truth | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in TABLES[name]:
        run_dir = out / name / row.label.replace(" ", "-")
        resolved = config.load(CONFIGS / row.config, row.sets + sets + ["trainer.progress_bar=false"])
        if not (run_dir / rundir.METRICS).is_file():
            print(f"training {row.label} ({row.config} {' '.join(row.sets)})", file=sys.stderr, flush=True)
            run.train(resolved, run_dir, resume=(run_dir / rundir.CHECKPOINT).is_file())  # resume a killed run
        metrics = rundir.read_metrics(run_dir)
        final = metrics["final"]
        known = truth(resolved)
        span = truth_span(final["learned_invariances"], known.names[0]) if known else None
        learned = f"+-{span['high']:.3f} {span['unit']}" if span else ""
        truth_cell = f"{known.names[0]} +-{known.half_range:.3f} {known.unit}" if known else ""
        seconds = sum(epoch["seconds"] for epoch in metrics["epochs"])
        lines.append(
            f"| {row.label} | {final['test_accuracy']:.3f} | {final['balanced_accuracy']:.3f} | "
            f"{kept(final['learned_invariances'])} | {learned} | {truth_cell} | {seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=sorted(TABLES))
    parser.add_argument("--out", default="runs/results", help="folder of the runs and tables (default: runs/results)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every run")
    args = parser.parse_args()
    out = Path(args.out)
    try:
        text = table(args.table, out, args.set)
    except (config.ConfigError, run.RunFailed) as error:
        print(f"results: error: {error}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.table}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
