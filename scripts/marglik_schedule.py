"""Train the marginal-likelihood runs of ``make demo``'s study at another hyper-step frequency and print, per seed,
the test accuracy, whether the rotation was recovered, the learned ranges and the seconds of the hyper-steps.

    .venv/bin/python scripts/marglik_schedule.py --every-n-steps 10 [--seeds 0 1 2 3 4] [--out runs/marglik-every10]

The benchmarks page's question: would a sparser schedule (LILA's scripts take one hyper-step per epoch; the demo's
1,250 digits in batches of 128 make 10 weight steps an epoch) learn what the demo's every 5 steps learns?
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from invlearn.studies import registry
from invlearn.training import config as configs
from invlearn.training.run import train

DEMO = Path("configs") / "identification-demo.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every-n-steps", type=int, required=True, help="weight steps between two hyper-steps")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=None, help="run folders (default: runs/marglik-every<N>)")
    args = parser.parse_args()
    out = args.out or Path("runs") / f"marglik-every{args.every_n_steps}"
    runs = registry.load_study(DEMO)["runs"]
    for (_, method, seed), config in runs.items():
        if method != "marglik" or seed not in args.seeds:
            continue
        config = copy.deepcopy(config)
        config["marglik"]["every_n_steps"] = args.every_n_steps
        final = train(configs.validate(config), out / f"seed{seed}")["final"]
        ranges = {name: round(entry["high"], 3) for name, entry in final["learned_invariances"].items()}
        recovered = final["identification"]["recovered"]
        print(f"seed {seed}: accuracy {final['test_accuracy']:.3f}, recovered {recovered}, ranges {ranges}, "
              f"hyper-steps {final['hyper_seconds']:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
