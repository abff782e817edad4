"""Trunks used by the experiments and benchmarks."""

from __future__ import annotations

from torch import Tensor, nn


def _conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU()]


class SpriteCNN(nn.Module):
    """The small 5-layer CNN of the sprites experiment: four 3x3 convolutions of 32, 64, 128 and 256 channels,
    each with batch norm and ReLU, then a linear head.

    The first two convolutions work at full resolution, max-pooling by 2 follows the second and the third,
    and global average pooling the fourth. On 128x3x32x32 images that is about 15 GFLOP per forward pass, the
    cost of the reference trunk (a training step of about 0.5 s on 2 CPU cores).

    Args:
        in_channels: channels of the input images ``(B, in_channels, H, W)``.
        n_classes: outputs (logits) ``(B, n_classes)``.
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 4) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv_block(in_channels, 32),
            *_conv_block(32, 64),
            nn.MaxPool2d(2),
            *_conv_block(64, 128),
            nn.MaxPool2d(2),
            *_conv_block(128, 256),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(256, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
