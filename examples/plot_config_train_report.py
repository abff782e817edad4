"""
Train from a config, then report
================================

The command line runs the same learners from YAML configs: ``invlearn train CONFIG.yaml --out DIR --set KEY=VALUE``
writes a run directory (the resolved config, checkpoints, ``metrics.json``), and ``invlearn report DIR [DIR ...]``
writes a Markdown report with plots. Every key and its default is in the config reference.

Here the sinusoids of AugNet's paper (classified by frequency, each shifted by up to +-0.5 Hz) train twice on a small
setting: with AugNet's published objective, and with the held-out objective over the same candidates. The commands are
run through :func:`invlearn.cli.main`, which takes the command line's arguments; in a shell, drop the Python around
them.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from invlearn.cli import main

# The repository's configs, whether this runs from the repository's root or from examples/ (as the docs build does).
CONFIGS = next(folder / "configs" for folder in (Path.cwd(), Path.cwd().parent) if (folder / "configs").is_dir())
CONFIG = CONFIGS / "sinusoids-augnet.yaml"
small = ["trainer.epochs=20", "trainer.progress_bar=false", "model.trunk={name: mlp, in_features: 1000, width: 32}"]
heldout = [
    "model.method=independent", "model.objective=heldout", "model.layers=null", "optim.weight_decay=0",
    "model.candidates=[{name: frequency_shift, magnitude: 0.05, scale: 2.0}, {name: ft_surrogate, magnitude: 0.05,"
    " scale: 0.1}, {name: gaussian_noise, magnitude: 0.05, scale: 0.1}]",
]  # fmt: skip

out = Path(tempfile.mkdtemp())
for name, sets in (("augnet", small), ("heldout", small + heldout)):
    arguments = ["train", str(CONFIG), "--out", str(out / name)]
    for setting in sets:
        arguments += ["--set", setting]
    assert main(arguments) == 0  # prints the run's final metrics as one JSON line

# %%
# ``invlearn report`` puts the runs side by side: the learned ranges per epoch (the true shift drawn in), AugNet's
# candidate weights and the test accuracy.
assert main(["report", str(out / "augnet"), str(out / "heldout"), "--out", str(out / "report.md")]) == 0
print((out / "report.md").read_text()[:1500])

# %%
# The ranges plot of the report.
fig, ax = plt.subplots(figsize=(8, 4))
ax.imshow(plt.imread(out / "report-ranges.png"))
ax.axis("off")
fig.tight_layout()
