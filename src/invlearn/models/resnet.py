"""PreAct ResNet-18 for 32 x 32 images (He, Zhang, Ren, Sun 2016, "Identity mappings in deep residual
networks"), the trunk of the published CIFAR-10 experiments; written from the paper's description."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class PreActBlock(nn.Module):
    """Batch norm and ReLU before each of two 3 x 3 convolutions; the shortcut is the identity, or a strided
    1 x 1 convolution of the pre-activated input where the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class PreActResNet18(nn.Module):
    """A 3 x 3 stem, four stages of two :class:`~invlearn.models.resnet.PreActBlock` s (64, 128, 256, 512 channels;
    strides 1, 2, 2, 2), a final batch norm and ReLU, global average pooling and a linear layer.

    Args:
        in_channels: image channels.
        n_classes: outputs (logits) ``(B, n_classes)``.
        width: channels of the first stage (64 in the paper); later stages double it.
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 10, width: int = 64) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        blocks, channels = [], width
        for stage, stride in enumerate((1, 2, 2, 2)):
            out = width * 2**stage
            blocks += [PreActBlock(channels, out, stride), PreActBlock(out, out)]
            channels = out
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(channels)
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.head(F.adaptive_avg_pool2d(out, 1).flatten(1))
