"""Trunks for 1-D signals ``(B, channels, times)``."""

from __future__ import annotations

from torch import Tensor, nn

from invlearn.models.activations import activation_module


class SignalCNN(nn.Module):
    """Two 1-D convolutions, the first with a long kernel, then global average pooling and a linear head.

    Args:
        in_channels: signal channels.
        n_classes: outputs (logits).
        kernel_size: length of the first kernel in samples (default 101: 1 s at 100 Hz, so it can resolve
            frequencies a fraction of a hertz apart).
        width: channels of both convolutions.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 4, kernel_size: int = 101, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(in_channels, width, kernel_size, padding=kernel_size // 2),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Conv1d(width, width, 9, padding=4),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class MLP(nn.Module):
    """A multilayer perceptron on the flattened input (signals or images): ``depth`` hidden layers of ``width``
    units (the capacity study's (width, depth) grid: (1, 1), (2, 1), (2, 2), (2, 3); LILA's MNIST MLP: width
    1000, depth 1, tanh).

    Args:
        in_features: size of one flattened example (``channels * times``, ``C * H * W``).
        n_classes: outputs (logits).
        width: units per hidden layer.
        depth: hidden layers (>= 1).
        activation: ``"relu"`` or ``"tanh"``.
    """

    def __init__(
        self, in_features: int = 1000, n_classes: int = 4, width: int = 2, depth: int = 1, activation: str = "relu"
    ) -> None:
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(f"width and depth must be >= 1, got width={width}, depth={depth}")
        layers: list[nn.Module] = [nn.Flatten()]
        previous = in_features
        for _ in range(depth):
            layers += [nn.Linear(previous, width), activation_module(activation)]
            previous = width
        layers.append(nn.Linear(previous, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
