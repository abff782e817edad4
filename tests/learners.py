"""Small trunks and data shared by the learner tests."""

from __future__ import annotations

import math

import torch
from torch import nn

from invlearn import AugmentationLayer, augmentations
from invlearn.objectives import HyperStep

SFREQ = 32.0


class TinyImageTrunk(nn.Module):
    """Conv + global pooling + linear: fast, with batch norm so train/eval modes matter."""

    def __init__(self, n_classes: int = 3, channels: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, n_classes)

    def forward(self, x):
        return self.head(torch.relu(self.norm(self.conv(x))).mean(dim=(2, 3)))


class TinySignalTrunk(nn.Module):
    """A 1-D convolution with a long kernel, rectified and pooled, then a linear head."""

    def __init__(self, n_classes: int = 2, channels: int = 1, kernel: int = 31) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, 8, kernel, padding=kernel // 2)
        self.head = nn.Linear(8, n_classes)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(dim=-1))


def all_candidates(modality: str) -> list[augmentations.Augmentation]:
    """One instance of every registered augmentation of a modality (sfreq where needed)."""
    out = []
    for name in augmentations.available(modality):
        cls = augmentations.get(name)
        out.append(cls(sfreq=SFREQ) if cls.needs_sfreq else cls())
    return out


def image_layer(**kwargs) -> AugmentationLayer:
    return AugmentationLayer(all_candidates("image"), **kwargs)


def sinusoids(frequencies, n_per_class: int, seconds: float = 4.0, seed: int = 0, noise: float = 0.1):
    """Signals ``(N, 1, T)`` whose class is their frequency, random phase (hence symmetric under sign flip)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * SFREQ)) / SFREQ
    xs, ys = [], []
    for label, freq in enumerate(frequencies):
        phase = 2 * math.pi * torch.rand(n_per_class, 1, generator=g)
        wave = torch.sin(2 * math.pi * freq * t + phase) + noise * torch.randn(n_per_class, t.numel(), generator=g)
        xs.append(wave.unsqueeze(1))
        ys.append(torch.full((n_per_class,), label))
    return torch.cat(xs), torch.cat(ys)


def hypergradient_and_finite_difference(model, objective, held, x, y, n_data: int) -> tuple[float, float]:
    """The gradient of ``objective.hyper_loss`` w.r.t. the model's first candidate's magnitude at 0.4, and its
    central finite difference, the same held-out batch and copies (``seeded(0)``) each time."""
    magnitude = model.augmentation.candidates[0]._magnitude

    def loss_at(value: float) -> torch.Tensor:
        with torch.no_grad():
            magnitude.fill_(value)
        objective.hold_out(*held, seed=0)
        return objective.hyper_loss(HyperStep(model, x, y, n_data, torch.Generator().manual_seed(0)))

    (grad,) = torch.autograd.grad(loss_at(0.4), [magnitude])
    step = 1e-6
    numerical = (loss_at(0.4 + step) - loss_at(0.4 - step)) / (2 * step)
    return float(grad), float(numerical.detach())


#: The learning families every objective must train.
FAMILIES = ("augnet", "augerino", "independent")


def family_model(family: str):
    """A :class:`TinyImageTrunk` behind one of :data:`FAMILIES`: rotation and x shift as AugNet's layer or as
    independent candidates, or Augerino's six generators."""
    from invlearn import Augerino, AugNet, Independent, UniformLieAffine

    torch.manual_seed(0)
    trunk = TinyImageTrunk()
    candidates = [augmentations.create("rotate", magnitude=0.3), augmentations.create("translate_x", magnitude=0.2)]
    if family == "augnet":
        return AugNet(trunk, AugmentationLayer(candidates))
    if family == "augerino":
        return Augerino(trunk, UniformLieAffine(init_width=0.3))
    return Independent(trunk, candidates)
