"""
Augmentation search against a learned invariance
================================================

AugNet's paper claims that learning the augmentation inside the network is faster than a bilevel search and as
accurate as the best augmentation. The compute study (``kind: compute``) measures it: every method trains the same
trunk, and the table shows its test score against its *total* seconds (a search's own seconds plus the final training
it selects; a grid's every point). The full studies are ``configs/search-vs-learned-fmnist.yaml`` and
``configs/search-vs-learned-sleep.yaml`` (their results are on the results pages).

Here, in small: the sinusoids with an MLP, 10 epochs, one seed; no augmentation, RandAugment's grid over two values
of N, DADA's search then its final training, AugNet's layer and the held-out objective over the same ops.
"""

import contextlib
import io
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import yaml

from invlearn.cli import main

# The repository's configs, whether this runs from the repository's root or from examples/ (as the docs build does).
CONFIGS = next(folder / "configs" for folder in (Path.cwd(), Path.cwd().parent) if (folder / "configs").is_dir())
ops = "model.candidates=[{name: frequency_shift, scale: 2.0}, {name: time_shift}, {name: gaussian_noise}]"
learned = (
    "model.candidates=[{name: frequency_shift, magnitude: 0.05, scale: 2.0}, {name: time_shift, magnitude: 0.05},"
    " {name: gaussian_noise, magnitude: 0.05}]"
)
study = {
    "study": "search-vs-learned-small",
    "kind": "compute",
    "base": str(CONFIGS / "sinusoids-augnet.yaml"),
    "seeds": [0],
    "set": ["trainer.epochs=10", "trainer.progress_bar=false", "model.trunk={name: mlp, in_features: 1000, width: 32}"],
    "methods": {
        "none": {"set": ["model.method=none", "model.layers=null"]},
        "randaugment": {
            "set": ["model.method=policy", "model.layers=null", ops, "model.policy={name: randaugment}"],
            "grid": {"model.policy.n_ops": [1, 2], "model.policy.magnitude": [0.5]},
        },
        "dada": {
            "set": ["model.method=policy", "model.layers=null", ops],
            "search": ["model.method=dada", "model.objective=unrolled", "model.policy={top: 3}"],
        },
        "augnet": {"set": []},
        "heldout": {
            "set": [
                "model.method=independent",
                "model.objective=heldout",
                "model.layers=null",
                learned,
                "optim.weight_decay=0",
            ],
        },
    },
}
out = Path(tempfile.mkdtemp())
(out / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
with contextlib.redirect_stdout(io.StringIO()):  # the command's JSON result; study.md below is the readable one
    assert main(["study", str(out / "study.yaml"), "--out", str(out / "study")]) == 0

# %%
# ``study.md``: per method the median score and seconds over the seeds.
print((out / "study" / "study.md").read_text())

# %%
# ``accuracy-vs-seconds.png``: every method's score against its total seconds.
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.imshow(plt.imread(out / "study" / "accuracy-vs-seconds.png"))
ax.axis("off")
fig.tight_layout()
