"""
The identification study: is the right invariance learned, in how many seeds?
=============================================================================

A study trains a grid of runs (tasks x methods x seeds) whose true invariance is known, and counts in how many seeds
each method recovered it (its learned range within +-30 % of the truth), in how many its test score is as good as
the oracle's (the true transformation at its true range, fixed), the test scores and the seconds. ``invlearn study
STUDY.yaml --out DIR --jobs 2`` does it from the command line; a killed study resumes where it stopped.

This runs part of ``configs/identification-quick.yaml``, the study in miniature that the tests also run: a tiny subset
of the sprites (rotated within +-pi/4), one epoch, 2 seeds, four methods (``--tasks`` and ``--methods`` pick a part
of any study). Its numbers say nothing about the methods; the full study is ``configs/identification.yaml`` (its
results are on the results pages).
"""

import contextlib
import io
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from invlearn.cli import main

# The repository's configs, whether this runs from the repository's root or from examples/ (as the docs build does).
CONFIGS = next(folder / "configs" for folder in (Path.cwd(), Path.cwd().parent) if (folder / "configs").is_dir())
STUDY = CONFIGS / "identification-quick.yaml"
out = Path(tempfile.mkdtemp())
with contextlib.redirect_stdout(io.StringIO()):  # the command's JSON result; study.md below is the readable one
    methods = ["none", "oracle", "augnet", "heldout"]
    arguments = ["study", str(STUDY), "--out", str(out), "--tasks", "sprites", "--methods", *methods]
    assert main(arguments) == 0

# %%
# ``study.md``: one row per task and method, medians over the seeds.
print((out / "study.md").read_text())

# %%
# ``recovered.png``: the heat map of tasks x methods, the fraction of seeds that recovered the truth.
fig, ax = plt.subplots(figsize=(7, 4))
ax.imshow(plt.imread(out / "recovered.png"))
ax.axis("off")
fig.tight_layout()
