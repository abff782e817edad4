"""Measured invariance of any model to a transform (AugNet's invariance score).

With ``d(a, b) = 1 - cos(a, b)`` on a model's outputs (or on an embedding), the score of an example ``x`` is

    ``inv(x) = (d(f(x), f(x')) - d(f(x), f(T x))) / d(f(x), f(x'))``

where ``x'`` is another example of the batch: 1 means ``f`` ignores ``T``, 0 means ``T`` changes ``f(x)`` as
much as swapping in a different input, negative values mean more (the score has no lower bound: where ``f``
barely tells ``x`` from ``x'``, a small change under ``T`` is already many times that distance). Where ``f(x)``
and ``f(x')`` point the same way (``d`` at most :data:`UNDEFINED_BELOW`: a collapsed model, or one that tells the
two inputs apart by scale alone) the score is undefined: NaN; summarise with ``torch.nanmedian``.

A model that draws random copies (an :class:`~invlearn.models.InvariantModel`) sees the same draws for ``x``
and for ``T x`` (common random numbers), so the score measures ``T`` and not the model's own randomness: the
identity scores 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from invlearn import augmentations
from invlearn._validation import check_finite, check_generator, check_tensor, check_unit_interval
from invlearn.models.invariant import InvariantModel

#: ``d(f(x), f(x'))`` at or below this (float64 rounding of identical directions) leaves the score undefined.
UNDEFINED_BELOW = 1e-9


def _derangement(n: int, generator: torch.Generator | None) -> Tensor:
    """A random permutation of ``range(n)`` without fixed points (a random cycle), ``n >= 2``."""
    order = torch.randperm(n, generator=generator)
    perm = torch.empty_like(order)
    perm[order] = order.roll(-1)
    return perm


def _features(model: nn.Module, x: Tensor, use: str, copies_seed: int) -> Tensor:
    """``(B, D)`` outputs of ``model`` (``use="outputs"``) or of its submodule named ``use``, averaged over
    augmented copies when the submodule sees ``copies * B`` rows."""
    captured: list[Tensor] = []
    hook = None
    if use != "outputs":
        try:
            submodule = model.get_submodule(use)
        except AttributeError as error:
            raise ValueError(f"use must be 'outputs' or the name of a submodule of the model, got {use!r}") from error
        hook = submodule.register_forward_hook(lambda module, args, out: captured.append(out))
    try:
        if isinstance(model, InvariantModel):
            out = model(x, generator=torch.Generator().manual_seed(copies_seed))
        else:
            out = model(x)
    finally:
        if hook is not None:
            hook.remove()
    if use != "outputs":
        if len(captured) != 1 or not isinstance(captured[0], Tensor):
            raise ValueError(f"submodule {use!r} must run exactly once per forward and return a tensor")
        out = captured[0]
    flat = out.reshape(out.shape[0], -1)
    if flat.shape[0] != x.shape[0]:
        flat = flat.view(-1, x.shape[0], flat.shape[1]).mean(dim=0)
    return flat.double()


@torch.no_grad()
def invariance_score(
    model: nn.Module,
    x: Tensor,
    transform: Callable[..., Tensor],
    generator: torch.Generator | None = None,
    use: str = "outputs",
) -> Tensor:
    """Per-example invariance score ``(B,)`` of ``model`` to ``transform`` on the batch ``x``.

    Args:
        model: any module mapping ``x`` to outputs; an :class:`~invlearn.models.InvariantModel` also receives
            ``generator``. Used in its current mode (put it in eval mode to score predictions).
        x: a batch of at least 2 examples (the reference ``x'`` is another example of the batch).
        transform: an augmentation (applied in eval mode, so probabilities are hard) or any callable
            ``transform(x, generator=...)``.
        generator: randomness of the transform, the reference pairing and the model's copies (the same copies
            for ``x`` and for ``T x``).
        use: ``"outputs"`` or the name of a submodule whose output is the embedding to compare.

    Returns:
        ``(B,)`` float64 scores.
    """
    x = check_finite(check_tensor(x, "x"), "x")
    check_generator(generator)
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 examples (the reference is another example), got {x.shape[0]}")
    if isinstance(transform, nn.Module):
        was_training = transform.training
        transform.eval()
    try:
        transformed = transform(x, generator=generator)
    finally:
        if isinstance(transform, nn.Module):
            transform.train(was_training)
    copies_seed = int(torch.randint(2**62, (1,), generator=generator))
    reference = _features(model, x, use, copies_seed)
    moved = _features(model, transformed, use, copies_seed)
    other = reference[_derangement(x.shape[0], generator).to(reference.device)]
    distance = lambda a, b: 1.0 - torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=1)  # noqa: E731
    to_other = distance(reference, other)
    undefined = to_other <= UNDEFINED_BELOW  # rounding noise, not a distance: no scale to compare against
    to_other = torch.where(undefined, torch.full_like(to_other, float("nan")), to_other)
    return (to_other - distance(reference, moved)) / to_other


def invariance_curve(
    model: nn.Module,
    x: Tensor,
    transform_name: str,
    magnitudes: Sequence[float],
    generator: torch.Generator | None = None,
    use: str = "outputs",
    **transform_kwargs,
) -> list[float]:
    """Median invariance score (NaN scores left out) at each magnitude of the registered transform
    ``transform_name``.

    ``transform_kwargs`` go to its constructor (e.g. ``sfreq`` for ``frequency_shift``); for a transform
    without a magnitude the values are its apply-probabilities.
    """
    cls = augmentations.get(transform_name)
    key = "probability" if issubclass(cls, augmentations.ProbabilityAugmentation) else "magnitude"
    medians = []
    for magnitude in magnitudes:
        transform = cls(**{key: check_unit_interval(magnitude, "magnitudes")}, **transform_kwargs).to(x.device)
        scores = invariance_score(model, x, transform, generator=generator, use=use)
        medians.append(float(scores.nanmedian()))
    return medians
