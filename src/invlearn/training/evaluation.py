"""The one evaluation routine of every run: the test score during training, ``invlearn eval`` and studies.

What is scored depends on the kind of task (:data:`SCORES`): accuracy and balanced accuracy for a classification,
the mean absolute error for a regression (in the target's unit), the mean intersection over union for a
segmentation. Each :class:`Score` counts on every test batch into a float64 state tensor (summed over batches
and processes) and turns the sums into its numbers at the end.

A model is evaluated in eval mode with its test-time copies drawn from a generator seeded with
``seed + seeds.EVALUATION``. During training its batch-norm statistics are recomputed on a fixed slice of the
training set before each evaluation (:func:`recalibrate_batch_norm`); the checkpoint saved after the evaluation
holds them, and ``invlearn eval`` and studies evaluate with those.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from invlearn.metrics import invariance_score
from invlearn.models import InvariantModel
from invlearn.training.build import Data
from invlearn.training.families import create_augmentation

#: Training examples whose activations set the batch-norm statistics before every evaluation.
CALIBRATION_EXAMPLES = 1024


def class_counts(model: InvariantModel, x: Tensor, y: Tensor, n_classes: int, generator: torch.Generator) -> Tensor:
    """``(n_classes, 2)`` float64 counts (correct, seen) per class of the model's predictions on one batch,
    on the CPU (counted there: CUDA's ``bincount`` has no deterministic implementation)."""
    predictions = model(x, generator=generator).argmax(dim=1).cpu()
    y = y.cpu()
    hits = torch.bincount(y, weights=(predictions == y).double(), minlength=n_classes)
    return torch.stack([hits, torch.bincount(y, minlength=n_classes).double()], dim=1)


def accuracies(counts: Tensor) -> tuple[float, float]:
    """``(accuracy, balanced accuracy)`` from per-class ``counts`` ``(n_classes, 2)`` = (correct, seen); the
    balanced accuracy is the mean recall over the classes present."""
    seen = counts[:, 1] > 0
    return float(counts[:, 0].sum() / counts[:, 1].sum()), float((counts[seen, 0] / counts[seen, 1]).mean())


class Score:
    """How a kind of task is scored on a test set.

    Args:
        n_outputs: classes (classification, segmentation) or output dimensions (regression).

    Subclasses set ``keys`` (those of :meth:`results`) and ``headline`` (the one studies and reports show), and
    implement the three methods.
    """

    keys: ClassVar[tuple[str, ...]]
    headline: ClassVar[str]

    def __init__(self, n_outputs: int) -> None:
        self.n_outputs = n_outputs

    def zeros(self) -> Tensor:
        """The empty float64 state the counts of every batch are added to."""
        raise NotImplementedError

    def counts(self, model, x: Tensor, y: Tensor, generator: torch.Generator | None) -> Tensor:
        """The state's counts for one batch (on the CPU)."""
        raise NotImplementedError

    def results(self, state: Tensor) -> dict[str, float]:
        """The numbers of a finished state, ``{headline: ..., ...}``."""
        raise NotImplementedError


class Accuracy(Score):
    """Classification: ``test_accuracy`` and ``balanced_accuracy`` (the mean recall over the classes present)."""

    keys, headline = ("test_accuracy", "balanced_accuracy"), "test_accuracy"

    def zeros(self) -> Tensor:
        return torch.zeros(self.n_outputs, 2, dtype=torch.float64)

    def counts(self, model, x, y, generator):
        return class_counts(model, x, y, self.n_outputs, generator)

    def results(self, state):
        accuracy, balanced = accuracies(state)
        return {"test_accuracy": accuracy, "balanced_accuracy": balanced}


class MeanAbsoluteError(Score):
    """Regression: ``test_mae``, the mean absolute error over examples and output dimensions (target's unit)."""

    keys, headline = ("test_mae",), "test_mae"

    def zeros(self) -> Tensor:
        return torch.zeros(2, dtype=torch.float64)

    def counts(self, model, x, y, generator):
        prediction = model(x, generator=generator)
        error = (prediction - y.reshape(prediction.shape).to(prediction.dtype)).abs().double().cpu()
        return torch.stack([error.sum(), torch.tensor(float(error.numel()), dtype=torch.float64)])

    def results(self, state):
        return {"test_mae": float(state[0] / state[1])}


class MeanIoU(Score):
    """Segmentation: ``test_mean_iou``, the intersection over union of each class (background included) averaged
    over the classes present in the targets or the predictions, and ``pixel_accuracy``."""

    keys, headline = ("test_mean_iou", "pixel_accuracy"), "test_mean_iou"

    def zeros(self) -> Tensor:
        return torch.zeros(self.n_outputs, self.n_outputs, dtype=torch.float64)

    def counts(self, model, x, y, generator):
        prediction = model(x, generator=generator).argmax(dim=1).cpu().flatten()
        pairs = y.cpu().flatten() * self.n_outputs + prediction
        return torch.bincount(pairs, minlength=self.n_outputs**2).double().view(self.n_outputs, self.n_outputs)

    def results(self, state):
        hits = state.diagonal()
        union = state.sum(dim=0) + state.sum(dim=1) - hits
        present = union > 0
        return {
            "test_mean_iou": float((hits[present] / union[present]).mean()),
            "pixel_accuracy": float(hits.sum() / state.sum()),
        }


#: The kind of task (:attr:`invlearn.data.registry.DataSet.task`) -> how it is scored.
SCORES: dict[str, type[Score]] = {"classification": Accuracy, "regression": MeanAbsoluteError, "segmentation": MeanIoU}
#: Every score a run records, over the kinds of task.
SCORE_KEYS = frozenset(key for score in SCORES.values() for key in score.keys)


def headline(results: dict) -> tuple[str, float | None]:
    """``(name, value)`` of the score a run's ``metrics.json`` entry leads with (``score``; runs written before
    it was recorded were classifications, led by ``test_accuracy``)."""
    name = results.get("score", "test_accuracy")
    return name, results.get(name)


@torch.no_grad()
def evaluate(
    model: InvariantModel, inputs: Tensor, labels: Tensor, score: Score, batch_size: int, generator: torch.Generator
) -> dict[str, float]:
    """``score``'s numbers for ``model`` (in eval mode) on ``inputs`` in batches of ``batch_size``."""
    state = score.zeros()
    for start in range(0, labels.shape[0], batch_size):
        end = start + batch_size
        state += score.counts(model, inputs[start:end], labels[start:end], generator)
    return score.results(state)


@torch.no_grad()
def recalibrate_batch_norm(model: InvariantModel, inputs: Tensor, batch_size: int, generator: torch.Generator) -> None:
    """Recompute every batch-norm layer's running statistics on ``inputs``, passed through the model as it is
    evaluated (augmentations sampled as in eval mode), then put those layers back in eval mode.

    Running averages lag behind weights that change fast (weight decay of 1.0 rescales the convolutions at every
    step), and evaluation with stale statistics can fall to chance while training accuracy is perfect, as seen
    with the published AugNet code. This only changes what evaluation uses.

    One augmented copy per example is enough: every copy is drawn from the same distribution, and the evaluation's
    copies (20 on CIFAR-10) would multiply the cost of the pass without new examples."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
        m.train()
    for start in range(0, inputs.shape[0], batch_size):
        model.trunk(model.augment(inputs[start : start + batch_size], 1, generator))  # one copy, as in eval mode
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
        m.eval()


def median_invariance(model: InvariantModel, data: Data, entry: dict, generator: torch.Generator) -> float:
    """The median over ``data``'s test set of ``model``'s invariance score (:func:`invlearn.metrics.invariance_score`)
    to the augmentation a config entry ``{name: ..., **arguments}`` names, drawn from ``generator``; NaN only where
    every score is undefined (a collapsed model)."""
    transform = create_augmentation(entry, data.sfreq)
    return float(invariance_score(model, data.test.inputs, transform, generator=generator).nanmedian())


@torch.no_grad()
def response_slope(model: InvariantModel, data: Data, name: str, value: float, seed: int) -> float:
    """How much ``model``'s prediction (in eval mode, the same test-time draws on both sides) follows the catalogue
    augmentation ``name`` of its test inputs: the central difference ``(h(T_{+v} x) - h(T_{-v} x)) / (2 v)`` at the
    physical value ``v = value``, averaged over the test set and the outputs. 0 is invariant; on the angle
    regression, where rotating a digit by ``v`` adds ``v`` to its target, a perfect model has slope 1. A learned
    range alone cannot say this: averaged over a symmetric range, a response linear in the transformation keeps its
    mean, so a model can sample a wide range and stay as sensitive as one that samples none."""
    transform = create_augmentation({"name": name, "magnitude": 1.0, "scale": value}, data.sfreq).eval()
    x = data.test.inputs
    moved = [
        model(transform.apply(x, {"u": torch.full((x.shape[0],), sign)}), generator=torch.Generator().manual_seed(seed))
        for sign in (1.0, -1.0)
    ]
    return float(((moved[0] - moved[1]) / (2 * value)).mean())
