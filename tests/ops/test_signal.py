"""Signal ops: spectral and temporal reference cases."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import ops


def sinusoid(freq_hz, sfreq=100.0, seconds=10.0, channels=2):
    t = torch.arange(int(sfreq * seconds), dtype=torch.float64) / sfreq
    return torch.sin(2 * math.pi * freq_hz * t).expand(1, channels, -1).clone()


def peak_hz(x, sfreq=100.0):
    spectrum = torch.fft.rfft(x, dim=-1).abs()
    freqs = torch.fft.rfftfreq(x.shape[-1], d=1 / sfreq)
    return freqs.double()[spectrum.argmax(dim=-1)]


@pytest.mark.parametrize("shift", [0.5, 1.7, -2.0])
def test_frequency_shift_moves_the_spectral_peak(shift):
    x = sinusoid(10.0)
    out = ops.frequency_shift(x, torch.tensor([shift]), sfreq=100.0)
    assert torch.allclose(peak_hz(out), torch.full((1, 2), 10.0 + shift, dtype=torch.float64), atol=0.1)


def test_frequency_shift_zero_is_identity():
    x = torch.randn(3, 2, 301, dtype=torch.float64)
    assert torch.allclose(ops.frequency_shift(x, torch.zeros(3), sfreq=50.0), x, atol=1e-10)


def test_sign_flip_twice_is_identity():
    x = torch.randn(4, 3, 50)
    m = torch.tensor([1.0, 0.0, 1.0, 1.0])
    assert torch.equal(ops.sign_flip(ops.sign_flip(x, m), m), x)
    assert torch.equal(ops.sign_flip(x, m)[0], -x[0])


def test_time_reverse_and_amplitude_scale():
    x = torch.randn(2, 3, 20)
    assert torch.equal(ops.time_reverse(x, torch.tensor([1.0, 0.0])), torch.stack([x[0].flip(-1), x[1]]))
    assert torch.allclose(ops.amplitude_scale(x, torch.tensor([2.0, 0.5])), x * torch.tensor([2.0, 0.5]).view(2, 1, 1))


@pytest.mark.parametrize("shift", [3, -5])
def test_whole_sample_time_shift_equals_roll_in_interior(shift):
    x = torch.randn(2, 3, 40)
    out = ops.time_shift(x, torch.full((2,), float(shift)))
    k = abs(shift)
    assert torch.allclose(out[..., k:-k], torch.roll(x, shift, dims=-1)[..., k:-k], atol=1e-5)
    uncovered = out[..., :k] if shift > 0 else out[..., -k:]
    assert uncovered.abs().max() < 1e-6  # zero padding, up to float32 rounding of the grid


def test_ft_surrogate_keeps_the_amplitude_spectrum_and_changes_phases():
    x = torch.randn(2, 3, 64, dtype=torch.float64)
    phases = 2 * math.pi * torch.rand(2, 1, 33, dtype=torch.float64)
    out = ops.ft_surrogate(x, torch.tensor([1.0, 0.5], dtype=torch.float64), phases)
    assert torch.allclose(torch.fft.rfft(out).abs(), torch.fft.rfft(x).abs(), atol=1e-9)
    assert not torch.allclose(out, x)
    per_channel = 2 * math.pi * torch.rand(2, 3, 33, dtype=torch.float64)
    assert ops.ft_surrogate(x, torch.ones(2, dtype=torch.float64), per_channel).shape == x.shape


def test_gaussian_noise_adds_scaled_noise():
    x, noise = torch.randn(2, 3, 10), torch.randn(2, 3, 10)
    out = ops.gaussian_noise(x, torch.tensor([0.0, 0.5]), noise)
    assert torch.equal(out[0], x[0]) and torch.allclose(out[1], x[1] + 0.5 * noise[1])


def test_time_mask_zeroes_the_window_with_smooth_edges():
    x = torch.ones(1, 2, 100, dtype=torch.float64)
    out = ops.time_mask(x, torch.tensor([20.0], dtype=torch.float64), torch.tensor([30.0], dtype=torch.float64))
    assert out[..., 28:42].abs().max() < 1e-3
    assert (out[..., :10] > 0.999).all() and (out[..., 60:] > 0.999).all()
    assert torch.equal(ops.time_mask(x, torch.tensor([20.0]), torch.zeros(1)), x)


def test_channel_dropout_and_shuffle():
    x = torch.randn(2, 4, 10)
    drop = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    out = ops.channel_dropout(x, drop)
    assert torch.equal(out[0, 0], torch.zeros(10)) and torch.equal(out[0, 1], x[0, 1]) and torch.equal(out[1], x[1])
    perm = torch.tensor([[3, 2, 1, 0], [0, 1, 2, 3]])
    shuffled = ops.channel_shuffle(x, perm, torch.ones(2, 4))
    assert torch.equal(shuffled[0], x[0].flip(0)) and torch.equal(shuffled[1], x[1])
    partly = ops.channel_shuffle(x, perm, torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]))
    assert torch.equal(partly[0, 0], x[0, 3]) and torch.equal(partly[0, 1:], x[0, 1:])


def test_analytic_signal_of_cosine_is_complex_exponential():
    x = torch.cos(2 * math.pi * 5 * torch.arange(200, dtype=torch.float64) / 100).view(1, 1, -1)
    z = ops.analytic_signal(x)
    assert torch.allclose(z.abs(), torch.ones_like(x), atol=1e-9)
