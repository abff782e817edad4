"""The trunk registry and the trunks' shapes."""

from __future__ import annotations

import pytest
import torch

from invlearn.models import available_trunks, create_trunk


@pytest.mark.parametrize(
    "name, kwargs, x",
    [
        ("sprite_cnn", {"n_classes": 4}, torch.rand(2, 3, 32, 32)),
        ("signal_cnn", {"n_classes": 4}, torch.randn(2, 1, 1000)),
        ("mlp", {"in_features": 1000, "width": 2, "depth": 3}, torch.randn(2, 1, 1000)),
    ],
)
def test_trunks_map_batches_to_logits(name, kwargs, x):
    assert create_trunk(name, **kwargs)(x).shape == (2, 4)


def test_registry():
    assert available_trunks() == ["mlp", "signal_cnn", "sprite_cnn"]
    with pytest.raises(ValueError, match="unknown trunk name 'resnet'"):
        create_trunk("resnet")
    with pytest.raises(ValueError, match="width and depth must be >= 1"):
        create_trunk("mlp", depth=0)


def test_mlp_capacity_grid_sizes():
    sizes = [sum(p.numel() for p in create_trunk("mlp", width=w, depth=d).parameters()) for w, d in
             [(1, 1), (2, 1), (2, 2), (2, 3)]]  # fmt: skip
    assert sizes == sorted(sizes) and sizes[0] == 1000 + 1 + 4 * 1 + 4
