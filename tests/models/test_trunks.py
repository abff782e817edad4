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
        ("preact_resnet18", {"n_classes": 4, "width": 8}, torch.rand(2, 3, 32, 32)),
        ("sleep_stager", {"n_classes": 4, "in_channels": 2, "sfreq": 100.0}, torch.randn(2, 2, 3000)),
        ("lenet", {"n_classes": 4}, torch.rand(2, 1, 28, 28)),
        ("lenet", {"n_classes": 4, "in_channels": 3, "image_size": 32, "activation": "relu"}, torch.rand(2, 3, 32, 32)),
        ("mlp", {"in_features": 784, "width": 1000, "activation": "tanh"}, torch.rand(2, 1, 28, 28)),
    ],
)
def test_trunks_map_batches_to_logits(name, kwargs, x):
    assert create_trunk(name, **kwargs)(x).shape == (2, 4)


def test_registry():
    assert available_trunks() == ["lenet", "mlp", "preact_resnet18", "signal_cnn", "sleep_stager", "sprite_cnn"]
    with pytest.raises(ValueError, match="unknown trunk name 'resnet'"):
        create_trunk("resnet")
    with pytest.raises(ValueError, match="width and depth must be >= 1"):
        create_trunk("mlp", depth=0)
    with pytest.raises(ValueError, match="activation must be one of"):
        create_trunk("lenet", activation="gelu")
    with pytest.raises(ValueError, match="image_size must be 28 or 32"):
        create_trunk("lenet", image_size=64)


def test_lenet_has_lilas_size():
    # 6*(25+1) + 16*(6*9+1) + 120*(16*25+1) + 84*121 + 10*85 weights and biases on 28 x 28 inputs
    net = create_trunk("lenet")
    assert sum(p.numel() for p in net.parameters()) == 156 + 880 + 48120 + 10164 + 850


def test_mlp_capacity_grid_sizes():
    sizes = [sum(p.numel() for p in create_trunk("mlp", width=w, depth=d).parameters()) for w, d in
             [(1, 1), (2, 1), (2, 2), (2, 3)]]  # fmt: skip
    assert sizes == sorted(sizes) and sizes[0] == 1000 + 1 + 4 * 1 + 4


def test_sleep_stager_mixes_channels_and_checks_its_input():
    net = create_trunk("sleep_stager", in_channels=3, sfreq=50.0).eval()
    x = torch.randn(4, 3, 1500)
    assert net(x).shape == (4, 5)
    grad = torch.autograd.functional.jacobian(lambda v: net(v).sum(), x[:1])
    assert bool((grad.abs().sum(dim=-1) > 0).all())  # every channel reaches the output
    assert not torch.allclose(net(x), net(x.flip(1)))  # the spatial filter tells channels apart
    with pytest.raises(ValueError, match=r"expected input \(B, 3, 1500\)"):
        net(torch.randn(4, 2, 1500))


def test_preact_resnet18_has_the_published_size():
    net = create_trunk("preact_resnet18")
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(11.17e6, rel=0.01)  # 11.2 M parameters
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.modules()) == 1 + 16 + 3  # stem, blocks, shortcuts
