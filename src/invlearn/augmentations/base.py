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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from invlearn._validation import (
    check_batch_param,
    check_choice,
    check_image,
    check_positive,
    check_signal,
    check_unit_interval,
)
from invlearn.ops.relax import bernoulli_mask

Params = dict[str, Tensor]
MODALITIES = ("image", "signal")


def _device_for(generator: torch.Generator | None, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return generator.device if generator is not None else torch.device("cpu")


def uniform(
    shape: Sequence[int], generator: torch.Generator | None, device: torch.device | str | None, low=0.0, high=1.0
) -> Tensor:
    """``U(low, high)`` float32 noise drawn on the generator's device, returned on ``device``."""
    source = generator.device if generator is not None else _device_for(None, device)
    u = torch.rand(tuple(shape), generator=generator, device=source)
    return (low + (high - low) * u).to(_device_for(generator, device))


def normal(shape: Sequence[int], generator: torch.Generator | None, device: torch.device | str | None) -> Tensor:
    """Standard-normal float32 noise drawn on the generator's device, returned on ``device``."""
    source = generator.device if generator is not None else _device_for(None, device)
    return torch.randn(tuple(shape), generator=generator, device=source).to(_device_for(generator, device))


def permutations(
    batch_size: int, n: int, generator: torch.Generator | None, device: torch.device | str | None
) -> Tensor:
    """``(batch_size, n)`` independent random permutations of ``range(n)`` (int64)."""
    keys = uniform((batch_size, n), generator, device)
    return keys.argsort(dim=1)


def _clamp_straight_through(raw: Tensor) -> Tensor:
    """``raw`` clamped to ``[0, 1]`` in value, with the identity's gradient, so a strength pushed past a bound
    by one optimiser step can come back."""
    return raw + (raw.clamp(0.0, 1.0) - raw).detach()


class RandomTransform(nn.Module):
    """A randomised, batched transform with the sample/apply protocol (augmentations, layers, modules).

    Subclasses set ``modality`` (``"image"`` or ``"signal"``) and implement :meth:`sample` and :meth:`apply`.
    """

    modality: str
    #: Parameter keys holding indices into the batch (e.g. sample pairing's partner); see :meth:`concat_params`.
    batch_index_keys: ClassVar[tuple[str, ...]] = ()

    def check_input(self, x: Tensor) -> Tensor:
        """Validate ``x`` for this transform's modality: images ``(B, C, H, W)``, signals ``(B, C, T)``."""
        if isinstance(x, Tensor) and x.ndim != (4 if self.modality == "image" else 3):
            layout = "(B, C, H, W)" if self.modality == "image" else "(B, channels, times)"
            raise ValueError(
                f"x must have {4 if self.modality == 'image' else 3} dimensions {layout} for the {self.modality} "
                f"transform {type(self).__name__}, got shape {tuple(x.shape)}"
            )
        return check_image(x) if self.modality == "image" else check_signal(x)

    def sample(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        shape: Sequence[int] | None = None,
    ) -> Params:
        """Draw the random parameters of ``batch_size`` examples.

        Args:
            batch_size: number of examples.
            generator: source of randomness (default: torch's global generator).
            device: where the parameters live (default: the generator's device, else CPU).
            shape: the shape of one example, ``x.shape[1:]``; needed by augmentations whose noise depends on it
                (Gaussian noise, channel masks, Fourier phases).

        Returns:
            A flat dict of tensors, each with ``batch_size`` as its first dimension. They hold noise, not physical
            values: the current strengths are applied in :meth:`apply`, which is what carries their gradients.
        """
        raise NotImplementedError

    def apply(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """Apply the transform to ``x`` with parameters from :meth:`sample` (exact replay)."""
        raise NotImplementedError

    def sample_copies(
        self,
        copies: int,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        shape: Sequence[int] | None = None,
    ) -> Params:
        """Parameters of ``copies`` consecutive draws of ``batch_size`` examples, concatenated copy-major: the
        parameters of ``x.repeat(copies, ...)`` that ``copies`` separate calls of :meth:`sample` would give."""
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
        x = self.check_input(x)
        if params is None:
            params = self.sample(x.shape[0], generator=generator, device=x.device, shape=tuple(x.shape[1:]))
        out = self.apply(x, params)
        return (out, dict(params)) if return_params else out


class Augmentation(RandomTransform):
    """A differentiable, randomised transform with one learnable strength.

    Subclasses set the class attributes ``name`` (registry key), ``modality`` (``"image"`` or ``"signal"``)
    and ``unit``, and implement :meth:`sample` and :meth:`apply`.
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
        """The raw parameter behind :attr:`strength` (what an optimiser updates and a projection clamps)."""
        raise NotImplementedError

    def range(self) -> tuple[float, float]:
        """The physical interval ``(low, high)`` currently sampled, in :attr:`unit`."""
        raise NotImplementedError

    def _batch_noise(self, x: Tensor, params: Mapping[str, Tensor], key: str, trailing=()) -> Tensor:
        """Fetch ``params[key]`` and check that it matches the batch of ``x``."""
        if key not in params:
            raise ValueError(f"params is missing {key!r} (expected the keys returned by {self.name}.sample)")
        return check_batch_param(params[key], f"params[{key!r}]", x.shape[0], trailing)


class MagnitudeAugmentation(Augmentation):
    """An augmentation whose per-example value is drawn uniformly in ``[-mu * scale, mu * scale]``
    (``[0, mu * scale]`` when ``symmetric`` is false).

    Args:
        magnitude: initial magnitude ``mu`` in ``[0, 1]``.
        scale: physical scale in :attr:`unit` (default: the class's ``default_scale``).
    """

    default_scale: ClassVar[float]
    symmetric: ClassVar[bool] = True

    def __init__(self, magnitude: float = 0.5, scale: float | None = None) -> None:
        super().__init__()
        self._magnitude = nn.Parameter(torch.tensor(check_unit_interval(magnitude, "magnitude")))
        self.scale = check_positive(self.default_scale if scale is None else scale, "scale")

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
        """The physical interval ``(low, high)`` currently sampled, in :attr:`unit`."""
        high = float(self.magnitude.detach()) * self.scale
        return (-high if self.symmetric else 0.0, high)

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        low = -1.0 if self.symmetric else 0.0
        return {"u": uniform((batch_size,), generator, device, low, 1.0)}

    def value(self, params: Mapping[str, Tensor]) -> Tensor:
        """Per-example physical values ``u * mu * scale`` ``(B,)``, differentiable w.r.t. the magnitude."""
        mu = self.magnitude
        return params["u"].to(mu.dtype) * mu * self.scale

    def apply(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        x = self.check_input(x)
        self._batch_noise(x, params, "u")
        return self._augment(x, self.value(params), params)

    def _augment(self, x: Tensor, value: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """Apply the op with per-example physical ``value`` ``(B,)``."""
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

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        return {"u": uniform((batch_size,), generator, device)}

    def mask(self, params: Mapping[str, Tensor]) -> Tensor:
        """Per-example apply-mask ``(B,)``: relaxed in training mode, hard (0 or 1) in eval mode."""
        p = self.probability
        return bernoulli_mask(p, params["u"].to(p.dtype), self.sharpness if self.training else None)

    def apply(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        x = self.check_input(x)
        self._batch_noise(x, params, "u")
        return self._augment(x, self.mask(params))

    def _augment(self, x: Tensor, mask: Tensor) -> Tensor:
        return type(self).op(x, mask)

    def extra_repr(self) -> str:
        return f"probability={float(self.probability.detach()):.4g}"


def check_modality(modality: str | None) -> str | None:
    """Validate a modality filter (``None``, ``"image"`` or ``"signal"``)."""
    return None if modality is None else check_choice(modality, "modality", MODALITIES)
