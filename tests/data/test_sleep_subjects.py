"""The harder synthetic sleep EEG: subjects that differ, artefacts, a hypnogram's imbalance, new test subjects."""

from __future__ import annotations

import pytest
import torch

from invlearn.data import registry, sleep, sleep_subjects


def _peak_hz(signals: torch.Tensor, sfreq: float, band: tuple[float, float]) -> float:
    """The frequency of the largest mean power within ``band`` Hz."""
    power = torch.fft.rfft(signals.double(), dim=-1).abs().pow(2).mean(dim=(0, 1))
    freqs = torch.fft.rfftfreq(signals.shape[-1], 1.0 / sfreq)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    return float(freqs[inside][power[inside].argmax()])


def test_each_subject_has_its_own_rhythms_and_the_stages_a_night_has():
    data = sleep_subjects.synthetic_subjects(6, 120, seed=0)
    assert data.inputs.shape == (720, 2, 3000) and data.sfreq == 100.0
    assert torch.equal(data.facts["recording"], torch.arange(6).repeat_interleave(120))
    shares = torch.bincount(data.labels, minlength=5).double() / 720
    assert torch.allclose(shares, torch.tensor(sleep_subjects.STAGE_SHARES, dtype=torch.float64), atol=0.05)
    awake = sleep.STAGES.index("W")
    peaks = [
        _peak_hz(data.inputs[(data.facts["recording"] == s) & (data.labels == awake)], 100.0, (6.0, 14.0))
        for s in range(6)
    ]
    assert max(peaks) - min(peaks) > 1.0  # the alpha peak moves between subjects (offsets of +-1.5 Hz)
    rms = [data.inputs[data.facts["recording"] == s].pow(2).mean().sqrt() for s in range(6)]
    assert max(rms) / min(rms) > 1.3  # and so do amplitudes and gains


def test_artefacts_are_eye_movements_muscle_and_pops_more_often_awake():
    g = torch.Generator().manual_seed(1)
    labels = torch.tensor([sleep.STAGES.index("W")] * 400 + [sleep.STAGES.index("N3")] * 400)
    out = sleep_subjects.artefacts(labels, 2, 3000, 100.0, g)
    large = out[:, 0].abs().amax(dim=1) > 40.0
    assert large[:400].float().mean() > 2 * large[400:].float().mean()
    assert out[:, 0].abs().amax() > out[:, 1].abs().amax() * 0.9  # the eyes show on the frontal channel


def test_the_data_set_tests_on_new_subjects_and_is_seeded():
    train, test = registry.load("sleep_subjects", seed=3)
    assert len(train) == 1000 and len(test) == 500
    assert set(train.facts["recording"].tolist()) == set(range(10))
    assert set(test.facts["recording"].tolist()) == set(range(10, 15))
    assert float(train.inputs.std()) == pytest.approx(1.0, rel=1e-5)
    again, _ = registry.load("sleep_subjects", seed=3, n_train=100, n_test=10)
    ratio = train.inputs[:100] / again.inputs  # the same epochs, scaled by their own training set's deviation
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4)
    other, _ = registry.load("sleep_subjects", seed=4, n_train=100, n_test=10)
    assert not torch.equal(other.inputs, again.inputs[:100])


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="n_subjects >= 1"):
        sleep_subjects.synthetic_subjects(0, 10)
