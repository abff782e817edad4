"""Images with a known transformation applied at random to every example, so the right invariance is known (the
protocol of rotated MNIST and of LILA's transformed Fashion-MNIST: one group per variant, uniform over a fixed
range, independently per image, in the training and the test set alike).

Ranges (the truth a learner should recover), in the units of :mod:`invlearn.augmentations`:

- ``rotate``: angle uniform in ``[-pi, pi]`` rad (the full circle);
- ``translate``: x and y shifts each uniform in ``[-0.15, 0.15]`` of the size (about 4 pixels at 28 x 28, which
  keeps a centred MNIST digit inside the frame);
- ``scale``: log zoom uniform in ``[-ln 1.5, ln 1.5]`` (factors 0.67 to 1.5).

Another half-range can be given (``half_range``; ``data.transform_range`` in configs), e.g. LILA's variants
(Immer, van der Ouderaa et al., NeurIPS 2022): rotation +-pi/2, shifts of +-8 px of 28 (8/28 of the size), zooms
``e^U(-ln 2, ln 2)``.
"""

from __future__ import annotations

import math

import torch

from invlearn import ops
from invlearn.data.split import Split

#: Half-width of each variant's range (rad, fraction of the size, log of the zoom factor).
TRUE_RANGES = {"rotate": math.pi, "translate": 0.15, "scale": math.log(1.5)}


def transform(
    split: Split, kind: str, generator: torch.Generator, half_range: float | None = None, chunk: int = 4096
) -> Split:
    """``split`` with transformation ``kind`` (a key of :data:`TRUE_RANGES`, or ``"none"``) drawn per image
    from ``generator``, uniform over ``+-half_range`` (default: :data:`TRUE_RANGES`); bilinear, zero padding.
    The drawn values become the fact ``kind`` (``(N,)``, ``(N, 2)`` x/y for ``translate``). Deterministic given
    the generator's state."""
    if kind == "none":
        return split
    if kind not in TRUE_RANGES:
        raise ValueError(f"kind must be one of {['none', *TRUE_RANGES]}, got {kind!r}")
    if half_range is not None and not (math.isfinite(half_range) and half_range > 0):
        raise ValueError(f"half_range must be a finite number > 0, got {half_range!r}")
    n, half = len(split), TRUE_RANGES[kind] if half_range is None else half_range
    values = (2 * torch.rand((n, 2) if kind == "translate" else (n,), generator=generator) - 1) * half
    warp = {"rotate": ops.rotate, "translate": ops.translate, "scale": lambda x, v: ops.scale(x, v.exp())}[kind]
    parts = [warp(split.inputs[i : i + chunk], values[i : i + chunk]).clamp_(0.0, 1.0) for i in range(0, n, chunk)]
    return split.with_inputs(torch.cat(parts) if parts else split.inputs, **{kind: values})
