"""Compare trained classifiers on their test set: accuracy, NLL at temperature 1 and at each one's best temperature,
and, against the first run, the paired gaps and their standard errors at a given number of units; or how much each
run's test score moved over its last epochs.

    .venv/bin/python scripts/calibration.py RUN [RUN ...] [--units 250 128]
    .venv/bin/python scripts/calibration.py RUN [RUN ...] --last-epochs 10

Each RUN is a finished run folder; its model predicts each test example from ``--copies`` augmented copies (a fixed
seed). A paired gap is the mean over test examples of (first run minus this run): in accuracy, and in NLL at each
run's best temperature; its standard error is the per-example differences' standard deviation over the root of
each ``--units`` (what a held-out part of that size resolves). The docs' issue-36 measurements come from it.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from invlearn.training.run import load_trained

#: The temperatures tried for each run's best (1/4 to 16).
TEMPERATURES = torch.logspace(-0.6, 1.2, 37, dtype=torch.float64).tolist()


def _predictions(run: str, copies: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log_probabilities (N, K) float64, labels (N,))`` of the run's model on its test set."""
    _, data, model, _ = load_trained(run)
    with torch.no_grad():
        output = model.predict(data.test.inputs, copies, torch.Generator().manual_seed(0))
    return torch.log_softmax(output.double(), dim=1), data.test.labels


def _at_best_temperature(log_p: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(per-example NLL, temperature)`` at the temperature with the lowest mean NLL."""
    scored = [(F.cross_entropy(log_p / t, labels, reduction="none"), t) for t in TEMPERATURES]
    return min(scored, key=lambda pair: float(pair[0].mean()))


def _span(run: str, epochs: int) -> str:
    """The range (max - min) of the run's test score over its last ``epochs`` epochs, from its metrics.json."""
    history = json.loads((Path(run) / "metrics.json").read_text())["epochs"][-epochs:]
    scores = [entry[entry["score"]] for entry in history]
    return f"{run}: {history[-1]['score']} over the last {len(scores)} epochs spans {max(scores) - min(scores):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RUN")
    parser.add_argument("--units", type=int, nargs="+", default=[250, 128])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--last-epochs", type=int, help="report each run's score span over its last epochs instead")
    args = parser.parse_args()
    if args.last_epochs:
        print("\n".join(_span(run, args.last_epochs) for run in args.runs))
        return
    torch.set_num_threads(1)
    first = None
    for run in args.runs:
        log_p, labels = _predictions(run, args.copies)
        correct = (log_p.argmax(dim=1) == labels).double()
        tempered, temperature = _at_best_temperature(log_p, labels)
        nll = float(F.cross_entropy(log_p, labels))
        line = f"{run}: accuracy {float(correct.mean()):.3f}, NLL {nll:.3f}"
        line += f", at T={temperature:.2f} {float(tempered.mean()):.3f}"
        if first is None:
            first = (correct, tempered, labels)
        elif torch.equal(first[2], labels):
            for name, gap in (("accuracy", first[0] - correct), ("tempered NLL", first[1] - tempered)):
                errors = ", ".join(f"{float(gap.std()) / math.sqrt(n):.3f} ({n})" for n in args.units)
                line += f"; first minus this, {name}: {float(gap.mean()):+.3f}, standard error {errors}"
        print(line)


if __name__ == "__main__":
    main()
