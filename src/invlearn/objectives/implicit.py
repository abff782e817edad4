"""The weights' response to the ranges by implicit differentiation, for a held-out hyper-gradient.

Where the weights ``w*(alpha)`` minimise the training loss ``L_T(w, alpha)`` of ranges ``alpha``, the implicit
function theorem gives their response ``dw*/dalpha = - H^-1 d(grad_w L_T)/dalpha`` (``H`` the training loss's
Hessian in the weights), so the held-out loss ``L_V(w*(alpha), alpha)`` has the gradient

    ``dL_V/dalpha = dL_V/dalpha (direct)  -  d/dalpha [ p . grad_w L_T ],   p = H^-1 grad_w L_V``

(Lorraine, Vicol and Duvenaud, AISTATS 2020). ``p`` is approximated by the first terms of the Neumann series
``H^-1 = a * sum_j (I - a H)^j``, one Hessian-vector product per term (MADAO, Hataya et al., WACV 2022, uses 5). The
step ``a`` is the inverse of the curvature along the held-out gradient ``v`` itself (``|v| / |H v|``), which needs
no product beyond the series' first; a term that grows (the series diverging along a direction of higher or
negative curvature) ends the series there. Unlike one unrolled step, the response counts as many steps as the
series has terms, each of the size that the curvature allows, whatever the weights' optimizer is.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _dot(first: Sequence[Tensor], second: Sequence[Tensor]) -> Tensor:
    return sum((a * b).sum() for a, b in zip(first, second, strict=True))


def _norm(vector: Sequence[Tensor]) -> float:
    return float(torch.sqrt(_dot(vector, vector)))


def implicit_response(
    training_loss: Tensor,
    weights: Sequence[Tensor],
    held_out_gradient: Sequence[Tensor],
    ranges: Sequence[Tensor],
    terms: int,
) -> list[Tensor | None]:
    """The indirect part of the held-out hyper-gradient, ``- d/dalpha [ p . grad_w L_T ]`` with ``p`` the Neumann
    approximation of ``H^-1 v`` (see the module), one entry per range (``None`` where the training loss does not
    depend on it).

    Args:
        training_loss: the weights' scalar loss on a training batch, with its graph through ``weights`` and the
            ranges (an augmented batch drawn by reparameterisation).
        weights: the trunk's trainable weights ``w``.
        held_out_gradient: ``v = grad_w L_V``, one tensor per weight (detached).
        ranges: the parameters ``alpha`` whose gradient is returned.
        terms: Neumann terms after the first (``v`` itself), ``>= 1``, one Hessian-vector product each.
    """
    grads = torch.autograd.grad(training_loss, weights, create_graph=True)

    def hessian_times(vector: Sequence[Tensor]) -> list[Tensor]:
        return [h.detach() for h in torch.autograd.grad(grads, weights, grad_outputs=vector, retain_graph=True)]

    vector = [v.detach() for v in held_out_gradient]
    curved = hessian_times(vector)
    size, curvature = _norm(vector), _norm(curved)
    if size == 0.0 or curvature == 0.0:
        return [None] * len(ranges)
    step = size / curvature
    total, term, term_size = list(vector), vector, size
    for index in range(terms):
        curved = curved if index == 0 else hessian_times(term)
        following = [t - step * h for t, h in zip(term, curved, strict=True)]
        following_size = _norm(following)
        if not following_size <= term_size:  # the series diverges along some direction: stop before it grows
            break
        total = [s + t for s, t in zip(total, following, strict=True)]
        term, term_size = following, following_size
    inverse = [step * s for s in total]
    mixed = torch.autograd.grad(_dot(inverse, grads), ranges, allow_unused=True)
    return [None if g is None else -g for g in mixed]
