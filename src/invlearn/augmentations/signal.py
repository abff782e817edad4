"""Signal augmentations ``(B, channels, times)``, one class per registry name, each directly below
:class:`~invlearn.augmentations.MagnitudeAugmentation` or :class:`~invlearn.augmentations.ProbabilityAugmentation`
(the channel events share a mixin, :class:`ChannelEvents`, beside it).

Augmentations whose unit is a time or a frequency take the sampling frequency ``sfreq`` (Hz) at construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from torch import Tensor

from invlearn import ops
from invlearn._validation import check_choice, check_positive
from invlearn.augmentations.base import MagnitudeAugmentation, Params, ProbabilityAugmentation, parameter_dtype
from invlearn.augmentations.noise import normal, permutations, uniform
from invlearn.augmentations.registry import register
from invlearn.ops.relax import bernoulli_mask


def _example_shape(shape: Sequence[int] | None, name: str) -> tuple[int, int]:
    if shape is None or len(shape) != 2:
        raise ValueError(f"{name}.sample needs shape=(channels, times) of one example, got {shape!r}")
    return int(shape[0]), int(shape[1])


@register
class TimeShift(MagnitudeAugmentation):
    """Delay by ``v`` seconds, uniform in ``[-mu s, mu s]`` (default s = 0.5 s); ``padding_mode`` as in
    :func:`invlearn.ops.time_shift`."""

    name, modality, unit, default_scale, needs_sfreq = "time_shift", "signal", "s", 0.5, True

    def __init__(self, sfreq: float, magnitude=0.5, scale=None, padding_mode: str = "zeros") -> None:
        super().__init__(magnitude, scale, sfreq)
        self.padding_mode = check_choice(padding_mode, "padding_mode", ops.geometry.PADDINGS)

    def apply_values(self, x, value, params):
        return ops.time_shift(x, value * self.sfreq, self.padding_mode)


@register
class FrequencyShift(MagnitudeAugmentation):
    """Shift all frequencies by ``v`` Hz, uniform in ``[-mu s, mu s]`` (default s = 2 Hz, at most the Nyquist
    frequency ``sfreq / 2``)."""

    name, modality, unit, default_scale, needs_sfreq = "frequency_shift", "signal", "Hz", 2.0, True

    def __init__(self, sfreq: float, magnitude=0.5, scale=None) -> None:
        super().__init__(magnitude, scale, sfreq)
        if self.scale > self.sfreq / 2:
            raise ValueError(f"scale must be at most the Nyquist frequency {self.sfreq / 2:g} Hz, got {scale}")

    def apply_values(self, x, value, params):
        return ops.frequency_shift(x, value, self.sfreq)


@register
class TimeMask(MagnitudeAugmentation):
    """Zero a window of ``v`` seconds, ``v`` uniform in ``[0, mu s]`` (default s = 1 s), placed uniformly
    inside the signal, with logistic edges of ``sharpness`` per sample."""

    name, modality, unit, default_scale, needs_sfreq = "time_mask", "signal", "s", 1.0, True
    symmetric = False

    def __init__(self, sfreq: float, magnitude=0.5, scale=None, sharpness: float = 1.0) -> None:
        super().__init__(magnitude, scale, sfreq)
        self.sharpness = check_positive(sharpness, "sharpness")

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        params = super().generate_parameters(batch_size, generator, device, shape)
        params["start"] = uniform((batch_size,), generator, device)
        return params

    def apply_values(self, x, value, params):
        length = (value * self.sfreq).clamp(max=x.shape[-1])
        start = params["start"].to(parameter_dtype(x)) * (x.shape[-1] - length)
        return ops.time_mask(x, start, length, self.sharpness)


@register
class AmplitudeScale(MagnitudeAugmentation):
    """Multiply by ``1 + v``, ``v`` uniform in ``[-mu s, mu s]`` (default s = 0.5, at most 1)."""

    name, modality, unit, default_scale = "amplitude_scale", "signal", "relative factor (factor = 1 + value)", 0.5
    max_scale = 1.0  # the factor stays >= 0 (sign_flip flips)

    def apply_values(self, x, value, params):
        return ops.amplitude_scale(x, 1.0 + value)


@register
class GaussianNoise(MagnitudeAugmentation):
    """Add white Gaussian noise of standard deviation uniform in ``[0, mu s]`` (default s = 0.2, in the
    signal's units)."""

    name, modality, unit, default_scale, symmetric = "gaussian_noise", "signal", "standard deviation", 0.2, False

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        channels, times = _example_shape(shape, self.name)
        params = super().generate_parameters(batch_size, generator, device, shape)
        params["noise"] = normal((batch_size, channels, times), generator, device)
        return params

    def apply_values(self, x, value, params):
        return ops.gaussian_noise(x, value, params["noise"])


@register
class FTSurrogate(MagnitudeAugmentation):
    """Fourier-transform surrogate: phase noise of magnitude uniform in ``[0, mu s]`` (default s = 1) times
    random phases in ``[0, 2 pi)``, shared by all channels unless ``channel_independent``."""

    name, modality, unit, default_scale, symmetric = "ft_surrogate", "signal", "phase-noise magnitude", 1.0, False

    def __init__(self, magnitude=0.5, scale=None, channel_independent: bool = False) -> None:
        super().__init__(magnitude, scale)
        self.channel_independent = bool(channel_independent)

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        channels, times = _example_shape(shape, self.name)
        params = super().generate_parameters(batch_size, generator, device, shape)
        phase_channels = channels if self.channel_independent else 1
        params["phases"] = uniform((batch_size, phase_channels, times // 2 + 1), generator, device, 0.0, 2 * math.pi)
        return params

    def apply_values(self, x, value, params):
        return ops.ft_surrogate(x, value, params["phases"])


class ChannelEvents:
    """Mixin of the channel events (dropout, shuffle) over :class:`~invlearn.augmentations.MagnitudeAugmentation`:
    each channel is hit with probability ``p``, uniform in ``[0, mu s]`` per example (default s = 1, at most 1);
    the per-channel mask is relaxed with ``sharpness`` in training mode and hard in eval mode."""

    unit, default_scale, max_scale, symmetric = "probability per channel", 1.0, 1.0, False

    def __init__(self, magnitude=0.5, scale=None, sharpness: float = 20.0) -> None:
        super().__init__(magnitude, scale)
        self.sharpness = check_positive(sharpness, "sharpness")

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        params = super().generate_parameters(batch_size, generator, device, shape)
        channels, _ = _example_shape(shape, self.name)
        params["channel_u"] = uniform((batch_size, channels), generator, device)
        return params

    def channel_mask(self, value: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """``(B, channels)`` mask of the channels the event hits."""
        channel_u = params["channel_u"].to(value.dtype)
        return bernoulli_mask(value.unsqueeze(1), channel_u, self.sharpness if self.training else None)


@register
class ChannelDropout(ChannelEvents, MagnitudeAugmentation):
    """Zero each channel with probability ``p`` (see :class:`ChannelEvents`)."""

    name, modality = "channel_dropout", "signal"

    def apply_values(self, x, value, params):
        return ops.channel_dropout(x, self.channel_mask(value, params))


@register
class ChannelShuffle(ChannelEvents, MagnitudeAugmentation):
    """Replace each channel, with probability ``p``, by the channel a per-example random permutation assigns
    to it (see :class:`ChannelEvents`)."""

    name, modality = "channel_shuffle", "signal"
    permutation_keys = ("permutation",)

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        params = super().generate_parameters(batch_size, generator, device, shape)
        params["permutation"] = permutations(batch_size, params["channel_u"].shape[1], generator, device)
        return params

    def apply_values(self, x, value, params):
        return ops.channel_shuffle(x, params["permutation"], self.channel_mask(value, params))


@register
class TimeReverse(ProbabilityAugmentation):
    """Reverse time with a learnable probability."""

    name, modality, op = "time_reverse", "signal", staticmethod(ops.time_reverse)


@register
class SignFlip(ProbabilityAugmentation):
    """Negate the signal with a learnable probability."""

    name, modality, op = "sign_flip", "signal", staticmethod(ops.sign_flip)
