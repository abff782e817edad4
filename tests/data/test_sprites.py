"""The sprites data set: protocol, determinism and the structure that makes rotation in +-pi/4 the answer."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import ops
from invlearn.data import sprites


def test_protocol_shapes_and_ranges():
    train, test = sprites.load(n_train=400, n_test=200, seed=0)
    assert train.inputs.shape == (400, 3, 32, 32) and test.inputs.shape == (200, 3, 32, 32)
    assert train.inputs.dtype == torch.float32 and 0 <= train.inputs.min() and train.inputs.max() <= 1
    assert set(train.labels.tolist()) == {0, 1, 2, 3}
    orientation = (train.labels % 2).float()
    offsets = train.facts["angle"] - orientation * math.pi
    assert offsets.abs().max() <= math.pi / 4 + 1e-6
    assert offsets.min() < -0.6 and offsets.max() > 0.6  # the whole +-pi/4 range is used


def test_deterministic_by_seed():
    a, _ = sprites.load(n_train=50, n_test=10, seed=3)
    b, _ = sprites.load(n_train=50, n_test=10, seed=3)
    c, _ = sprites.load(n_train=50, n_test=10, seed=4)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.inputs, c.inputs)


def test_sprites_are_distinct_and_not_symmetric_under_half_turns():
    bank = sprites.sprite_bank()
    assert bank.shape == (2, 3, 32, 32)
    assert (bank[0] - bank[1]).abs().mean() > 0.05
    for sprite in bank:
        half_turn = torch.rot90(sprite, 2, dims=(-2, -1))
        assert (sprite - half_turn).abs().mean() > 0.05, "upright and upside-down must be told apart"


def test_examples_are_rotated_sprites():
    split = sprites.make_split(8, torch.Generator().manual_seed(1))
    bank = sprites.sprite_bank()
    expected = ops.rotate(bank[split.labels // 2], split.facts["angle"]).clamp(0, 1)
    assert torch.allclose(split.inputs, expected, atol=1e-6)


def test_rejects_empty_split():
    with pytest.raises(ValueError, match="n must be >= 1"):
        sprites.make_split(0, torch.Generator())
