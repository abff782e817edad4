"""The evidence curve: the Laplace log marginal likelihood of models trained at fixed augmentation ranges.

    .venv/bin/python scripts/evidence.py CONFIG --candidate NAME --magnitudes 0,0.25,0.5 [--seeds 0,1,2]
        [--out runs/evidence] [--set KEY=VALUE ...] [--hold '[{"name": ..., "magnitude": ...}]']

Where the marginal-likelihood learner does not find a task's known range, this tells whether the objective itself
prefers that range (then the optimisation is at fault) or is flat or peaked elsewhere (then the data, through this
model, do not pin the range). For each seed and magnitude, ``invlearn train CONFIG`` trains the
independent-candidates learner with the one named candidate held at that magnitude, after any ``--hold`` candidates
held at theirs (``--set`` first, e.g. the task), on the marginal likelihood's MAP loss with its initial prior
precision and no hyper-step (burn-in past the last epoch); then ``log p(D | magnitude) / N`` is estimated on the
training set at the trained weights: KFAC factors with the exact output-gradient factor, over the training set (its
first ``--examples``) in batches of ``--batch`` (each batch standing for the whole set, as in a hyper-step),
averaged, at the prior precision that maximises it (a grid of ``10^-3 .. 10^3``) and, for a regression's Gaussian
likelihood, the noise that does (``10^-2`` to ``10``). The likelihood is the task's
(:data:`invlearn.training.build.LIKELIHOODS`); per-pixel classes take one sampled label per pixel, other tasks the
exact factor. Prints and writes ``<out>/evidence.json``: per magnitude, the value per seed and the mean.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import torch

from invlearn.objectives import laplace
from invlearn.objectives.likelihoods import Gaussian
from invlearn.training import build, config, run

PRIOR_GRID = torch.logspace(-3, 3, 61, dtype=torch.float64)
#: A regression's noise standard deviations tried (the target's unit).
NOISE_GRID = torch.logspace(-2, 1, 31, dtype=torch.float64)


def _numbers(kind: type):
    """An argparse type: a comma-separated list of ``kind`` (``"0,0.25"``), refused with a clear message."""

    def parse(text: str) -> list:
        try:
            return [kind(item) for item in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s, got {text!r}") from None

    return parse


def _candidate_list(text: str) -> list:
    """An argparse type: a JSON list of candidate entries (``[{"name": "rotate_about_x", "magnitude": 1}]``)."""
    try:
        entries = json.loads(text)
    except ValueError:
        entries = None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise argparse.ArgumentTypeError(f"expected a JSON list of candidate entries, got {text!r}")
    return entries


def log_evidence(run_dir: Path, batch: int, copies: int, examples: int | None = None) -> float:
    """``max log p(D | eta, delta[, sigma]) / N`` of a trained run on its training set (see the module)."""
    settings, data, model, _ = run.load_trained(run_dir)
    model.train()  # sample the augmentation per example, as in training
    covered = laplace.kfac_layers(model.trunk, settings["marglik"]["layers"])
    likelihood = build.LIKELIHOODS[data.task]().double()  # a Gaussian's noise starts at 1
    noises = NOISE_GRID if isinstance(likelihood, Gaussian) else torch.ones(1, dtype=torch.float64)
    labels = "sampled" if data.task in build.EQUIVARIANT_TASKS else "exact"  # per-pixel classes: sampled
    generator = torch.Generator().manual_seed(settings["seed"])
    x, y, n_data = data.train.inputs, data.train.labels, len(data.train.labels)
    x, y = x[:examples], y[:examples]  # each batch stands for the whole set: fewer batches, a noisier mean
    totals = torch.zeros(len(noises), len(PRIOR_GRID), dtype=torch.float64)
    n_batches = 0
    for start in range(0, len(y), batch):
        xb, yb = x[start : start + batch], y[start : start + batch]
        forward = functools.partial(model.predict, xb, copies, generator)
        output, factors = laplace.kfac_factors(model.trunk, forward, copies, covered, labels, generator, likelihood)
        with torch.no_grad():
            for i, noise in enumerate(noises):  # a Gaussian's factor rows scale as 1 / sigma
                if isinstance(likelihood, Gaussian):
                    likelihood.log_noise_std.fill_(float(noise.log()))
                fit = likelihood.nll(output.double(), yb)
                scaled = [laplace.Factors(f.a.double(), f.g.double() / noise, f.n) for f in factors]
                for j, delta in enumerate(PRIOR_GRID):
                    totals[i, j] += laplace.log_marginal_likelihood(fit, scaled, covered, n_data, delta) / n_data
        n_batches += 1
    return float((totals / n_batches).max())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--candidate", required=True, help="catalogue name of the candidate, e.g. rotate")
    parser.add_argument("--scale", type=float, help="the candidate's scale (its default if not given)")
    parser.add_argument("--magnitudes", required=True, type=_numbers(float), help="comma-separated, in [0, 1]")
    parser.add_argument("--seeds", default=[0, 1, 2], type=_numbers(int), help="comma-separated")
    parser.add_argument("--batch", type=int, default=250, help="examples per KFAC estimate")
    parser.add_argument("--copies", type=int, default=8, help="augmented copies per example in the estimate")
    parser.add_argument("--examples", type=int, help="estimate on the first EXAMPLES training examples (default: all)")
    parser.add_argument("--out", default="runs/evidence")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--hold",
        type=_candidate_list,
        default=[],
        metavar="JSON",
        help='further candidates held at their given strength, e.g. \'[{"name": "rotate_about_x", "magnitude": 1}]\'',
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    result = {"config": args.config, "candidate": args.candidate, "hold": args.hold, "set": args.set, "magnitudes": {}}
    for magnitude in args.magnitudes:
        entry = {"name": args.candidate, "magnitude": magnitude}
        if args.scale is not None:
            entry["scale"] = args.scale
        values = []
        for seed in args.seeds:
            overrides = [
                *args.set,
                f"seed={seed}",
                "model.method=independent",
                "model.objective=marglik",
                "model.layers=null",
                f"model.candidates={json.dumps([*args.hold, entry])}",
                "trainer.progress_bar=false",
            ]
            settings = config.load(args.config, overrides)
            settings["marglik"]["burn_in_epochs"] = settings["trainer"]["epochs"] + 1
            run_dir = out / f"{args.candidate}-{magnitude:g}" / f"seed{seed}"
            if not (run_dir / "metrics.json").exists():
                run.train(settings, run_dir)
            values.append(log_evidence(run_dir, args.batch, args.copies, args.examples))
        mean = sum(values) / len(values)
        result["magnitudes"][f"{magnitude:g}"] = {"per_seed": values, "mean": mean}
        print(f"{args.candidate} {magnitude:g}: {mean:.4f} {values}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evidence.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
