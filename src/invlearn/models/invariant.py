"""Invariant models ``h(x) = aggregate_c f(A(x; eps_c))``: AugNet and Augerino as plain ``nn.Module`` s.

One contract for every learner: a trunk behind a random transform, with a ``penalty()`` (the reward for wide
augmentation; 0 for a transform that learns nothing) and ``learned_invariances()``. "No augmentation" is an
:class:`InvariantModel` around :class:`~invlearn.augmentations.Identity`.

All run all ``C`` copies as one batched call of the augmentation and of the trunk: the input is repeated
copy-major to ``(C * B, ...)``, the copies' parameters are drawn copy by copy from the given generator (so a
``C``-copy forward equals the average of ``C`` one-copy forwards drawn from the same generator), and the trunk
outputs are averaged over copies.

An *equivariant* model (``equivariant=True``) has dense outputs that move with its input, ``(B, K, H, W)`` per
pixel: each copy's output is moved back by the inverse of the warp its input was given before the copies are
averaged, ``h(x) = mean_c T_c^-1 f(T_c x)``; in training (:meth:`~invlearn.models.InvariantModel.training_outputs`) the
target moves with the input instead (nearest interpolation, so classes never blend), as Augerino's segmentation does.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from invlearn._validation import check_choice, check_copies, check_generator, checking, trusted
from invlearn.augmentations.base import Augmentation, Params, RandomTransform
from invlearn.families.augerino import FULL_RANGES, UniformLieAffine
from invlearn.families.augnet import AugmentationLayer, AugmentationModule
from invlearn.families.independent import IndependentCandidates

AGGREGATES = ("log_softmax", "mean")
PENALTIES = ("magnitude_weight", "magnitude")
#: Test-time copies unless a model or config says otherwise (the references use 4 to 20).
N_COPIES_EVAL = 4


def _range_entry(candidate: Augmentation, weight: float | None) -> dict:
    """One candidate's entry of ``learned_invariances()``: its weight (``None`` outside a softmax layer), magnitude
    (``None`` for a probability), the physical range ``low``, ``high`` it samples now, the unit, and its ``scale``
    (the range at full strength: its physical scale, or 1 for a probability)."""
    low, high = candidate.range()
    magnitude = candidate.magnitude
    return {
        "weight": weight,
        "magnitude": None if magnitude is None else float(magnitude.detach()),
        "low": low,
        "high": high,
        "unit": candidate.unit,
        "scale": 1.0 if magnitude is None else candidate.scale,
    }


class InvariantModel(nn.Module):
    """A trunk behind a learnable augmentation, averaged over copies.

    Args:
        trunk: any ``nn.Module`` mapping a batch to ``(B, ...)`` outputs (logits for classification).
        augmentation: the random transform applied before the trunk (learnable, fixed, or
            :class:`~invlearn.augmentations.Identity` for no augmentation).
        n_copies_train: copies per example in training mode.
        n_copies_eval: copies per example in eval mode.
        aggregate: ``"log_softmax"`` (classification: mean over copies of ``log_softmax`` over the classes in
            dimension 1 of the outputs, i.e. the log of the geometric mean of the copies' probabilities, up to
            normalisation) or ``"mean"`` (raw outputs averaged, for regression or custom losses).
        equivariant: dense outputs ``(B, K, H, W)`` that move with the input (see the module); the augmentation
            must move each example by one invertible warp
            (:meth:`~invlearn.augmentations.RandomTransform.warp_matrix`).
    """

    def __init__(
        self,
        trunk: nn.Module,
        augmentation: RandomTransform,
        n_copies_train: int = 1,
        n_copies_eval: int = N_COPIES_EVAL,
        aggregate: str = "log_softmax",
        equivariant: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(trunk, nn.Module):
            raise TypeError(f"trunk must be a torch.nn.Module, got {type(trunk).__name__}")
        if not isinstance(augmentation, RandomTransform):
            raise TypeError(f"augmentation must be a RandomTransform, got {type(augmentation).__name__}")
        self.trunk = trunk
        self.augmentation = augmentation
        self.n_copies_train = check_copies(n_copies_train, "n_copies_train")
        self.n_copies_eval = check_copies(n_copies_eval, "n_copies_eval")
        self.aggregate = check_choice(aggregate, "aggregate", AGGREGATES)
        self.equivariant = bool(equivariant)
        if self.equivariant:  # refused now rather than at the first batch
            augmentation.warp_matrix(augmentation.sample(1, torch.Generator()), 8, 8)

    @property
    def n_copies(self) -> int:
        """The number of copies used by the current mode."""
        return self.n_copies_train if self.training else self.n_copies_eval

    def augment(self, x: Tensor, copies: int, generator: torch.Generator | None = None) -> Tensor:
        """``(copies * B, ...)`` augmented copies of ``x``, copy-major, from one batched augmentation call."""
        if checking():
            x = self.augmentation.check_input(x)
            check_copies(copies, "copies")
            check_generator(generator)
        with trusted():
            return self._augmented(x, copies, generator)[0]

    def draw(self, x: Tensor, copies: int, generator: torch.Generator | None = None) -> Params:
        """The random draw of ``copies`` augmented copies of the batch ``x`` ``(B, ...)``, copy-major, as
        :meth:`predict` makes it from ``generator``: the noise alone, which the augmentation's ranges scale when it
        is applied. :meth:`predict` with ``draw=`` evaluates the model again on the same draw, at other weights or
        other ranges (what a bilevel objective compares).

        Raises:
            TypeError, ValueError: ``x`` not an input of the augmentation's kind, ``copies`` outside
                ``[1, MAX_COPIES]``, ``generator`` not a ``torch.Generator``.
        """
        if checking():
            x = self.augmentation.check_input(x)
            check_copies(copies, "copies")
            check_generator(generator)
        with trusted():
            return self._draw(x, copies, generator)

    def _draw(self, x: Tensor, copies: int, generator: torch.Generator | None) -> Params:
        return self.augmentation.sample_copies(copies, x.shape[0], generator, x.device, tuple(x.shape[1:]))

    def _augmented(
        self, x: Tensor, copies: int, generator: torch.Generator | None, draw: Params | None = None
    ) -> tuple[Tensor, Params]:
        """``(copies * B, ...)`` augmented copies of ``x``, copy-major, and the draw that made them (``draw``
        where given)."""
        params = self._draw(x, copies, generator) if draw is None else draw
        repeated = x if copies == 1 else x.repeat(copies, *([1] * (x.ndim - 1)))
        return self.augmentation.apply_transform(repeated, params), params

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Aggregated output ``(B, ...)`` over :attr:`n_copies` augmented copies of ``x``."""
        return self.predict(x, self.n_copies, generator)

    def predict(
        self,
        x: Tensor,
        copies: int,
        generator: torch.Generator | None = None,
        draw: Params | None = None,
        weights: Mapping[str, Tensor] | None = None,
    ) -> Tensor:
        """Aggregated output ``(B, ...)`` over ``copies`` augmented copies of ``x``, whatever the mode; on the given
        ``draw`` (from :meth:`draw` for this ``x`` and ``copies``) instead of a new one from ``generator``, and with
        the trunk's parameters named in ``weights`` (``{name: tensor}`` as ``trunk.named_parameters()`` names them,
        e.g. after a virtual step of its optimizer) in place of its own."""
        if checking():
            x = self.augmentation.check_input(x)
            check_copies(copies, "copies")
            check_generator(generator)
            if draw is not None:
                draw = self.augmentation.check_params(draw, copies * x.shape[0], tuple(x.shape[1:]))
        with trusted():
            inputs, params = self._augmented(x, copies, generator, draw)
            out = (
                self.trunk(inputs)
                if weights is None
                else torch.func.functional_call(self.trunk, dict(weights), (inputs,))
            )
            if self.aggregate == "log_softmax":
                out = torch.log_softmax(out, dim=1)
            if self.equivariant:
                out = self.augmentation.warp(out, params, inverse=True)
        return out.view(copies, x.shape[0], *out.shape[1:]).mean(dim=0)

    def training_outputs(
        self, x: Tensor, target: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(output, target)`` a training loss compares: the aggregated output over :attr:`n_copies` copies and
        ``target`` itself; for an equivariant model, every copy's dense output ``(copies * B, K, H, W)`` with the
        per-pixel ``target`` ``(B, H, W)`` moved as its input was (``(copies * B, H, W)``, copy-major)."""
        if not self.equivariant:
            return self(x, generator), target
        if checking():
            x = self.augmentation.check_input(x)
            check_generator(generator)
            if (
                not isinstance(target, Tensor)
                or target.shape != (x.shape[0], *x.shape[2:])
                or target.is_floating_point()
            ):
                got = f"{tuple(target.shape)} {target.dtype}" if isinstance(target, Tensor) else type(target).__name__
                raise ValueError(
                    f"target must hold a class per pixel, (B, H, W) integers for x {tuple(x.shape)}; got {got}"
                )
        with trusted():
            inputs, params = self._augmented(x, self.n_copies, generator)
            repeated = target.repeat(self.n_copies, *([1] * (target.ndim - 1)))
            moved = self.augmentation.warp(repeated.unsqueeze(1).to(x.dtype), params, mode="nearest")
            return self.trunk(inputs), moved.squeeze(1).round().long()

    def penalty(self) -> Tensor:
        """The regulariser that rewards wide augmentation (subtracted from the loss, times lambda): 0 here, for
        a transform that learns nothing (the identity, a fixed augmentation)."""
        return torch.zeros(())  # a 0-dim tensor combines with a loss on any device

    def extent(self) -> Tensor:
        """How wide the augmentation is, differentiable: a sum over its transforms of the fraction of each one's
        scale it samples now (0 here, for a transform that learns nothing). The held-out objective's Occam term
        (:class:`~invlearn.objectives.HeldOut`) widens it where the data cannot tell ranges apart."""
        return torch.zeros(())

    @torch.no_grad()
    def project_(self) -> None:
        """Clamp every learnable magnitude and probability into ``[0, 1]`` in place; call it after each
        optimiser step (projected gradient descent). Without it a strength pushed below 0 by one step sits
        at 0 in the forward pass while its raw value wanders, and one at exactly 0 gets no reward from the
        L2 penalty (whose gradient vanishes there); projected, a strength at 0 moves up at the first step in
        which the loss allows it."""
        for module in self.augmentation.modules():
            if isinstance(module, Augmentation):
                module.strength_parameter.clamp_(0.0, 1.0)

    def learned_invariances(self) -> dict[str, dict]:
        """JSON-serialisable ``{key: {"weight", "magnitude", "low", "high", "unit"}}`` of what is sampled now
        (empty for a transform that learns nothing)."""
        return {}

    def headline(self) -> tuple[str, dict] | None:
        """``(key, entry)`` of :meth:`learned_invariances` that matters most now (for progress displays), or
        ``None`` where nothing is learned."""
        return None


class AugNet(InvariantModel):
    """AugNet: a trunk behind an :class:`~invlearn.families.augnet.AugmentationModule`.

    Args:
        trunk: any ``nn.Module``.
        augmentation: an :class:`~invlearn.families.AugmentationModule`, one
            :class:`~invlearn.families.AugmentationLayer`, or a list of layers.
        n_copies_train, n_copies_eval, aggregate: see :class:`InvariantModel` (reference: 1 and 4 to 20).
        penalty: ``"magnitude_weight"`` (the published ``|| mu (.) omega ||_2``) or ``"magnitude"`` (the
            ``|| mu ||_2`` ablation); see :meth:`penalty`.
    """

    def __init__(
        self,
        trunk: nn.Module,
        augmentation: AugmentationModule | AugmentationLayer | list[AugmentationLayer],
        n_copies_train: int = 1,
        n_copies_eval: int = N_COPIES_EVAL,
        aggregate: str = "log_softmax",
        penalty: str = "magnitude_weight",
    ) -> None:
        if isinstance(augmentation, AugmentationLayer):
            augmentation = AugmentationModule([augmentation])
        elif isinstance(augmentation, (list, tuple)):
            augmentation = AugmentationModule(augmentation)
        if not isinstance(augmentation, AugmentationModule):
            raise TypeError(
                f"augmentation must be an AugmentationModule, an AugmentationLayer or a list of layers, "
                f"got {type(augmentation).__name__}"
            )
        super().__init__(trunk, augmentation, n_copies_train, n_copies_eval, aggregate)
        self.penalty_kind = check_choice(penalty, "penalty", PENALTIES)

    def penalty(self) -> Tensor:
        """``|| mu (.) omega ||_2`` over all layers' candidates (``penalty="magnitude_weight"``), or the ablation
        ``|| mu ||_2`` (``penalty="magnitude"``); candidates without a magnitude contribute their probability."""
        terms = []
        for layer in self.augmentation.layers:
            strengths = torch.stack([candidate.strength for candidate in layer.candidates])
            terms.append(strengths * layer.weights if self.penalty_kind == "magnitude_weight" else strengths)
        return torch.cat(terms).norm()

    def extent(self) -> Tensor:
        """``sum mu (.) omega`` over all layers' candidates: each candidate's strength (fraction of its scale)
        times its weight."""
        return sum(
            (torch.stack([c.strength for c in layer.candidates]) * layer.weights).sum()
            for layer in self.augmentation.layers
        )

    def learned_invariances(self) -> dict[str, dict]:
        out = {}
        for i, layer in enumerate(self.augmentation.layers):
            for candidate, weight in zip(layer.candidates, layer.weights.detach().tolist(), strict=True):
                out[f"{i}.{candidate.name}"] = _range_entry(candidate, weight)
        return out

    def headline(self) -> tuple[str, dict]:
        """The most-weighted candidate (of the first layer where several layers tie)."""
        return max(self.learned_invariances().items(), key=lambda item: item[1]["weight"])


class Augerino(InvariantModel):
    """Augerino: a trunk behind a :class:`~invlearn.families.augerino.UniformLieAffine` distribution.

    Args:
        trunk: any ``nn.Module`` on images.
        augmentation: the distribution; default ``UniformLieAffine()`` over all six generators.
        n_copies_train, n_copies_eval, aggregate, equivariant: see :class:`InvariantModel` (reference: 1 and 20).
        width_cap: widths past this value are no longer rewarded by :meth:`penalty` (each width capped
            separately). ``None`` (default) rewards without bound, as the plain method does.
        safe_limit: the reference code's "safe" variant, used in all of its experiments: once any width reaches
            this value (10 there) the whole reward is switched off, until every width is back below it.
    """

    def __init__(
        self,
        trunk: nn.Module,
        augmentation: UniformLieAffine | None = None,
        n_copies_train: int = 1,
        n_copies_eval: int = N_COPIES_EVAL,
        aggregate: str = "log_softmax",
        width_cap: float | None = None,
        safe_limit: float | None = None,
        equivariant: bool = False,
    ) -> None:
        augmentation = UniformLieAffine() if augmentation is None else augmentation
        if not isinstance(augmentation, UniformLieAffine):
            raise TypeError(f"augmentation must be a UniformLieAffine, got {type(augmentation).__name__}")
        super().__init__(trunk, augmentation, n_copies_train, n_copies_eval, aggregate, equivariant)
        if width_cap is not None and not width_cap > 0:
            raise ValueError(f"width_cap must be > 0 or None, got {width_cap!r}")
        self.width_cap = None if width_cap is None else float(width_cap)
        if safe_limit is not None and not safe_limit > 0:
            raise ValueError(f"safe_limit must be > 0 or None, got {safe_limit!r}")
        self.safe_limit = None if safe_limit is None else float(safe_limit)

    def penalty(self) -> Tensor:
        """``|| softplus(width_raw) ||_2``, each width capped at ``width_cap`` when one is set, and 0 while any
        width is at or past ``safe_limit`` (chosen on the device, without reading the widths back)."""
        widths = self.augmentation.widths
        if self.width_cap is not None:
            widths = widths.clamp(max=self.width_cap)
        reward = widths.norm()
        if self.safe_limit is not None:
            reward = torch.where((widths >= self.safe_limit).any(), torch.zeros_like(reward), reward)
        return reward

    def extent(self) -> Tensor:
        """Each generator's half-range over its full range (:data:`~invlearn.families.augerino.FULL_RANGES`:
        the full circle, half the image, a zoom or stretch by 2, a shear of 1), summed."""
        return self.augmentation.extent()

    def learned_invariances(self) -> dict[str, dict]:
        return {
            name: {
                "weight": None,
                "magnitude": None,
                "low": r["low"],
                "high": r["high"],
                "unit": r["unit"],
                "scale": FULL_RANGES[name],
            }
            for name, r in self.augmentation.ranges().items()
        }

    def headline(self) -> tuple[str, dict]:
        """The rotation where it is learned, else the first generator."""
        report = self.learned_invariances()
        key = "rotate" if "rotate" in report else next(iter(report))
        return key, report[key]


class Independent(InvariantModel):
    """A trunk behind :class:`~invlearn.families.independent.IndependentCandidates`: every candidate on every example,
    each with its own learnable range (LILA's parameterisation, for any candidate of the catalogue).

    Args:
        trunk: any ``nn.Module``.
        augmentation: the candidates (an :class:`~invlearn.families.IndependentCandidates`, or a list of
            augmentations / names).
        n_copies_train, n_copies_eval, aggregate, equivariant: see :class:`InvariantModel`.
    """

    def __init__(
        self,
        trunk: nn.Module,
        augmentation: IndependentCandidates | list,
        n_copies_train: int = 1,
        n_copies_eval: int = N_COPIES_EVAL,
        aggregate: str = "log_softmax",
        equivariant: bool = False,
    ) -> None:
        if isinstance(augmentation, (list, tuple)):
            augmentation = IndependentCandidates(augmentation)
        if not isinstance(augmentation, IndependentCandidates):
            kind = type(augmentation).__name__
            raise TypeError(f"augmentation must be IndependentCandidates or a list of augmentations, got {kind}")
        super().__init__(trunk, augmentation, n_copies_train, n_copies_eval, aggregate, equivariant)

    def penalty(self) -> Tensor:
        """``|| mu ||_2`` over the candidates' strengths (AugNet's reward without weights), for the published
        reward objective."""
        return torch.stack([candidate.strength for candidate in self.augmentation.candidates]).norm()

    def extent(self) -> Tensor:
        """``sum mu``: the candidates' strengths (each a fraction of its scale), summed."""
        return torch.stack([candidate.strength for candidate in self.augmentation.candidates]).sum()

    def learned_invariances(self) -> dict[str, dict]:
        return {candidate.name: _range_entry(candidate, None) for candidate in self.augmentation.candidates}

    def headline(self) -> tuple[str, dict]:
        """The candidate with the largest strength (fraction of its scale)."""
        strengths = [float(c.strength.detach()) for c in self.augmentation.candidates]
        candidate = self.augmentation.candidates[strengths.index(max(strengths))]
        return candidate.name, self.learned_invariances()[candidate.name]
