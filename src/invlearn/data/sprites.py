"""The sprites ("Mario-Iggy") data set of the Augerino and AugNet papers, with sprites drawn here.

Two asymmetric 3x32x32 sprites; an example is a sprite rotated by an angle drawn uniformly in
``[-pi/4, pi/4]`` around 0 (upright) or around pi (upside-down). The 4 classes are
``2 * sprite + orientation`` (orientation 1 = upside-down). The right invariance is rotation in ``+-pi/4``:
a wider range confuses the orientations.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from invlearn import ops
from invlearn.data.split import Split

SIZE = 32
#: Half-width of the rotations applied around each orientation, radians.
TRUE_HALF_RANGE = math.pi / 4
N_CLASSES = 4


def _canvas(supersample: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates ``(y, x)`` in ``[-1, 1]`` on a supersampled canvas."""
    n = SIZE * supersample
    axis = (torch.arange(n, dtype=torch.float64) + 0.5) / n * 2 - 1
    return torch.meshgrid(axis, axis, indexing="ij")


def _paint(layers: list[tuple[Tensor, tuple[float, float, float]]], supersample: int = 4) -> Tensor:
    """Composite boolean masks with RGB colours (later layers on top), anti-aliased by averaging."""
    n = SIZE * supersample
    image = torch.zeros(3, n, n, dtype=torch.float64)
    for mask, colour in layers:
        image[:, mask] = torch.tensor(colour, dtype=torch.float64).view(3, 1)
    return F.avg_pool2d(image.unsqueeze(0), supersample)[0].float()


def _walker(supersample: int = 4) -> Tensor:
    """A red walker: cap with a brim pointing right, face, body, and two boots of different heights."""
    y, x = _canvas(supersample)
    cap = ((x / 0.42) ** 2 + ((y + 0.55) / 0.22) ** 2 <= 1) & (y <= -0.45)
    brim = (y > -0.47) & (y < -0.38) & (x > -0.1) & (x < 0.62)
    face = ((x - 0.05) / 0.33) ** 2 + ((y + 0.2) / 0.22) ** 2 <= 1
    eye = ((x - 0.2) / 0.07) ** 2 + ((y + 0.24) / 0.07) ** 2 <= 1
    body = (y > 0.0) & (y < 0.5) & (x.abs() < 0.36)
    boot_left = (y > 0.5) & (y < 0.72) & (x > -0.42) & (x < -0.06)
    boot_right = (y > 0.5) & (y < 0.62) & (x > 0.08) & (x < 0.52)
    return _paint(
        [
            (body, (0.1, 0.2, 0.85)),
            (boot_left | boot_right, (0.45, 0.25, 0.05)),
            (face, (0.95, 0.75, 0.55)),
            (eye, (0.05, 0.05, 0.05)),
            (cap | brim, (0.9, 0.1, 0.1)),
        ],
        supersample,
    )


def _creature(supersample: int = 4) -> Tensor:
    """A green creature: a shell leaning left, a head on the upper right with a spike, one foot."""
    y, x = _canvas(supersample)
    shell = ((x + 0.12) / 0.5) ** 2 + ((y - 0.12) / 0.4) ** 2 <= 1
    rim = (((x + 0.12) / 0.56) ** 2 + ((y - 0.12) / 0.46) ** 2 <= 1) & ~shell
    head = ((x - 0.45) / 0.22) ** 2 + ((y + 0.42) / 0.24) ** 2 <= 1
    spike = (y < -0.55) & (y > -0.85) & ((x - 0.4).abs() < (y + 0.85) * 0.25)
    eye = ((x - 0.52) / 0.06) ** 2 + ((y + 0.46) / 0.06) ** 2 <= 1
    foot = (y > 0.5) & (y < 0.7) & (x > 0.05) & (x < 0.45)
    return _paint(
        [
            (foot, (0.95, 0.6, 0.1)),
            (rim, (0.95, 0.95, 0.85)),
            (shell, (0.15, 0.65, 0.2)),
            (head, (0.6, 0.85, 0.3)),
            (spike, (0.95, 0.95, 0.95)),
            (eye, (0.05, 0.05, 0.05)),
        ],
        supersample,
    )


def sprite_bank() -> Tensor:
    """The two upright sprites, ``(2, 3, 32, 32)`` float32 in ``[0, 1]``."""
    return torch.stack([_walker(), _creature()])


def make_split(n: int, generator: torch.Generator, half_range: float = TRUE_HALF_RANGE) -> Split:
    """``n`` examples: images ``(n, 3, 32, 32)``, classes balanced at random, and the fact ``"angle"``
    ``(n,)`` rad: ``orientation * pi + U(-half_range, half_range)``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    labels = torch.randint(0, N_CLASSES, (n,), generator=generator)
    offsets = (2 * torch.rand(n, generator=generator, dtype=torch.float64) - 1) * half_range
    angles = (labels % 2) * math.pi + offsets
    bank = sprite_bank()
    images = ops.rotate(bank[labels // 2], angles.float()).clamp(0.0, 1.0)
    return Split(images, labels, {"angle": angles.float()})


#: Default sizes of the protocol's train and test splits.
N_TRAIN, N_TEST = 10_000, 5_000


def load(n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0) -> tuple[Split, Split]:
    """The train and test splits of the protocol (10k / 5k), deterministic given ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return make_split(n_train, generator), make_split(n_test, generator)
