"""What a kind of task (:data:`invlearn.data.registry.TASKS`) means for a learner: the likelihood its outputs are
read with, and whether its targets move with the input."""

from __future__ import annotations

from invlearn.objectives import Categorical, Gaussian, Likelihood

#: The kind of task -> the likelihood its outputs are read with.
LIKELIHOODS: dict[str, type[Likelihood]] = {
    "classification": Categorical,
    "regression": Gaussian,
    "segmentation": Categorical,
}
#: Kinds of task whose dense targets move with the input (equivariant models).
EQUIVARIANT_TASKS = ("segmentation",)
