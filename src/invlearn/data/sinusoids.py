"""The sinusoids data set of the AugNet paper: the class is a signal's base frequency.

Four classes with base frequencies 2, 4, 6 and 8 Hz plus a per-example offset uniform in ``[-0.5, 0.5]`` Hz,
a random phase, 10 s at 100 Hz, and white Gaussian noise of standard deviation 0.5; 150 examples per class,
split 400 train / 200 test. The right invariance is a frequency shift of +-0.5 Hz (magnitude 0.25 of
AugNet's 2 Hz scale).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from invlearn.data.split import Split

SFREQ = 100.0
SECONDS = 10.0
BASE_FREQUENCIES = (2.0, 4.0, 6.0, 8.0)
#: Half-width of the per-example frequency offset, Hz.
TRUE_SHIFT_HZ = 0.5
NOISE_STD = 0.5


def make_signals(labels: Tensor, generator: torch.Generator) -> Split:
    """Signals ``(N, 1, 1000)`` of the given classes with random offsets, phases and noise, with the fact
    ``"frequency"`` ``(N,)`` Hz."""
    n = labels.shape[0]
    base = torch.tensor(BASE_FREQUENCIES, dtype=torch.float64)[labels]
    frequencies = base + (2 * torch.rand(n, generator=generator, dtype=torch.float64) - 1) * TRUE_SHIFT_HZ
    phases = 2 * math.pi * torch.rand(n, 1, generator=generator, dtype=torch.float64)
    t = torch.arange(int(SFREQ * SECONDS), dtype=torch.float64) / SFREQ
    clean = torch.sin(2 * math.pi * frequencies.unsqueeze(1) * t + phases)
    noisy = clean + NOISE_STD * torch.randn(clean.shape, generator=generator, dtype=torch.float64)
    return Split(noisy.unsqueeze(1).float(), labels, {"frequency": frequencies.float()}, sfreq=SFREQ)


def load(n_per_class: int = 150, n_train: int = 400, seed: int = 0) -> tuple[Split, Split]:
    """Train and test splits (400 / 200 of 4 x 150 examples, classes shuffled), deterministic given ``seed``."""
    total = n_per_class * len(BASE_FREQUENCIES)
    if not 0 < n_train < total:
        raise ValueError(f"n_train must be in (0, {total}), got {n_train}")
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(len(BASE_FREQUENCIES)).repeat_interleave(n_per_class)
    labels = labels[torch.randperm(total, generator=generator)]
    data = make_signals(labels, generator)
    return data.take(slice(0, n_train)), data.take(slice(n_train, total))
