"""Relaxations that let gradients reach the parameters of discrete operations.

* :func:`~invlearn.ops.straight_through` returns the exact (hard) value in the forward pass and the gradient of a
  smooth surrogate in the backward pass.
* :func:`~invlearn.ops.bernoulli_mask` turns uniform noise into an apply-mask with probability ``p``: hard
  (``u < p``) or a logistic relaxation that is exactly 0 at ``p = 0`` and differentiable in ``p``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from invlearn.ops.precision import in_float32


@in_float32
def straight_through(hard: Tensor, soft: Tensor) -> Tensor:
    """Value of ``hard`` (bit-exact), gradient of ``soft`` (same shape): ``hard + (soft - soft.detach())``."""
    return hard.detach() + (soft - soft.detach())


@in_float32
def bernoulli_mask(probability: Tensor, uniform: Tensor, sharpness: float | None = None) -> Tensor:
    """Per-entry apply-mask ``1[u < p]``, hard or relaxed.

    Args:
        probability: ``p`` in ``[0, 1]``, broadcastable against ``uniform``.
        uniform: noise ``u`` drawn from ``U[0, 1)``.
        sharpness: ``None`` for the hard mask; otherwise ``k`` of the relaxation
            ``1 - sigmoid(k (u - p)) / sigmoid(k u)``, which is exactly 0 at ``p = 0``, tends to the hard mask
            as ``k`` grows and has a non-zero gradient in ``p`` (also at ``p = 0``).

    Returns:
        The mask, in ``[0, 1]``, with the broadcast shape and ``uniform``'s dtype.
    """
    p = probability.to(uniform.dtype)
    if sharpness is None:
        return (uniform < p).to(uniform.dtype)
    return 1.0 - torch.sigmoid(sharpness * (uniform - p)) / torch.sigmoid(sharpness * uniform)
