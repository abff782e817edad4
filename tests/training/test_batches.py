"""TensorBatches: the order depends only on (seed, epoch); a position hook resumes mid-epoch."""

from __future__ import annotations

import pytest
import torch

from invlearn.training.batches import TensorBatches

X, Y = torch.arange(10.0).view(10, 1), torch.arange(10)


def labels(batches):
    return [y.tolist() for _, y in batches]


def test_epochs_reshuffle_deterministically_and_cover_every_example():
    a, b = TensorBatches(X, Y, 4, shuffle=True, seed=1), TensorBatches(X, Y, 4, shuffle=True, seed=1)
    first, second = labels(a), labels(a)
    assert first == labels(b) and second == labels(b)
    assert first != second and sorted(sum(first, [])) == list(range(10))
    assert len(a) == 3 and [len(batch) for batch in first] == [4, 4, 2]


def test_position_hook_selects_epoch_and_start():
    reference = TensorBatches(X, Y, 4, shuffle=True, seed=2)
    epochs = [labels(reference) for _ in range(3)]
    resumed = TensorBatches(X, Y, 4, shuffle=True, seed=2)
    resumed.position = lambda n_batches: (2, 1)
    assert labels(resumed) == epochs[2][1:]


def test_unshuffled_order_and_resumable_state():
    batches = TensorBatches(X, Y, 5, shuffle=False)
    assert labels(batches) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    batches.load_state_dict(batches.state_dict())
    with pytest.raises(ValueError, match="do not match"):
        batches.load_state_dict({"seed": 9, "shuffle": False, "n": 10})
    with pytest.raises(ValueError, match="same length"):
        TensorBatches(X, Y[:3], 2, shuffle=False)


def test_from_the_refit_epoch_the_held_out_examples_join_and_epochs_keep_their_length():
    batches = TensorBatches(X, Y, 3, shuffle=True, seed=4, kept=6, refit_from=2)
    before = [labels(batches) for _ in range(2)]
    after = [sum(labels(batches), []) for _ in range(20)]
    plain = TensorBatches(X[:6], Y[:6], 3, shuffle=True, seed=4)
    assert before == [labels(plain) for _ in range(2)]  # until epoch 2, the batches of the first 6 alone
    assert all(len(epoch) == len(set(epoch)) == 6 for epoch in after) and len(batches) == 2
    assert set(sum(after, [])) == set(range(10))  # then 6 a time drawn from all 10
    state = batches.state_dict()
    assert state == {"seed": 4, "shuffle": True, "n": 10, "kept": 6, "refit_from": 2}
    with pytest.raises(ValueError, match="do not match"):
        TensorBatches(X, Y, 3, shuffle=True, seed=4).load_state_dict(state)
    with pytest.raises(ValueError, match="go together"):
        TensorBatches(X, Y, 3, shuffle=True, kept=6)
    with pytest.raises(ValueError, match="go together"):
        TensorBatches(X, Y, 3, shuffle=True, kept=11, refit_from=1)
