"""Signal augmentations ``(B, channels, times)``, one class per registry name.

Augmentations whose unit is a time or a frequency take the sampling frequency ``sfreq`` (Hz) at construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from torch import Tensor

from invlearn import ops
from invlearn._validation import check_choice, check_positive
from invlearn.augmentations.base import (
    MagnitudeAugmentation,
    Params,
    ProbabilityAugmentation,
    normal,
    permutations,
    uniform,
)
from invlearn.augmentations.registry import register
from invlearn.ops.relax import bernoulli_mask


def _example_shape(shape: Sequence[int] | None, name: str) -> tuple[int, int]:
    if shape is None or len(shape) != 2:
        raise ValueError(f"{name}.sample needs shape=(channels, times) of one example, got {shape!r}")
    return int(shape[0]), int(shape[1])


class _SignalMagnitude(MagnitudeAugmentation):
    modality = "signal"


class _TimedSignal(_SignalMagnitude):
    """A signal augmentation whose physical unit needs the sampling frequency ``sfreq`` (Hz)."""

    needs_sfreq = True

    def __init__(self, sfreq: float, magnitude: float = 0.5, scale: float | None = None) -> None:
        super().__init__(magnitude, scale)
        self.sfreq = check_positive(sfreq, "sfreq")


@register
class TimeShift(_TimedSignal):
    """Delay by ``v`` seconds, uniform in ``[-mu s, mu s]`` (default s = 0.5 s); ``padding_mode`` as in
    :func:`invlearn.ops.time_shift`."""

    name, unit, default_scale = "time_shift", "s", 0.5

    def __init__(self, sfreq, magnitude=0.5, scale=None, padding_mode: str = "zeros") -> None:
        super().__init__(sfreq, magnitude, scale)
        self.padding_mode = check_choice(padding_mode, "padding_mode", ops.geometry.PADDINGS)

    def _augment(self, x, value, params):
        return ops.time_shift(x, value * self.sfreq, self.padding_mode)


@register
class FrequencyShift(_TimedSignal):
    """Shift all frequencies by ``v`` Hz, uniform in ``[-mu s, mu s]`` (default s = 2 Hz)."""

    name, unit, default_scale = "frequency_shift", "Hz", 2.0

    def _augment(self, x, value, params):
        return ops.frequency_shift(x, value, self.sfreq)


@register
class TimeMask(_TimedSignal):
    """Zero a window of ``v`` seconds, ``v`` uniform in ``[0, mu s]`` (default s = 1 s), placed uniformly
    inside the signal, with logistic edges of ``sharpness`` per sample."""

    name, unit, default_scale, symmetric = "time_mask", "s", 1.0, False

    def __init__(self, sfreq, magnitude=0.5, scale=None, sharpness: float = 1.0) -> None:
        super().__init__(sfreq, magnitude, scale)
        self.sharpness = check_positive(sharpness, "sharpness")

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        params = super().sample(batch_size, generator, device)
        params["start"] = uniform((batch_size,), generator, device)
        return params

    def _augment(self, x, value, params):
        start_u = self._batch_noise(x, params, "start").to(x.dtype)
        length = (value * self.sfreq).clamp(max=x.shape[-1])
        start = start_u * (x.shape[-1] - length)
        return ops.time_mask(x, start, length, self.sharpness)


@register
class AmplitudeScale(_SignalMagnitude):
    """Multiply by ``1 + v``, ``v`` uniform in ``[-mu s, mu s]`` (default s = 0.5)."""

    name, unit, default_scale = "amplitude_scale", "relative factor (factor = 1 + value)", 0.5

    def _augment(self, x, value, params):
        return ops.amplitude_scale(x, 1.0 + value)


@register
class GaussianNoise(_SignalMagnitude):
    """Add white Gaussian noise of standard deviation uniform in ``[0, mu s]`` (default s = 0.2, in the
    signal's units)."""

    name, unit, default_scale, symmetric = "gaussian_noise", "standard deviation", 0.2, False

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        channels, times = _example_shape(shape, self.name)
        params = super().sample(batch_size, generator, device)
        params["noise"] = normal((batch_size, channels, times), generator, device)
        return params

    def _augment(self, x, value, params):
        return ops.gaussian_noise(x, value, self._batch_noise(x, params, "noise", tuple(x.shape[1:])))


@register
class FTSurrogate(_SignalMagnitude):
    """Fourier-transform surrogate: phase noise of magnitude uniform in ``[0, mu s]`` (default s = 1) times
    random phases in ``[0, 2 pi)``, shared by all channels unless ``channel_independent``."""

    name, unit, default_scale, symmetric = "ft_surrogate", "phase-noise magnitude", 1.0, False

    def __init__(self, magnitude=0.5, scale=None, channel_independent: bool = False) -> None:
        super().__init__(magnitude, scale)
        self.channel_independent = bool(channel_independent)

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        channels, times = _example_shape(shape, self.name)
        params = super().sample(batch_size, generator, device)
        phase_channels = channels if self.channel_independent else 1
        params["phases"] = uniform((batch_size, phase_channels, times // 2 + 1), generator, device, 0.0, 2 * math.pi)
        return params

    def _augment(self, x, value, params):
        return ops.ft_surrogate(x, value, params["phases"])


class _ChannelMasked(_SignalMagnitude):
    """Per-channel events with probability ``p`` uniform in ``[0, mu s]`` per example (default s = 1); the
    per-channel mask is relaxed with ``sharpness`` in training mode and hard in eval mode."""

    unit, default_scale, symmetric = "probability per channel", 1.0, False

    def __init__(self, magnitude=0.5, scale=None, sharpness: float = 20.0) -> None:
        super().__init__(magnitude, scale)
        self.sharpness = check_positive(sharpness, "sharpness")

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        channels, _ = _example_shape(shape, self.name)
        params = super().sample(batch_size, generator, device)
        params["channel_u"] = uniform((batch_size, channels), generator, device)
        return params

    def channel_mask(self, x: Tensor, value: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """``(B, channels)`` mask of the channels the event hits."""
        channel_u = self._batch_noise(x, params, "channel_u", (x.shape[1],)).to(value.dtype)
        return bernoulli_mask(value.unsqueeze(1), channel_u, self.sharpness if self.training else None)


@register
class ChannelDropout(_ChannelMasked):
    """Zero each channel with probability ``p`` (see :class:`_ChannelMasked`)."""

    name = "channel_dropout"

    def _augment(self, x, value, params):
        return ops.channel_dropout(x, self.channel_mask(x, value, params))


@register
class ChannelShuffle(_ChannelMasked):
    """Replace each channel, with probability ``p``, by the channel a per-example random permutation assigns
    to it."""

    name = "channel_shuffle"

    def sample(self, batch_size, generator=None, device=None, shape=None) -> Params:
        params = super().sample(batch_size, generator, device, shape)
        params["permutation"] = permutations(batch_size, params["channel_u"].shape[1], generator, device)
        return params

    def _augment(self, x, value, params):
        return ops.channel_shuffle(x, params["permutation"], self.channel_mask(x, value, params))


@register
class TimeReverse(ProbabilityAugmentation):
    """Reverse time with a learnable probability."""

    name, modality, op = "time_reverse", "signal", staticmethod(ops.time_reverse)


@register
class SignFlip(ProbabilityAugmentation):
    """Negate the signal with a learnable probability."""

    name, modality, op = "sign_flip", "signal", staticmethod(ops.sign_flip)
