"""
Which invariance does my data have? Evidence curves
===================================================

Before learning a range, ask the data at fixed ranges: train a model with one candidate held at each of a few
magnitudes and score each model with both data-driven objectives, in log-likelihood per example (higher is better):
the Laplace evidence of its training data (``marglik``) and the likelihood of held-out examples under its
copy-averaged prediction (``heldout``). If no score moves with the range, no objective can learn it.

The sinusoids of AugNet's paper (Rommel et al., NeurIPS 2022) are classified by frequency and each shifted by up to
+-0.5 Hz: with the frequency shift's scale of 2 Hz the true magnitude is 0.25. ``invlearn evidence`` does the same from
the command line; here it runs on a small setting (an MLP of 32 units, 15 epochs, 2 seeds, 100 examples scored).
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from invlearn.studies import evidence

# The repository's configs, whether this runs from the repository's root or from examples/ (as the docs build does).
CONFIGS = next(folder / "configs" for folder in (Path.cwd(), Path.cwd().parent) if (folder / "configs").is_dir())

runs = evidence.run_configs(
    CONFIGS / "sinusoids-augnet.yaml",
    candidate="frequency_shift",
    magnitudes=[0.0, 0.25, 0.5, 0.75],
    seeds=[0, 1],
    overrides=[
        "data.n_test=100",
        "trainer.epochs=15",
        "optim.weight_decay=0",
        "model.trunk={name: mlp, in_features: 1000, width: 32, depth: 1}",
    ],  # fmt: skip
    scale=2.0,
)
with tempfile.TemporaryDirectory() as out:
    result = evidence.run(runs, out, "frequency_shift", copies=4, examples=100, scale=2.0)

# %%
# Each score's mean per magnitude, and its best range and the widest range within the best one's seed spread.
for name, score in result["scores"].items():
    means = {m: round(entry["mean"], 3) for m, entry in score["magnitudes"].items()}
    print(f"{name}: {means}; best {score['best']}, widest within spread {score['widest_within_spread']}")

# %%
# The curves: every seed (grey) and their mean, the truth dashed.
evidence.figure(result)
plt.show()
