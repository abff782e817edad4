"""Trunks used by the experiments and benchmarks."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from invlearn.models.activations import activation_module


def _conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU()]


class SpriteCNN(nn.Module):
    """The small 5-layer CNN of the sprites experiment: four 3x3 convolutions of ``width`` x 1, 2, 4 and 8 channels
    (32, 64, 128 and 256 by default), each with batch norm and ReLU, then a linear head.

    The first two convolutions work at full resolution, max-pooling by 2 follows the second and the third,
    and global average pooling the fourth. At width 32, on 128x3x32x32 images, that is about 15 GFLOP per
    forward pass, the cost of the reference trunk (a training step of about 0.5 s on 2 CPU cores).

    Args:
        in_channels: channels of the input images ``(B, in_channels, H, W)``.
        n_classes: outputs (logits) ``(B, n_classes)``.
        width: channels of the first convolution; the FLOPs grow with its square (16: about a quarter).
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 4, width: int = 32) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be a positive number of channels, got {width}")
        self.features = nn.Sequential(
            *_conv_block(in_channels, width),
            *_conv_block(width, 2 * width),
            nn.MaxPool2d(2),
            *_conv_block(2 * width, 4 * width),
            nn.MaxPool2d(2),
            *_conv_block(4 * width, 8 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(8 * width, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class LeNet(nn.Module):
    """LeNet-5 as LILA's image experiments use it (Immer, van der Ouderaa et al., NeurIPS 2022): convolutions of 6
    (5x5), 16 (3x3 on 28 x 28 inputs, else 5x5) and 120 (5x5) channels, the first two each followed by 2x2
    max-pooling, then 84 hidden units and a linear head; no padding and no global pooling, so nothing in it is
    invariant to a shift beyond the pooling's few pixels.

    Args:
        in_channels: channels of the input images ``(B, in_channels, H, W)`` (28 x 28 or 32 x 32).
        n_classes: outputs (logits) ``(B, n_classes)``.
        image_size: height and width of the inputs (28 or 32).
        activation: ``"tanh"`` (LILA's on MNIST) or ``"relu"``.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, image_size: int = 28, activation: str = "tanh"):
        super().__init__()
        if image_size not in (28, 32):
            raise ValueError(f"image_size must be 28 or 32, got {image_size}")
        middle = 3 if image_size == 28 else 5
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5),
            activation_module(activation),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, middle),
            activation_module(activation),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 120, 5),
            nn.Flatten(),
            activation_module(activation),
            nn.Linear(120, 84),
            activation_module(activation),
        )
        self.head = nn.Linear(84, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class SmallUNet(nn.Module):
    """A small U-Net for one class per pixel (segmentation): an encoder of 3x3 convolutions at full, half and
    quarter resolution (``width``, ``2 width``, ``4 width`` channels; max-pooling between them, a dilated
    convolution at the bottom so a 28-pixel digit is seen whole), a decoder that upsamples (nearest) and merges the
    encoder's maps at each resolution, and a 1x1 convolution to the classes. Convolutions and pooling make it
    about shift-equivariant; nothing in it is rotation-equivariant. Height and width must be multiples of 4.

    Args:
        in_channels: channels of the input images ``(B, in_channels, H, W)``.
        n_classes: outputs per pixel, ``(B, n_classes, H, W)``.
        width: channels at full resolution.
        activation: ``"relu"`` or ``"tanh"``.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 11, width: int = 16, activation: str = "relu") -> None:
        super().__init__()

        def conv(inputs: int, outputs: int, dilation: int = 1) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(inputs, outputs, 3, padding=dilation, dilation=dilation), activation_module(activation)
            )

        self.encode_full = conv(in_channels, width)
        self.encode_half = conv(width, 2 * width)
        self.encode_quarter = nn.Sequential(conv(2 * width, 4 * width), conv(4 * width, 4 * width, dilation=2))
        self.decode_half = conv(6 * width, 2 * width)
        self.decode_full = conv(3 * width, width)
        self.head = nn.Conv2d(width, n_classes, 1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: Tensor) -> Tensor:
        full = self.encode_full(x)
        half = self.encode_half(self.pool(full))
        quarter = self.encode_quarter(self.pool(half))
        half = self.decode_half(torch.cat([self.up(quarter), half], dim=1))
        return self.head(self.decode_full(torch.cat([self.up(half), full], dim=1)))
