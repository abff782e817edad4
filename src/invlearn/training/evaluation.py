"""The one evaluation routine of every run: test accuracy during training, ``invlearn eval`` and studies.

A model is evaluated in eval mode with its test-time copies drawn from a generator seeded with
``seed + seeds.EVALUATION``. During training its batch-norm statistics are recomputed on a fixed slice of the
training set before each evaluation (:func:`recalibrate_batch_norm`); the checkpoint saved after the evaluation
holds them, and ``invlearn eval`` and studies evaluate with those.
"""

from __future__ import annotations

import torch
from torch import Tensor

from invlearn.metrics import invariance_score
from invlearn.models import InvariantModel
from invlearn.training.build import Data, create_augmentation

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


@torch.no_grad()
def evaluate(
    model: InvariantModel, inputs: Tensor, labels: Tensor, n_classes: int, batch_size: int, generator: torch.Generator
) -> tuple[float, float]:
    """``(accuracy, balanced accuracy)`` of ``model`` (in eval mode) on ``inputs`` in batches of ``batch_size``."""
    counts = torch.zeros(n_classes, 2, dtype=torch.float64)
    for start in range(0, labels.shape[0], batch_size):
        end = start + batch_size
        counts += class_counts(model, inputs[start:end], labels[start:end], n_classes, generator)
    return accuracies(counts)


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
    transform = create_augmentation(entry, data)
    return float(invariance_score(model, data.test.inputs, transform, generator=generator).nanmedian())
