"""Sleep data: real EDF / EDF+ files written here (edfio) and read back with MNE, and the synthetic generator."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
import torch

from invlearn.data import sleep
from invlearn.data.files import DataError

edfio = pytest.importorskip("edfio")
pytest.importorskip("mne")

SFREQ = 100
STAGE_TEXTS = ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage 4", "Sleep stage R"]


def write_night(folder, prefix, stages, seed=0, channels=sleep.DEFAULT_CHANNELS, extra_seconds=10):
    """A PSG file of len(stages) 30 s epochs (+ a partial tail) whose samples encode (epoch, channel), and its
    hypnogram, one annotation per run of equal stages as in Sleep-EDF."""
    n = len(stages)
    times = np.arange(int((30 * n + extra_seconds) * SFREQ))
    signals = []
    for c, label in enumerate(channels):
        values = (times // (30 * SFREQ)) * 10.0 + c + np.random.default_rng(seed + c).uniform(-0.1, 0.1, times.size)
        signals.append(
            edfio.EdfSignal(values, sampling_frequency=SFREQ, label=label, physical_dimension="uV",
                            physical_range=(-1000, 1000))
        )  # fmt: skip
    start = datetime.time(22, 0, 0)
    edfio.Edf(signals, starttime=start).write(folder / f"{prefix}E0-PSG.edf")
    annotations, k = [], 0
    while k < n:
        run = 1
        while k + run < n and stages[k + run] == stages[k]:
            run += 1
        annotations.append(edfio.EdfAnnotation(30.0 * k, 30.0 * run, stages[k]))
        k += run
    edfio.Edf([], annotations=annotations, starttime=start).write(folder / f"{prefix}EC-Hypnogram.edf")


def test_read_recording_cuts_labelled_epochs(tmp_path):
    stages = ["Sleep stage W", "Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage 4",
              "Sleep stage R", "Sleep stage ?", "Movement time", "Sleep stage 2"]  # fmt: skip
    write_night(tmp_path, "SC4001", stages)
    epochs, labels, sfreq = sleep.read_recording(tmp_path / "SC4001E0-PSG.edf", tmp_path / "SC4001EC-Hypnogram.edf")
    assert sfreq == SFREQ and epochs.shape == (8, 2, 3000) and epochs.dtype == np.float32
    assert labels.tolist() == [0, 0, 1, 2, 3, 3, 4, 2]
    kept = [0, 1, 2, 3, 4, 5, 6, 9]  # "?" and movement dropped
    assert np.allclose(epochs[:, 0].mean(axis=1), np.array(kept) * 10.0, atol=0.1)  # the right window each
    assert np.allclose(epochs[:, 1].mean(axis=1), np.array(kept) * 10.0 + 1, atol=0.1)  # channel order kept


def test_folder_splits_by_night(tmp_path):
    write_night(tmp_path, "SC4001", ["Sleep stage W", "Sleep stage 2", "Sleep stage 2"])
    write_night(tmp_path, "SC4002", ["Sleep stage R", "Sleep stage 3"], seed=5)
    write_night(tmp_path, "SC4011", ["Sleep stage 1"], seed=9)
    train, test = sleep.load_sleep_edf(tmp_path, n_test_recordings=1)
    assert train.inputs.shape == (5, 2, 3000) and test.inputs.shape == (1, 2, 3000)
    assert train.labels.tolist() == [0, 2, 2, 4, 3] and test.labels.tolist() == [1]
    assert train.facts["recording"].tolist() == [0, 0, 0, 1, 1] and test.facts["recording"].tolist() == [2]
    assert train.sfreq == 100.0 and train.channels == sleep.DEFAULT_CHANNELS
    one, _ = sleep.load_sleep_edf(tmp_path, channels=("EEG Pz-Oz",))
    assert one.inputs.shape == (5, 1, 3000)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        sleep.load_sleep_edf(tmp_path / "absent")
    with pytest.raises(DataError, match="no \\*-PSG.edf file"):
        sleep.load_sleep_edf(tmp_path)
    write_night(tmp_path, "SC4001", ["Sleep stage W"])
    with pytest.raises(DataError, match="cannot hold out 1"):
        sleep.load_sleep_edf(tmp_path)
    psg, hyp = tmp_path / "SC4001E0-PSG.edf", tmp_path / "SC4001EC-Hypnogram.edf"
    with pytest.raises(DataError, match=r"no channel\(s\) \['EEG C3'\]"):
        sleep.read_recording(psg, hyp, channels=("EEG C3",))
    hyp.write_bytes(b"0       garbage")
    with pytest.raises(DataError, match="Hypnogram.edf: not a readable hypnogram"):
        sleep.read_recording(psg, hyp)
    psg.write_bytes(psg.read_bytes()[:100])
    with pytest.raises(DataError, match="PSG.edf: not a readable EDF file"):
        sleep.read_recording(psg, hyp)


def test_synthetic_sleep_has_stage_specific_spectra():
    data = sleep.synthetic_sleep(n_per_stage=40, seed=0)
    assert data.inputs.shape == (200, 2, 3000) and torch.bincount(data.labels).tolist() == [40] * 5
    power = torch.fft.rfft(data.inputs.double(), dim=-1).abs().pow(2).mean(dim=1)
    freqs = torch.fft.rfftfreq(3000, 1 / 100)

    def band(stage, low, high):
        return power[data.labels == sleep.STAGES.index(stage)][:, (freqs >= low) & (freqs <= high)].sum(1).median()

    assert band("N3", 0.5, 2) > 10 * band("W", 0.5, 2)  # slow waves
    assert band("W", 8, 12) > 5 * band("N3", 8, 12)  # alpha when awake
    assert band("N2", 12, 14) > 3 * band("N1", 12, 14)  # spindles
    assert band("N1", 4, 7) > 2 * band("W", 4, 7)  # theta
    assert torch.equal(sleep.synthetic_sleep(n_per_stage=3, seed=1).inputs, sleep.synthetic_sleep(3, seed=1).inputs)
    with pytest.raises(ValueError, match="n_per_stage >= 1"):
        sleep.synthetic_sleep(n_per_stage=0)
