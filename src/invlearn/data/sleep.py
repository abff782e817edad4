"""Sleep staging data: Sleep-EDF-style recordings read with MNE, and a synthetic sleep-EEG generator.

Both give :class:`~invlearn.data.split.Split` s of 30 s epochs ``(N, channels, 30 * sfreq)`` float32 in microvolts
(with the fact ``"recording"``, the index of each epoch's night, its sampling frequency and channel names) and the
five AASM classes of :data:`~invlearn.data.sleep.STAGES` (Rechtschaffen-Kales stages 3 and 4 both map to N3).

Real files (Sleep-EDF, PhysioNet): a ``*-PSG.edf`` polysomnogram and its ``*-Hypnogram.edf`` (EDF+ annotations
``"Sleep stage W"``, ``"Sleep stage 1"``... ``"Sleep stage R"``); epochs with other labels (``"Sleep stage ?"``,
``"Movement time"``) are dropped. Channels and the sampling frequency come from the file. Reading needs MNE
(``pip install 'invlearn[data]'``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from invlearn.data.files import DataError
from invlearn.data.split import Split

#: The sleep stages, in label order: wake, the non-REM stages N1 to N3, and REM.
STAGES = ("W", "N1", "N2", "N3", "REM")
EPOCH_SECONDS = 30.0
#: Hypnogram annotation -> class index in :data:`~invlearn.data.sleep.STAGES`.
ANNOTATION_STAGES = {
    "Sleep stage W": 0,
    "Sleep stage 1": 1,
    "Sleep stage 2": 2,
    "Sleep stage 3": 3,
    "Sleep stage 4": 3,
    "Sleep stage R": 4,
}
DEFAULT_CHANNELS = ("EEG Fpz-Cz", "EEG Pz-Oz")


def _mne():
    try:
        import mne
    except ImportError:
        raise DataError("reading EDF files needs MNE: pip install 'invlearn[data]'") from None
    return mne


def read_recording(
    psg: str | Path, hypnogram: str | Path, channels: tuple[str, ...] = DEFAULT_CHANNELS
) -> tuple[np.ndarray, np.ndarray, float]:
    """One night: ``(epochs (N, C, T) in microvolts, stages (N,), sfreq)`` from a PSG EDF file and its hypnogram.

    Epochs are the hypnogram's 30 s windows from the recording's start; partial windows at the end are dropped.
    """
    mne = _mne()
    psg, hypnogram = Path(psg), Path(hypnogram)
    for path in (psg, hypnogram):
        if not path.is_file():
            raise DataError(f"{path}: no such file")
    try:
        raw = mne.io.read_raw_edf(psg, preload=False, verbose="error")
    except Exception as error:  # MNE raises assorted types on a corrupt header
        raise DataError(f"{psg}: not a readable EDF file ({type(error).__name__}: {error})") from None
    missing = [c for c in channels if c not in raw.ch_names]
    if missing:
        raise DataError(f"{psg}: no channel(s) {missing}; it has {raw.ch_names}")
    try:
        annotations = mne.read_annotations(hypnogram)
    except Exception as error:
        raise DataError(f"{hypnogram}: not a readable hypnogram ({type(error).__name__}: {error})") from None
    if len(annotations) == 0:
        raise DataError(f"{hypnogram}: not a readable hypnogram (no EDF+ annotations in it)")
    sfreq = float(raw.info["sfreq"])
    window = int(round(EPOCH_SECONDS * sfreq))
    data = raw.get_data(picks=list(channels)) * 1e6  # volts -> microvolts
    starts, stages = [], []
    for onset, duration, text in zip(annotations.onset, annotations.duration, annotations.description, strict=True):
        if text not in ANNOTATION_STAGES:
            continue
        for k in range(int(duration // EPOCH_SECONDS)):
            start = int(round((onset + k * EPOCH_SECONDS) * sfreq))
            if start + window <= data.shape[1]:
                starts.append(start)
                stages.append(ANNOTATION_STAGES[text])
    if not starts:
        raise DataError(f"{hypnogram}: no sleep-stage epoch lies inside {psg.name}")
    epochs = np.stack([data[:, s : s + window] for s in starts]).astype(np.float32)
    return epochs, np.asarray(stages, dtype=np.int64), sfreq


def find_recordings(root: str | Path) -> list[tuple[Path, Path]]:
    """Pairs ``(psg, hypnogram)`` under ``root``, matched on the Sleep-EDF subject-night prefix (``SC4001`` of
    ``SC4001E0-PSG.edf`` and ``SC4001EC-Hypnogram.edf``), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (expected Sleep-EDF *-PSG.edf and *-Hypnogram.edf files)")
    hypnograms = {p.name[:6]: p for p in root.glob("*-Hypnogram.edf")}
    pairs = [(p, hypnograms[p.name[:6]]) for p in sorted(root.glob("*-PSG.edf")) if p.name[:6] in hypnograms]
    if not pairs:
        raise DataError(f"{root}: no *-PSG.edf file with a matching *-Hypnogram.edf")
    return pairs


def load_sleep_edf(
    root: str | Path, channels: tuple[str, ...] = DEFAULT_CHANNELS, n_test_recordings: int = 1
) -> tuple[Split, Split]:
    """Every recording under ``root``; the last ``n_test_recordings`` (by name) form the test split, so no night
    is in both."""
    pairs = find_recordings(root)
    if not 0 < n_test_recordings < len(pairs):
        raise DataError(f"{root}: {len(pairs)} recording(s), cannot hold out {n_test_recordings} for testing")
    nights = [read_recording(psg, hyp, channels) for psg, hyp in pairs]
    rates = {sfreq for _, _, sfreq in nights}
    if len(rates) != 1:
        raise DataError(f"{root}: recordings sampled at different rates {sorted(rates)} Hz")
    sfreq = rates.pop()

    def split(indices: range) -> Split:
        signals = torch.from_numpy(np.concatenate([nights[i][0] for i in indices]))
        labels = torch.from_numpy(np.concatenate([nights[i][1] for i in indices]))
        recordings = torch.cat([torch.full((len(nights[i][1]),), i) for i in indices])
        return Split(signals, labels, {"recording": recordings}, sfreq, tuple(channels))

    n_train = len(pairs) - n_test_recordings
    return split(range(n_train)), split(range(n_train, len(pairs)))


# Synthetic sleep EEG: per stage, the amplitude (microvolts) of each rhythm's band-limited noise.
SYNTHETIC_BANDS = {"delta": (0.5, 2.0), "theta": (4.0, 7.0), "alpha": (8.0, 12.0), "beta": (15.0, 30.0)}
SYNTHETIC_AMPLITUDES = {
    "W": {"delta": 5.0, "theta": 5.0, "alpha": 25.0, "beta": 10.0},
    "N1": {"delta": 8.0, "theta": 25.0, "alpha": 6.0, "beta": 5.0},
    "N2": {"delta": 15.0, "theta": 15.0, "alpha": 4.0, "beta": 4.0},
    "N3": {"delta": 75.0, "theta": 10.0, "alpha": 3.0, "beta": 3.0},
    "REM": {"delta": 8.0, "theta": 18.0, "alpha": 8.0, "beta": 8.0},
}
SPINDLE_HZ = (12.0, 14.0)
SYNTHETIC_SFREQ = 100.0
BACKGROUND_UV = 5.0


def band_noise(shape: tuple[int, ...], band: tuple[float, float], sfreq: float, g: torch.Generator) -> Tensor:
    """White noise band-passed to ``band`` Hz in the frequency domain, scaled to unit standard deviation."""
    times = shape[-1]
    spectrum = torch.fft.rfft(torch.randn(shape, generator=g, dtype=torch.float64), dim=-1)
    freqs = torch.fft.rfftfreq(times, 1.0 / sfreq, dtype=torch.float64)
    out = torch.fft.irfft(spectrum * ((freqs >= band[0]) & (freqs <= band[1])), n=times, dim=-1)
    return out / out.std(dim=-1, keepdim=True).clamp_min(1e-12)


def spindles(
    n: int, channels: int, times: int, sfreq: float, g: torch.Generator, hz: tuple[float, float] = SPINDLE_HZ
) -> Tensor:
    """One or two 0.5-2 s bursts of ``hz`` (12-14 Hz) at 30 microvolts per epoch, with a Hann envelope (the N2
    marker)."""
    t = torch.arange(times, dtype=torch.float64) / sfreq
    out = torch.zeros(n, channels, times, dtype=torch.float64)
    for burst in range(2):
        present = (torch.rand(n, generator=g) < (1.0 if burst == 0 else 0.5)).double()
        length = 0.5 + 1.5 * torch.rand(n, generator=g, dtype=torch.float64)
        start = torch.rand(n, generator=g, dtype=torch.float64) * (times / sfreq - length)
        freq = hz[0] + (hz[1] - hz[0]) * torch.rand(n, generator=g, dtype=torch.float64)
        phase = (t - start[:, None]) / length[:, None]
        envelope = torch.where((phase >= 0) & (phase <= 1), torch.sin(math.pi * phase.clamp(0, 1)) ** 2, 0.0)
        wave = torch.sin(2 * math.pi * freq[:, None] * t)
        out += (30.0 * present[:, None] * envelope * wave)[:, None, :]
    return out


def synthetic_sleep(
    n_per_stage: int = 200, n_channels: int = 2, sfreq: float = SYNTHETIC_SFREQ, seed: int = 0
) -> Split:
    """Synthetic 30 s sleep-EEG epochs with stage-specific spectra: alpha in W, theta in N1 and REM, spindles
    over theta in N2, high-amplitude delta in N3, on a white background. Classes are shuffled; deterministic
    given ``seed``. Every epoch is its own "recording"."""
    if n_per_stage < 1 or n_channels < 1 or sfreq <= 0:
        raise ValueError(f"need n_per_stage >= 1, n_channels >= 1, sfreq > 0; got {n_per_stage}, {n_channels}, {sfreq}")
    g = torch.Generator().manual_seed(seed)
    times = int(round(EPOCH_SECONDS * sfreq))
    n = n_per_stage * len(STAGES)
    labels = torch.arange(len(STAGES)).repeat_interleave(n_per_stage)[torch.randperm(n, generator=g)]
    signals = BACKGROUND_UV * torch.randn(n, n_channels, times, generator=g, dtype=torch.float64)
    for name, band in SYNTHETIC_BANDS.items():
        amplitude = torch.tensor([SYNTHETIC_AMPLITUDES[s][name] for s in STAGES], dtype=torch.float64)[labels]
        gain = amplitude * (0.7 + 0.6 * torch.rand(n, generator=g, dtype=torch.float64))  # per-epoch variability
        signals += gain[:, None, None] * band_noise((n, n_channels, times), band, sfreq, g)
    signals += (labels == STAGES.index("N2")).double()[:, None, None] * spindles(n, n_channels, times, sfreq, g)
    channels = tuple(f"EEG {i}" for i in range(n_channels))
    return Split(signals.float(), labels, {"recording": torch.arange(n)}, sfreq, channels)


#: Synthetic epochs per stage when no Sleep-EDF folder is given: 2/3 train, 1/3 test.
SYNTHETIC_PER_STAGE = 300


def load(n_train: int | None, n_test: int | None, root: str | Path | None, seed: int) -> tuple[Split, Split]:
    """Sleep-EDF nights from ``root`` (the last night tests; :func:`load_sleep_edf`), else :func:`synthetic_sleep`
    (:data:`SYNTHETIC_PER_STAGE` epochs per stage, seeded by ``seed``, split 2/3 / 1/3); the first ``n_train`` /
    ``n_test`` epochs (all where ``None``), divided by the training epochs' standard deviation, so augmentation
    scales read in units of it."""
    if root is None:
        every = synthetic_sleep(SYNTHETIC_PER_STAGE, seed=seed)
        cut = len(every) * 2 // 3
        train, test = every.take(slice(0, cut)), every.take(slice(cut, None))
    else:
        train, test = load_sleep_edf(root)
    train, test = train.first(n_train, "data.n_train"), test.first(n_test, "data.n_test")
    scale = train.inputs.std()
    return train.with_inputs(train.inputs / scale), test.with_inputs(test.inputs / scale)
