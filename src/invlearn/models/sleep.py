"""A compact sleep-staging network after Chambon et al. (2018), "A deep learning architecture for temporal
sleep stage classification using multivariate and multimodal time series", written from the paper's description.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SleepStager(nn.Module):
    """Spatial filtering, then two temporal convolution blocks, dropout and a linear classifier.

    The input ``(B, C, T)`` (one 30 s epoch of ``C`` EEG channels at ``sfreq`` Hz) is first mixed into ``C``
    virtual channels by a learned linear spatial filter; each virtual channel then goes through two blocks of
    [convolution over time (``time_conv_s`` seconds, ``n_filters`` filters), ReLU, max pooling
    (``pool_s`` seconds)] shared across channels; the features of all channels are concatenated.

    Args:
        in_channels: EEG channels ``C``.
        sfreq: sampling frequency, Hz.
        n_classes: outputs (logits), 5 sleep stages by default.
        input_seconds: epoch length, s.
        n_filters: temporal filters per block.
        time_conv_s: temporal kernel length, s (0.5 s in the paper).
        pool_s: pooling length, s (0.125 s in the paper).
        dropout: dropout before the classifier.
    """

    def __init__(
        self,
        in_channels: int = 2,
        sfreq: float = 100.0,
        n_classes: int = 5,
        input_seconds: float = 30.0,
        n_filters: int = 8,
        time_conv_s: float = 0.5,
        pool_s: float = 0.125,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        if in_channels < 1 or sfreq <= 0 or input_seconds <= 0:
            raise ValueError(
                f"need in_channels >= 1, sfreq > 0, input_seconds > 0; got {in_channels}, {sfreq}, {input_seconds}"
            )
        kernel = max(1, int(round(time_conv_s * sfreq)))
        pool = max(1, int(round(pool_s * sfreq)))
        self.spatial = nn.Conv2d(1, in_channels, (in_channels, 1))
        self.temporal = nn.Sequential(
            nn.Conv2d(1, n_filters, (1, kernel), padding=(0, kernel // 2)),
            nn.BatchNorm2d(n_filters),
            nn.ReLU(),
            nn.MaxPool2d((1, pool)),
            nn.Conv2d(n_filters, n_filters, (1, kernel), padding=(0, kernel // 2)),
            nn.BatchNorm2d(n_filters),
            nn.ReLU(),
            nn.MaxPool2d((1, pool)),
            nn.Flatten(),
        )
        times = int(round(input_seconds * sfreq))
        with torch.no_grad():
            n_features = self.temporal(torch.zeros(1, 1, in_channels, times)).shape[1]
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_features, n_classes))
        self.in_channels, self.times = in_channels, times

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[1:] != (self.in_channels, self.times):
            raise ValueError(f"expected input (B, {self.in_channels}, {self.times}), got {tuple(x.shape)}")
        mixed = self.spatial(x.unsqueeze(1)).transpose(1, 2)  # (B, 1, C virtual, T)
        return self.head(self.temporal(mixed))
