"""Shared helpers: small inputs for every modality and the constructor arguments each augmentation needs."""

from __future__ import annotations

import pytest
import torch

from invlearn import augmentations

SFREQ = 16.0
#: Straight-through ops: gradient checks run on their smooth surrogate.
STRAIGHT_THROUGH = {"solarize", "posterize"}

ALL_NAMES = augmentations.available()
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def make_augmentation(name: str, strength: float = 0.5, **kwargs) -> augmentations.Augmentation:
    """Build the registered augmentation ``name`` with its strength (magnitude or probability) set."""
    cls = augmentations.get(name)
    if cls.needs_sfreq:
        kwargs.setdefault("sfreq", SFREQ)
    key = "probability" if issubclass(cls, augmentations.ProbabilityAugmentation) else "magnitude"
    kwargs.setdefault(key, strength)
    return cls(**kwargs)


def make_input(modality: str, dtype=torch.float32, device="cpu", batch: int = 2, seed: int = 0) -> torch.Tensor:
    """Images ``(batch, 3, 6, 6)`` in ``[0.05, 0.95]``, signals ``(batch, 3, 32)`` standard normal, or point sets
    ``(batch, 5, 3 + 2 + 1)``: normal coordinates, two features, the mask (the last point of the first set padded)."""
    g = torch.Generator().manual_seed(seed)
    if modality == "image":
        x = 0.05 + 0.9 * torch.rand(batch, 3, 6, 6, generator=g, dtype=torch.float64)
    elif modality == "points":
        x = torch.cat([torch.randn(batch, 5, 5, generator=g, dtype=torch.float64), torch.ones(batch, 5, 1)], dim=-1)
        x[0, -1] = 0.0
    else:
        x = torch.randn(batch, 3, 32, generator=g, dtype=torch.float64)
    return x.to(device=device, dtype=dtype)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(params=ALL_NAMES)
def name(request) -> str:
    return request.param
