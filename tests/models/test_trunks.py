"""The trunk registry and the trunks' shapes."""

from __future__ import annotations

import pytest
import torch

from invlearn.models import available_trunks, create_trunk


@pytest.mark.parametrize(
    "name, kwargs, x",
    [
        ("sprite_cnn", {"n_classes": 4}, torch.rand(2, 3, 32, 32)),
        ("sprite_cnn", {"n_classes": 4, "in_channels": 1, "width": 16}, torch.rand(2, 1, 28, 28)),
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
    assert available_trunks() == [
        "lenet", "mlp", "point_transformer", "preact_resnet18", "signal_cnn", "sleep_stager", "small_unet",
        "sprite_cnn",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown trunk name 'resnet'"):
        create_trunk("resnet")
    with pytest.raises(ValueError, match="width and depth must be >= 1"):
        create_trunk("mlp", depth=0)
    with pytest.raises(ValueError, match="activation must be one of"):
        create_trunk("lenet", activation="gelu")
    with pytest.raises(ValueError, match="image_size must be 28 or 32"):
        create_trunk("lenet", image_size=64)
    with pytest.raises(ValueError, match="width must be a positive number of channels"):
        create_trunk("sprite_cnn", width=0)


def test_sprite_cnn_width_sets_every_layer():
    # convolutions w, 2w, 4w, 8w without bias, each with batch norm (2 per channel), then the linear head
    def size(w: int, c: int = 3, k: int = 4) -> int:
        convs = 9 * (c * w + w * 2 * w + 2 * w * 4 * w + 4 * w * 8 * w)
        return convs + 2 * 15 * w + 8 * w * k + k

    for width in (32, 16):
        net = create_trunk("sprite_cnn", width=width)
        assert sum(p.numel() for p in net.parameters()) == size(width)


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


def test_the_small_unet_gives_classes_per_pixel():
    out = create_trunk("small_unet", n_classes=11, width=4)(torch.rand(2, 1, 48, 48))
    assert out.shape == (2, 11, 48, 48)


def test_the_point_transformer_ignores_order_and_padding_but_not_orientation():
    from invlearn.ops import points

    torch.manual_seed(0)
    trunk = create_trunk("point_transformer", point_channels=6, n_classes=2, width=16, heads=2).eval()
    x = torch.cat([torch.randn(3, 5, 5), torch.ones(3, 5, 1)], dim=-1)
    padded = torch.cat([x, torch.zeros(3, 2, 6)], dim=1)
    with torch.no_grad():
        out = trunk(x)
        assert torch.allclose(trunk(x[:, torch.randperm(5)]), out, atol=1e-5)
        assert torch.allclose(trunk(padded), out, atol=1e-5)
        rotated = points.rotate(x, torch.tensor([[0.0, 0.0, 2.0]]).expand(3, 3))
        assert (trunk(rotated) - out).abs().max() > 1e-3  # not invariant by construction
