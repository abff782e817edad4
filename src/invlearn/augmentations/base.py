"""Base classes of the augmentation modules.

An augmentation owns one learnable *strength* and maps it, with per-example random noise, onto the
parameters of one functional op from :mod:`invlearn.ops`:

* :class:`MagnitudeAugmentation`: a magnitude ``mu`` in ``[0, 1]`` and a physical ``scale``; the per-example
  value is ``u * mu * scale`` with ``u ~ U(-1, 1)`` (``U(0, 1)`` where a sign makes no sense). The noise ``u``
  is the sampled parameter, so ``mu`` gets gradients (reparameterisation) and a draw replays exactly.
* :class:`ProbabilityAugmentation`: ops without a magnitude (flips, inversions...) apply with a learnable
  probability ``p``; the apply-mask is relaxed in training mode (gradients reach ``p``) and hard in eval mode.

Sampling is split from application as in kornia: ``params = aug.sample(B, generator)`` then
``aug.apply(x, params)``; ``aug(x, generator)`` does both. Randomness only comes from the given
``torch.Generator`` (or torch's global one when none is given).

Subclasses implement two hooks, :meth:`~invlearn.augmentations.RandomTransform.generate_parameters` and
:meth:`~invlearn.augmentations.RandomTransform.apply_transform`; the public
:meth:`~invlearn.augmentations.RandomTransform.sample`, :meth:`~invlearn.augmentations.RandomTransform.apply` and
``forward`` check their arguments once and call them (see ``invlearn._validation``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from invlearn._validation import (
    check_batch_param,
    check_choice,
    check_count,
    check_generator,
    check_image,
    check_index_param,
    check_permutations,
    check_points,
    check_positive,
    check_signal,
    check_unit_interval,
    checking,
    trusted,
)
from invlearn.augmentations.noise import uniform
from invlearn.ops.geometry import affine
from invlearn.ops.relax import bernoulli_mask

#: A draw's parameters: tensors by name, each with the batch first (what ``sample`` returns and ``apply`` replays).
Params = dict[str, Tensor]
#: The modalities an augmentation is for: images, signals and point sets.
MODALITIES = ("image", "signal", "points")
#: The largest scale of a zoom drawn as ``exp(value)`` (log of the factor): 1000x either way.
MAX_LOG_ZOOM = math.log(1000.0)
#: Per modality: the layout of a batch, and the check of one.
LAYOUTS = {
    "image": ("(B, C, H, W)", check_image),
    "signal": ("(B, channels, times)", check_signal),
    "points": ("(B, points, 3 + channels)", check_points),
}


def parameter_dtype(x: Tensor) -> torch.dtype:
    """The dtype an augmentation's values take for data ``x``: float64 for float64 data, else float32 (the ops
    compute float16 and bfloat16 data in float32, :mod:`invlearn.ops.precision`)."""
    return torch.promote_types(x.dtype, torch.float32)


def _clamp_straight_through(raw: Tensor) -> Tensor:
    """``raw`` clamped to ``[0, 1]`` in value, with the identity's gradient, so a strength pushed past a bound
    by one optimiser step can come back."""
    return raw + (raw.clamp(0.0, 1.0) - raw).detach()


class RandomTransform(nn.Module):
    """A randomised, batched transform with the sample/apply protocol (augmentations, layers, modules).

    Subclasses set ``modality`` (one of :data:`~invlearn.augmentations.base.MODALITIES`) and implement
    :meth:`generate_parameters` and :meth:`apply_transform`.
    """

    modality: str
    #: Parameter keys holding indices into the batch (e.g. sample pairing's partner); see
    #: :meth:`~invlearn.augmentations.RandomTransform.concat_params`.
    batch_index_keys: ClassVar[tuple[str, ...]] = ()
    #: Parameter keys holding one permutation per example (e.g. channel shuffle's), checked on replay.
    permutation_keys: ClassVar[tuple[str, ...]] = ()

    def check_input(self, x: object) -> Tensor:
        """Validate ``x`` for this transform's modality: finite images ``(B, C, H, W)``, signals ``(B, C, T)`` or
        point sets ``(B, N, 3 + C)`` (:data:`~invlearn.augmentations.base.LAYOUTS`)."""
        layout, check = LAYOUTS[self.modality]
        if checking() and isinstance(x, Tensor) and x.ndim != layout.count(",") + 1:
            raise ValueError(
                f"x must have {layout.count(',') + 1} dimensions {layout} for the {self.modality} "
                f"transform {type(self).__name__}, got shape {tuple(x.shape)}"
            )
        return check(x)

    def generate_parameters(
        self,
        batch_size: int,
        generator: torch.Generator | None,
        device: torch.device | str | None,
        shape: Sequence[int] | None,
    ) -> Params:
        """Hook: the noise of ``batch_size`` examples (arguments as in
        :meth:`~invlearn.augmentations.RandomTransform.sample`, already checked)."""
        raise NotImplementedError

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """Hook: transform ``x`` with ``params`` (both already checked)."""
        raise NotImplementedError

    def sample(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        shape: Sequence[int] | None = None,
    ) -> Params:
        """Draw the random parameters of ``batch_size`` examples.

        Args:
            batch_size: number of examples (>= 0).
            generator: source of randomness (default: torch's global generator).
            device: where the parameters live (default: the generator's device, else CPU).
            shape: the shape of one example, ``x.shape[1:]``; needed by augmentations whose noise depends on it
                (Gaussian noise, channel masks, Fourier phases).

        Returns:
            A flat dict of tensors, each with ``batch_size`` as its first dimension. They hold noise, not physical
            values: the current strengths are applied in :meth:`apply`, which is what carries their gradients.
        """
        if checking():
            check_count(batch_size, "batch_size", minimum=0)
            check_generator(generator)
        with trusted():
            return self.generate_parameters(batch_size, generator, device, shape)

    def check_params(self, params: object, batch_size: int | None, shape: Sequence[int] | None) -> Mapping[str, Tensor]:
        """Validate replayed ``params`` against what :meth:`~invlearn.augmentations.RandomTransform.sample` returns for
        this batch: the same keys, shapes and kinds of tensor, finite noise, indices inside the batch and permutations
        where expected. ``batch_size=None`` checks a draw on its own (no input to match): its batch is that of its first
        tensor."""
        if not checking():
            return params  # type: ignore[return-value]
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a mapping of tensors (from {type(self).__name__}.sample)")
        if batch_size is None:
            first = next(iter(params.values()), None)
            batch_size = len(first) if isinstance(first, Tensor) and first.ndim else 0
        expected = self.generate_parameters(batch_size, None, "meta", shape)
        missing, unknown = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
        if missing or unknown:
            raise ValueError(
                f"params must hold the keys returned by {type(self).__name__}.sample; missing {missing}, "
                f"unknown {unknown}"
            )
        for key, reference in expected.items():
            value = check_batch_param(params[key], f"params[{key!r}]", batch_size, tuple(reference.shape[1:]))
            if value.is_floating_point() != reference.is_floating_point():
                kind = "floating-point" if reference.is_floating_point() else "integer"
                raise TypeError(f"params[{key!r}] must be a {kind} tensor, got dtype {value.dtype}")
            if key in self.batch_index_keys:
                check_index_param(value, f"params[{key!r}]", batch_size, tuple(reference.shape[1:]), batch_size)
            if key in self.permutation_keys:
                check_permutations(value, f"params[{key!r}]")
        return params  # type: ignore[return-value]

    def apply(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """Apply the transform to ``x`` with parameters from :meth:`~invlearn.augmentations.RandomTransform.sample`
        (exact replay)."""
        if checking():
            x = self.check_input(x)
            self.check_params(params, x.shape[0], tuple(x.shape[1:]))
        with trusted():
            return self.apply_transform(x, params)

    def warp_matrix(self, params: Mapping[str, Tensor], height: int, width: int) -> Tensor | None:
        """Hook: ``(B, 3, 3)`` sampling matrices (``affine_grid``'s convention) of the pixel motion of a draw, for
        images of ``height`` x ``width``; ``None`` where the transform moves no pixel. Transforms whose motion
        is not one invertible warp per example (a soft mixture of warps, a flip) raise."""
        raise ValueError(
            f"{type(self).__name__} does not move each example by one invertible warp, so a dense target cannot "
            "move with its input; equivariant models take Augerino's distribution, independent candidates that "
            "are all affine, or no augmentation"
        )

    def warp(self, maps: Tensor, params: Mapping[str, Tensor], inverse: bool = False, mode: str = "bilinear") -> Tensor:
        """Move dense maps ``(B, C, H, W)`` of the batch's examples (segmentation targets, or outputs) as the draw
        ``params`` moved the images (:meth:`warp_matrix`), or back with ``inverse``. Targets are moved with
        ``mode="nearest"`` (classes never blend) and zeros outside (class 0, the background); outputs moved
        back take the nearest border value outside."""
        matrix = self.warp_matrix(params, maps.shape[-2], maps.shape[-1])
        if matrix is None:
            return maps
        matrix = torch.linalg.inv(matrix.double()) if inverse else matrix
        padding = "zeros" if mode == "nearest" else "border"
        return affine(maps, matrix.to(maps.dtype), mode, padding, getattr(self, "align_corners", True))

    def sample_copies(
        self,
        copies: int,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        shape: Sequence[int] | None = None,
    ) -> Params:
        """Parameters of ``copies`` consecutive draws of ``batch_size`` examples, concatenated copy-major: the
        parameters of ``x.repeat(copies, ...)`` that ``copies`` separate calls of
        :meth:`~invlearn.augmentations.RandomTransform.sample` would give."""
        draws = [self.sample(batch_size, generator, device, shape) for _ in range(copies)]
        return self.concat_params(draws, batch_size)

    def concat_params(self, draws: Sequence[Mapping[str, Tensor]], batch_size: int) -> Params:
        """Concatenate draws of ``batch_size`` examples along the batch, shifting batch indices by ``c * B``."""
        index_keys = set(self.batch_index_keys)
        return {
            key: torch.cat([d[key] + c * batch_size if key in index_keys else d[key] for c, d in enumerate(draws)])
            for key in draws[0]
        }

    def forward(
        self,
        x: Tensor,
        generator: torch.Generator | None = None,
        *,
        params: Mapping[str, Tensor] | None = None,
        return_params: bool = False,
    ) -> Tensor | tuple[Tensor, Params]:
        """Transform ``x`` with fresh per-example parameters (or the given ``params``).

        Returns the transformed batch, same shape, dtype and device as ``x``; with ``return_params=True`` also
        the parameters used, so the draw can be replayed with :meth:`apply`.
        """
        if checking():
            x = self.check_input(x)
            check_generator(generator)
            if params is not None:
                self.check_params(params, x.shape[0], tuple(x.shape[1:]))
        with trusted():
            if params is None:
                params = self.generate_parameters(x.shape[0], generator, x.device, tuple(x.shape[1:]))
            out = self.apply_transform(x, params)
        return (out, dict(params)) if return_params else out


class Identity(RandomTransform):
    """No augmentation: returns its input; nothing is sampled or learned (the ``none`` method's family).

    Args:
        modality: one of :data:`~invlearn.augmentations.base.MODALITIES`, the inputs it accepts.
    """

    def __init__(self, modality: str = "image") -> None:
        super().__init__()
        self.modality = check_choice(modality, "modality", MODALITIES)

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        return {}

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        return x

    def warp_matrix(self, params, height, width) -> None:
        return None

    def extra_repr(self) -> str:
        return f"modality={self.modality!r}"


class Augmentation(RandomTransform):
    """A differentiable, randomised transform with one learnable strength.

    Subclasses set the class attributes ``name`` (registry key), ``modality`` (one of
    :data:`~invlearn.augmentations.base.MODALITIES`) and ``unit``, and implement the two hooks of
    :class:`RandomTransform`.
    """

    name: ClassVar[str]
    modality: ClassVar[str]
    unit: ClassVar[str] = ""
    #: True where the constructor requires the sampling frequency ``sfreq`` (Hz).
    needs_sfreq: ClassVar[bool] = False

    @property
    def magnitude(self) -> Tensor | None:
        """Learnable magnitude in ``[0, 1]`` (a 0-dim tensor), or ``None`` for ops without one."""
        return None

    @property
    def probability(self) -> Tensor | None:
        """Learnable apply-probability in ``[0, 1]``, or ``None`` for ops with a magnitude."""
        return None

    @property
    def strength(self) -> Tensor:
        """The learnable strength: the magnitude, or the apply-probability where there is no magnitude."""
        value = self.magnitude
        return self.probability if value is None else value

    @property
    def strength_parameter(self) -> nn.Parameter:
        """The raw parameter behind :attr:`~invlearn.augmentations.Augmentation.strength` (what an optimiser updates and
        a projection clamps)."""
        raise NotImplementedError

    def range(self) -> tuple[float, float]:
        """The physical interval ``(low, high)`` currently sampled, in ``unit``."""
        raise NotImplementedError


class MagnitudeAugmentation(Augmentation):
    """An augmentation whose per-example value is drawn uniformly in ``[-mu * scale, mu * scale]``
    (``[0, mu * scale]`` when ``symmetric`` is false).

    Args:
        magnitude: initial magnitude ``mu`` in ``[0, 1]``.
        scale: physical scale in ``unit`` (default: the class's ``default_scale``), at most the class's
            ``max_scale`` (the op's domain: a factor ``1 - value`` must stay >= 0, a probability <= 1...).
        sfreq: sampling frequency in Hz, for the classes with ``needs_sfreq``.

    Subclasses implement :meth:`apply_values`.
    """

    default_scale: ClassVar[float]
    max_scale: ClassVar[float] = math.inf
    symmetric: ClassVar[bool] = True

    def __init__(self, magnitude: float = 0.5, scale: float | None = None, sfreq: float | None = None) -> None:
        super().__init__()
        self._magnitude = nn.Parameter(torch.tensor(check_unit_interval(magnitude, "magnitude")))
        self.scale = check_positive(self.default_scale if scale is None else scale, "scale")
        if self.scale > self.max_scale:
            raise ValueError(f"scale must be at most {self.max_scale:g} for {self.name} (the op's domain), got {scale}")
        if self.needs_sfreq:
            if sfreq is None:
                raise TypeError(f"{self.name} needs the sampling frequency sfreq (Hz)")
            self.sfreq = check_positive(sfreq, "sfreq")

    @property
    def magnitude(self) -> Tensor:
        return _clamp_straight_through(self._magnitude)

    @property
    def strength_parameter(self) -> nn.Parameter:
        return self._magnitude

    def set_magnitude(self, value: float) -> None:
        """Set the magnitude to ``value`` in ``[0, 1]`` (in place, no gradient)."""
        with torch.no_grad():
            self._magnitude.fill_(check_unit_interval(value, "magnitude"))

    def range(self) -> tuple[float, float]:
        """The physical interval ``(low, high)`` currently sampled, in ``unit``."""
        high = float(self.magnitude.detach()) * self.scale
        return (-high if self.symmetric else 0.0, high)

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        low = -1.0 if self.symmetric else 0.0
        return {"u": uniform((batch_size,), generator, device, low, 1.0)}

    def value(self, params: Mapping[str, Tensor]) -> Tensor:
        """Per-example physical values ``u * mu * scale`` ``(B,)``, differentiable w.r.t. the magnitude."""
        mu = self.magnitude
        return params["u"].to(mu.dtype) * mu * self.scale

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        return self.apply_values(x, self.value(params), params)

    def apply_values(self, x: Tensor, value: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """Hook: apply the op with per-example physical ``value`` ``(B,)`` (``params`` for any further noise)."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"magnitude={float(self.magnitude.detach()):.4g}, scale={self.scale:.4g}, unit={self.unit!r}"


class ProbabilityAugmentation(Augmentation):
    """An augmentation without a magnitude, applied to each example with a learnable probability.

    Args:
        probability: initial apply-probability in ``[0, 1]``.
        sharpness: ``k`` of the relaxed mask used in training mode (see :func:`invlearn.ops.bernoulli_mask`);
            evaluation mode uses the hard mask.
    """

    unit: ClassVar[str] = "probability"
    #: The masked op ``op(x, mask)`` of :mod:`invlearn.ops`, ``mask`` of shape ``(B,)`` in ``[0, 1]``.
    op: ClassVar[Callable[[Tensor, Tensor], Tensor]]

    def __init__(self, probability: float = 0.5, sharpness: float = 20.0) -> None:
        super().__init__()
        self._probability = nn.Parameter(torch.tensor(check_unit_interval(probability, "probability")))
        self.sharpness = check_positive(sharpness, "sharpness")

    @property
    def probability(self) -> Tensor:
        return _clamp_straight_through(self._probability)

    @property
    def strength_parameter(self) -> nn.Parameter:
        return self._probability

    def set_probability(self, value: float) -> None:
        """Set the apply-probability to ``value`` in ``[0, 1]`` (in place, no gradient)."""
        with torch.no_grad():
            self._probability.fill_(check_unit_interval(value, "probability"))

    def range(self) -> tuple[float, float]:
        """``(0, p)``: the apply-probability, for reports."""
        return (0.0, float(self.probability.detach()))

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        return {"u": uniform((batch_size,), generator, device)}

    def mask(self, params: Mapping[str, Tensor]) -> Tensor:
        """Per-example apply-mask ``(B,)``: relaxed in training mode, hard (0 or 1) in eval mode."""
        p = self.probability
        return bernoulli_mask(p, params["u"].to(p.dtype), self.sharpness if self.training else None)

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        return type(self).op(x, self.mask(params))

    def extra_repr(self) -> str:
        return f"probability={float(self.probability.detach()):.4g}"


def check_modality(modality: str | None) -> str | None:
    """Validate a modality filter (``None`` or one of :data:`~invlearn.augmentations.base.MODALITIES`)."""
    return None if modality is None else check_choice(modality, "modality", MODALITIES)
