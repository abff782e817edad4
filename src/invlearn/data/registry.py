"""Every data set's facts in one place: modality, classes, sampling frequency, whether it reads files, and the
transformation its data carry (the invariance a learner should find), as an :class:`~invlearn.identification.Truth`.

Configs, the trainer, reports and studies read these facts from here (:func:`get`, :func:`truth`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from invlearn.data import sinusoids, sleep, sprites
from invlearn.data.transformed import TRUE_RANGES
from invlearn.identification import Truth


@dataclass(frozen=True)
class DataSet:
    """The facts of one data set.

    Attributes:
        name: its ``data.name``.
        modality: ``"image"`` (``(N, C, H, W)``) or ``"signal"`` (``(N, channels, times)``).
        n_classes: number of classes.
        sfreq: sampling frequency in Hz (signals), else ``None``.
        root: ``"none"`` (generated, reads no files), ``"optional"`` or ``"required"`` (``data.root``).
        transformable: accepts a known transformation (``data.transform``, :data:`KNOWN_TRANSFORMS`).
        truth: the transformation the data carry of themselves (generated sets), else ``None``.
    """

    name: str
    modality: str
    n_classes: int
    sfreq: float | None = None
    root: str = "none"
    transformable: bool = False
    truth: Truth | None = None


#: ``data.transform`` -> the transformation it applies to every image, with its true half-range
#: (:mod:`invlearn.data.transformed`), in the units of :mod:`invlearn.augmentations`.
KNOWN_TRANSFORMS: dict[str, Truth] = {
    "rotate": Truth(("rotate",), TRUE_RANGES["rotate"], "rad"),
    "translate": Truth(("translate_x", "translate_y"), TRUE_RANGES["translate"], "fraction of the size"),
    "scale": Truth(("scale",), TRUE_RANGES["scale"], "log of the zoom factor"),
}

DATA_SETS: dict[str, DataSet] = {
    data.name: data
    for data in (
        DataSet("sprites", "image", sprites.N_CLASSES, truth=Truth(("rotate",), sprites.TRUE_HALF_RANGE, "rad")),
        DataSet(
            "sinusoids",
            "signal",
            len(sinusoids.BASE_FREQUENCIES),
            sfreq=sinusoids.SFREQ,
            truth=Truth(("frequency_shift",), sinusoids.TRUE_SHIFT_HZ, "Hz"),
        ),
        DataSet("mnist", "image", 10, root="optional", transformable=True),
        DataSet("fmnist", "image", 10, root="optional", transformable=True),
        DataSet("cifar10", "image", 10, root="required", transformable=True),
        DataSet("sleep", "signal", len(sleep.STAGES), sfreq=sleep.SYNTHETIC_SFREQ, root="optional"),
    )
}


def get(name: str) -> DataSet:
    """The registered data set ``name``."""
    if name not in DATA_SETS:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(sorted(DATA_SETS))}")
    return DATA_SETS[name]


def truth(name: str, transform: str = "none", half_range: float | None = None) -> Truth | None:
    """The invariance data set ``name`` has under ``data.transform = transform`` (over ``+-half_range`` where
    given, else the transformation's default range), or ``None`` where none is known (sleep EEG, untransformed
    real images)."""
    data = get(name)
    if data.truth is not None:
        return data.truth
    known = KNOWN_TRANSFORMS.get(transform)
    if known is None or half_range is None:
        return known
    return dataclasses.replace(known, half_range=float(half_range))
