"""The noise every random transform draws: uniform, standard normal and random permutations.

Each sampler draws on the generator's device (so a seeded ``torch.Generator`` gives the same numbers wherever the
result goes) and returns the result on ``device``. ``device="meta"`` with no generator gives shapes without
drawing anything (used to check replayed parameters).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _devices(generator: torch.Generator | None, device: torch.device | str | None) -> tuple[torch.device, torch.device]:
    """``(where to draw, where to return)``: the generator's device, else ``device``, else the CPU."""
    target = torch.device(device) if device is not None else None
    source = generator.device if generator is not None else (target or torch.device("cpu"))
    return source, target or source


def uniform(
    shape: Sequence[int], generator: torch.Generator | None, device: torch.device | str | None, low=0.0, high=1.0
) -> Tensor:
    """``U(low, high)`` float32 noise of ``shape``."""
    source, target = _devices(generator, device)
    u = torch.rand(tuple(shape), generator=generator, device=source)
    return (low + (high - low) * u).to(target)


def normal(shape: Sequence[int], generator: torch.Generator | None, device: torch.device | str | None) -> Tensor:
    """Standard-normal float32 noise of ``shape``."""
    source, target = _devices(generator, device)
    return torch.randn(tuple(shape), generator=generator, device=source).to(target)


def permutations(
    batch_size: int, n: int, generator: torch.Generator | None, device: torch.device | str | None
) -> Tensor:
    """``(batch_size, n)`` independent random permutations of ``range(n)`` (int64)."""
    return uniform((batch_size, n), generator, device).argsort(dim=1)
