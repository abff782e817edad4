"""Tasks beyond classification built from real digits, each with a known answer to "which invariance?".

* :func:`angles` (regression that must NOT become invariant): each digit rotated by an angle uniform in
  ``+-half_range`` (default ``pi / 2``), the target being that angle in radians: Augerino's rotated-faces
  experiment (Benton et al., NeurIPS 2020) rebuilt on digits. A model invariant to rotation cannot tell the
  angle, so the right learned rotation range is 0.
* :func:`segments` (equivariance): each digit placed at the centre of a ``canvas`` x ``canvas`` black image
  (default 48: a 28-pixel digit stays inside at any angle) and rotated about it by an angle uniform in
  ``+-half_range`` (default ``pi / 2``); the target is a class per pixel, 0 for the background and ``1 + digit``
  where the digit's unrotated intensity exceeds 0.5, rotated with the image by nearest interpolation. The right
  answer is a rotation range of ``half_range``, with the outputs moving with the input.

Both draw from a ``torch.Generator`` and record the drawn angle as the fact ``"rotate"`` and the digit's class as
``"digit"``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from invlearn import ops
from invlearn.data.split import Split

#: Half-range of the rotation of both tasks (rad).
HALF_RANGE = math.pi / 2
#: Side of the segmentation canvas (pixels).
CANVAS = 48
#: Intensity above which a pixel belongs to the digit.
FOREGROUND = 0.5


def _angles_of(split: Split, generator: torch.Generator, half_range: float) -> torch.Tensor:
    return (2 * torch.rand(len(split), generator=generator) - 1) * half_range


def angles(split: Split, generator: torch.Generator, half_range: float = HALF_RANGE) -> Split:
    """Digits ``(N, 1, 28, 28)`` rotated by a drawn angle, the angle ``(N,)`` float32 (rad) as the target."""
    theta = _angles_of(split, generator, half_range)
    inputs = ops.rotate(split.inputs, theta).clamp_(0.0, 1.0)
    facts = {**split.facts, "rotate": theta, "digit": split.labels}
    return Split(inputs, theta.float(), facts, split.sfreq, split.channels)


def segments(split: Split, generator: torch.Generator, half_range: float = HALF_RANGE, canvas: int = CANVAS) -> Split:
    """Digits on a ``canvas``-square image ``(N, 1, canvas, canvas)``, rotated by a drawn angle, with their class
    masks ``(N, canvas, canvas)`` int64 (0: background, ``1 + digit``: the digit) as the target."""
    height, width = split.inputs.shape[-2:]
    top, left = (canvas - height) // 2, (canvas - width) // 2
    padding = (left, canvas - width - left, top, canvas - height - top)
    placed = F.pad(split.inputs, padding)
    classes = (placed[:, 0] > FOREGROUND).long() * (1 + split.labels.view(-1, 1, 1))
    theta = _angles_of(split, generator, half_range)
    inputs = ops.rotate(placed, theta).clamp_(0.0, 1.0)
    masks = ops.rotate(classes[:, None].float(), theta, mode="nearest")[:, 0].round().long()
    facts = {**split.facts, "rotate": theta, "digit": split.labels}
    return Split(inputs, masks, facts, split.sfreq, split.channels)
