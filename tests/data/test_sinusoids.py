"""The sinusoids data set follows the AugNet protocol."""

from __future__ import annotations

import pytest
import torch

from invlearn.data import sinusoids


def test_protocol():
    train, test = sinusoids.load(seed=0)
    assert train.inputs.shape == (400, 1, 1000) and test.inputs.shape == (200, 1, 1000)
    labels = torch.cat([train.labels, test.labels])
    assert torch.bincount(labels).tolist() == [150, 150, 150, 150]
    base = torch.tensor(sinusoids.BASE_FREQUENCIES)[train.labels]
    assert (train.facts["frequency"] - base).abs().max() <= 0.5 + 1e-6


def test_spectral_peak_is_the_frequency():
    train, _ = sinusoids.load(seed=1)
    spectrum = torch.fft.rfft(train.inputs[:, 0]).abs()
    peak = torch.fft.rfftfreq(1000, d=1 / sinusoids.SFREQ)[spectrum[:, 1:].argmax(1) + 1]
    assert (peak - train.facts["frequency"]).abs().max() <= 0.15


def test_deterministic_and_validated():
    a, _ = sinusoids.load(seed=2)
    b, _ = sinusoids.load(seed=2)
    assert torch.equal(a.inputs, b.inputs)
    with pytest.raises(ValueError, match="n_train must be in"):
        sinusoids.load(n_train=600)
