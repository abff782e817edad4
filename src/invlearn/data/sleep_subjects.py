"""A harder synthetic sleep EEG: subjects that differ, artefacts and a real hypnogram's class imbalance.

:func:`invlearn.data.sleep.synthetic_sleep` draws every epoch from one population, so a network classifies it
without help (every method scored 0.985 balanced accuracy there). Real sleep staging generalises to new people:
their rhythms sit at other frequencies (the alpha peak varies between 8 and 12 Hz across adults), their amplitudes
and electrode gains differ, artefacts (eye movements, muscle, electrode pops) cover parts of many epochs, and the
stages are far from balanced (N2 about half of a night, N1 a few per cent). This generator draws each subject's

* amplitude gain ``exp(N(0, AMPLITUDE_SIGMA))``, shared by all its rhythms,
* frequency offset ``U(-FREQUENCY_OFFSET_HZ, +FREQUENCY_OFFSET_HZ)`` Hz, moving every rhythm band and spindle,
* channel gains ``exp(N(0, CHANNEL_SIGMA))`` per channel, and its own background noise level,

then its epochs' stages with :data:`STAGE_SHARES`, the stage's rhythms as in the plain generator (with more
per-epoch variability), and artefacts (:func:`artefacts`). Train and test subjects are disjoint: the test set is
new people, whose differences augmentation (amplitude scaling, frequency shifts, channel gains) can stand for.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from invlearn.data.sleep import (
    EPOCH_SECONDS,
    SPINDLE_HZ,
    STAGES,
    SYNTHETIC_AMPLITUDES,
    SYNTHETIC_BANDS,
    SYNTHETIC_SFREQ,
    band_noise,
    spindles,
)
from invlearn.data.split import Split

#: The stages' shares of a night (W, N1, N2, N3, REM), about those of adult hypnograms with the waking hours cut.
STAGE_SHARES = (0.15, 0.07, 0.46, 0.14, 0.18)
AMPLITUDE_SIGMA = 0.35
FREQUENCY_OFFSET_HZ = 1.5
CHANNEL_SIGMA = 0.3
#: Per-epoch variability of each rhythm's amplitude: a factor uniform in ``1 +- EPOCH_VARIABILITY``.
EPOCH_VARIABILITY = 0.5
#: Subjects and epochs per subject: the first ``TRAIN_SUBJECTS`` train, the others test.
TRAIN_SUBJECTS, TEST_SUBJECTS, EPOCHS_PER_SUBJECT = 10, 5, 100


def _bumps(n: int, times: int, sfreq: float, rate: Tensor, width_s: tuple[float, float], g: torch.Generator) -> Tensor:
    """``(n, times)``: in each row with probability ``rate`` (``(n,)``), one Gaussian bump of unit height, its
    width (s) uniform in ``width_s``, at a uniform time."""
    t = torch.arange(times, dtype=torch.float64) / sfreq
    present = (torch.rand(n, generator=g, dtype=torch.float64) < rate).double()
    centre = torch.rand(n, generator=g, dtype=torch.float64) * times / sfreq
    width = width_s[0] + (width_s[1] - width_s[0]) * torch.rand(n, generator=g, dtype=torch.float64)
    return present[:, None] * torch.exp(-0.5 * ((t - centre[:, None]) / width[:, None]) ** 2)


def artefacts(labels: Tensor, channels: int, times: int, sfreq: float, g: torch.Generator) -> Tensor:
    """``(n, channels, times)`` microvolts of artefacts: eye movements (slow deflections of 50-150 uV, mostly on the
    first, frontal channel; in 40 % of W and REM epochs, 5 % of the others), muscle (15-40 Hz bursts of 10-30 uV
    for 1-5 s; 30 % of W epochs, 10 % of the others) and electrode pops (a jump of 100-300 uV decaying over 0.5 s on
    one channel; 3 % of epochs)."""
    n = len(labels)
    waking = (labels == STAGES.index("W")) | (labels == STAGES.index("REM"))
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
    height = 50.0 + 100.0 * torch.rand(n, generator=g, dtype=torch.float64)
    eyes = (sign * height)[:, None] * _bumps(n, times, sfreq, torch.where(waking, 0.4, 0.05), (0.2, 0.5), g)
    frontal = torch.tensor([1.0] + [0.3] * (channels - 1), dtype=torch.float64)
    out = eyes[:, None, :] * frontal[None, :, None]
    awake = labels == STAGES.index("W")
    envelope = _bumps(n, times, sfreq, torch.where(awake, 0.3, 0.1), (0.5, 2.5), g)
    burst = band_noise((n, channels, times), (15.0, 40.0), sfreq, g)
    out += (10.0 + 20.0 * torch.rand(n, 1, 1, generator=g, dtype=torch.float64)) * envelope[:, None, :] * burst
    t = torch.arange(times, dtype=torch.float64) / sfreq
    onset = torch.rand(n, generator=g, dtype=torch.float64) * times / sfreq
    jump = (100.0 + 200.0 * torch.rand(n, generator=g, dtype=torch.float64)) * sign
    present = (torch.rand(n, generator=g, dtype=torch.float64) < 0.03).double()
    decay = torch.where(t >= onset[:, None], torch.exp(-(t - onset[:, None]) / 0.5), 0.0)
    where = torch.randint(channels, (n,), generator=g)
    out[torch.arange(n), where] += (present * jump)[:, None] * decay
    return out


def _subject(stages: Tensor, channels: int, sfreq: float, g: torch.Generator) -> Tensor:
    """``(n, channels, times)`` microvolts: one subject's epochs of the given ``stages`` (see the module)."""
    n, times = len(stages), int(round(EPOCH_SECONDS * sfreq))
    gain = math.exp(AMPLITUDE_SIGMA * float(torch.randn(1, generator=g)))
    offset = FREQUENCY_OFFSET_HZ * (2 * float(torch.rand(1, generator=g)) - 1)
    channel_gain = torch.exp(CHANNEL_SIGMA * torch.randn(channels, generator=g, dtype=torch.float64))
    background = 5.0 * math.exp(0.3 * float(torch.randn(1, generator=g)))
    signals = background * torch.randn(n, channels, times, generator=g, dtype=torch.float64)
    for name, (low, high) in SYNTHETIC_BANDS.items():
        amplitude = torch.tensor([SYNTHETIC_AMPLITUDES[s][name] for s in STAGES], dtype=torch.float64)[stages]
        spread = 1 + EPOCH_VARIABILITY * (2 * torch.rand(n, generator=g, dtype=torch.float64) - 1)
        band = (max(low + offset, 0.3), high + offset)
        signals += (gain * amplitude * spread)[:, None, None] * band_noise((n, channels, times), band, sfreq, g)
    hz = (SPINDLE_HZ[0] + offset, SPINDLE_HZ[1] + offset)
    signals += (
        gain * (stages == STAGES.index("N2")).double()[:, None, None] * spindles(n, channels, times, sfreq, g, hz)
    )
    signals = signals * channel_gain[None, :, None]
    return signals + artefacts(stages, channels, times, sfreq, g)


def synthetic_subjects(
    n_subjects: int, epochs_per_subject: int, n_channels: int = 2, sfreq: float = SYNTHETIC_SFREQ, seed: int = 0
) -> Split:
    """Epochs of ``n_subjects`` synthetic subjects (see the module), subject after subject, each subject's epochs
    in random stage order; the fact ``"recording"`` is the subject. Deterministic given ``seed``."""
    if n_subjects < 1 or epochs_per_subject < 1 or n_channels < 1 or sfreq <= 0:
        raise ValueError(
            "need n_subjects >= 1, epochs_per_subject >= 1, n_channels >= 1, sfreq > 0; got "
            f"{n_subjects}, {epochs_per_subject}, {n_channels}, {sfreq}"
        )
    g = torch.Generator().manual_seed(seed)
    shares = torch.tensor(STAGE_SHARES, dtype=torch.float64)
    parts, labels = [], []
    for _ in range(n_subjects):
        stages = torch.multinomial(shares, epochs_per_subject, replacement=True, generator=g)
        parts.append(_subject(stages, n_channels, sfreq, g))
        labels.append(stages)
    subjects = torch.arange(n_subjects).repeat_interleave(epochs_per_subject)
    channels = tuple(f"EEG {i}" for i in range(n_channels))
    return Split(torch.cat(parts).float(), torch.cat(labels), {"recording": subjects}, sfreq, channels)


def load(n_train: int | None, n_test: int | None, root: None, seed: int) -> tuple[Split, Split]:
    """:data:`TRAIN_SUBJECTS` training and :data:`TEST_SUBJECTS` test subjects of :data:`EPOCHS_PER_SUBJECT`
    epochs each (seeded by ``seed``; the test subjects are drawn after the training ones), the first ``n_train`` /
    ``n_test`` epochs (all where ``None``), divided by the training epochs' standard deviation."""
    every = synthetic_subjects(TRAIN_SUBJECTS + TEST_SUBJECTS, EPOCHS_PER_SUBJECT, seed=seed)
    cut = TRAIN_SUBJECTS * EPOCHS_PER_SUBJECT
    train = every.take(slice(0, cut)).first(n_train, "data.n_train")
    test = every.take(slice(cut, None)).first(n_test, "data.n_test")
    scale = train.inputs.std()
    return train.with_inputs(train.inputs / scale), test.with_inputs(test.inputs / scale)
