"""How each kind of task is scored: accuracy, mean absolute error, mean intersection over union."""

from __future__ import annotations

import pytest
import torch

from invlearn.training.evaluation import SCORES, MeanAbsoluteError, MeanIoU, evaluate, headline


def _constant(output: torch.Tensor):
    return lambda x, generator=None: output[: x.shape[0]]


def test_the_mean_absolute_error_is_over_examples_and_outputs_in_batches():
    prediction = torch.tensor([[0.5], [1.0], [-1.0]])
    model = lambda x, generator=None: prediction[x[:, 0].long()]  # noqa: E731  (x holds the example's index)
    x, y = torch.arange(3.0)[:, None], torch.tensor([0.0, 1.5, 1.0])
    assert evaluate(model, x, y, MeanAbsoluteError(1), 2, None) == {"test_mae": pytest.approx((0.5 + 0.5 + 2) / 3)}


def test_the_mean_iou_counts_every_class_present_in_targets_or_predictions():
    target = torch.tensor([[[0, 0], [1, 2]]])  # background, class 1, class 2
    logits = torch.zeros(1, 4, 2, 2)
    logits[0, 0, 0, 0] = logits[0, 1, 0, 1] = logits[0, 1, 1, 0] = logits[0, 3, 1, 1] = 1.0  # predicted 0, 1, 1, 3
    results = evaluate(_constant(logits), torch.zeros(1, 1, 2, 2), target, MeanIoU(4), 1, None)
    # class 0: 1 hit / union 2; class 1: 1 / 2; class 2: 0 / 1; class 3: 0 / 1
    assert results == {"test_mean_iou": pytest.approx((0.5 + 0.5 + 0 + 0) / 4), "pixel_accuracy": 0.5}


def test_each_kind_of_task_has_a_score_that_names_its_headline():
    for task, score in SCORES.items():
        assert score.headline in score.keys, task
    assert headline({"test_mae": 0.3, "score": "test_mae"}) == ("test_mae", 0.3)
    assert headline({"test_accuracy": 0.9}) == ("test_accuracy", 0.9)  # runs written before scores were named


def test_every_kind_of_task_has_a_likelihood_and_a_score():
    from invlearn.data import registry
    from invlearn.training import build

    assert set(build.LIKELIHOODS) == set(SCORES) == set(registry.TASKS)
    assert {data.task for data in registry.DATA_SETS.values()} <= set(registry.TASKS)
