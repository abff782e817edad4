"""Every data set's facts in one place: modality, classes, sampling frequency, default sizes, whether it reads
files, how it loads, and the transformation its data carry (the invariance a learner should find), as an
:class:`~invlearn.metrics.identification.Truth`.

Configs, the trainer, reports and studies read these facts from here (:func:`get`, :func:`truth`) and load data
through :func:`load`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from invlearn.data import digit_tasks, images, qm9, sinusoids, sleep, sleep_subjects, sprites, transformed
from invlearn.data.split import Split
from invlearn.data.transformed import TRUE_RANGES
from invlearn.metrics.identification import Truth

#: The kinds of task: what the labels are, how outputs are read and scored (:mod:`invlearn.objectives.likelihoods`,
#: :data:`invlearn.training.evaluation.SCORES`).
TASKS = ("classification", "regression", "segmentation")

#: ``(n_train, n_test, root, seed) -> (train, test)``: a data set's splits, at most ``n_train`` / ``n_test``
#: examples long where these are given (generated sets make exactly that many).
Loader = Callable[[int | None, int | None, str | None, int], tuple[Split, Split]]


@dataclass(frozen=True)
class DataSet:
    """The facts of one data set.

    Attributes:
        name: its ``data.name``.
        load: its :data:`Loader`.
        modality: ``"image"`` (``(N, C, H, W)``), ``"signal"`` (``(N, channels, times)``) or ``"points"``
            (``(N, points, 3 + channels)``, :mod:`invlearn.ops.points`).
        n_classes: number of classes, per example (classification) or per pixel (segmentation); for a regression
            the number of outputs.
        sfreq: sampling frequency in Hz (signals), else ``None``.
        root: ``"none"`` (generated, reads no files), ``"optional"`` or ``"required"`` (``data.root``).
        transformable: accepts a known transformation (``data.transform``, :data:`KNOWN_TRANSFORMS`).
        truth: the transformation the data carry of themselves (generated sets), else ``None``.
        n_train: default number of training examples (``None``: all there are).
        n_test: default number of test examples (``None``: all there are).
        task: one of :data:`TASKS`: labels ``(N,)`` int64 classes, ``(N,)`` or ``(N, D)`` float32 targets, or
            ``(N, H, W)`` int64 classes per pixel.
    """

    name: str
    load: Loader
    modality: str
    n_classes: int
    sfreq: float | None = None
    root: str = "none"
    transformable: bool = False
    truth: Truth | None = None
    n_train: int | None = None
    n_test: int | None = None
    task: str = "classification"


#: ``data.transform`` -> the transformation it applies to every image, with its true half-range
#: (:mod:`invlearn.data.transformed`), in the units of :mod:`invlearn.augmentations`.
KNOWN_TRANSFORMS: dict[str, Truth] = {
    "rotate": Truth(("rotate",), TRUE_RANGES["rotate"], "rad"),
    "translate": Truth(("translate_x", "translate_y"), TRUE_RANGES["translate"], "fraction of the size"),
    "scale": Truth(("scale",), TRUE_RANGES["scale"], "log of the zoom factor"),
}


def _sprites(n_train: int | None, n_test: int | None, root: None, seed: int) -> tuple[Split, Split]:
    return sprites.load(n_train, n_test, seed=seed)


def _sinusoids(n_train: int | None, n_test: int | None, root: None, seed: int) -> tuple[Split, Split]:
    return sinusoids.load(seed=seed)


def _mnist(n_train: int | None, n_test: int | None, root: str | None, seed: int) -> tuple[Split, Split]:
    return images.load_mnist(root, seed=seed)


def _digits(make: Callable) -> Loader:
    """The loader of a task made from MNIST's digits by ``make(split, generator)`` (:mod:`invlearn.data.digit_tasks`):
    the first ``n_train`` / ``n_test`` digits, train then test from one generator seeded by ``seed``."""

    def load(n_train: int | None, n_test: int | None, root: str | None, seed: int) -> tuple[Split, Split]:
        train, test = images.load_mnist(root, seed=seed)
        generator = torch.Generator().manual_seed(seed)
        return make(train.first(n_train, "data.n_train"), generator), make(test.first(n_test, "data.n_test"), generator)

    return load


def _fmnist(n_train: int | None, n_test: int | None, root: str | None, seed: int) -> tuple[Split, Split]:
    return images.load_fashion_mnist(root)


def _cifar10(n_train: int | None, n_test: int | None, root: str, seed: int) -> tuple[Split, Split]:
    return images.load_cifar10(root)


DATA_SETS: dict[str, DataSet] = {
    data.name: data
    for data in (
        DataSet(
            "sprites",
            _sprites,
            "image",
            sprites.N_CLASSES,
            truth=Truth(("rotate",), sprites.TRUE_HALF_RANGE, "rad"),
            n_train=sprites.N_TRAIN,
            n_test=sprites.N_TEST,
        ),
        DataSet(
            "sinusoids",
            _sinusoids,
            "signal",
            len(sinusoids.BASE_FREQUENCIES),
            sfreq=sinusoids.SFREQ,
            truth=Truth(("frequency_shift",), sinusoids.TRUE_SHIFT_HZ, "Hz"),
        ),
        DataSet("mnist", _mnist, "image", 10, root="optional", transformable=True),
        DataSet("fmnist", _fmnist, "image", 10, root="optional", transformable=True),
        DataSet("cifar10", _cifar10, "image", 10, root="required", transformable=True),
        DataSet("sleep", sleep.load, "signal", len(sleep.STAGES), sfreq=sleep.SYNTHETIC_SFREQ, root="optional"),
        DataSet("sleep_subjects", sleep_subjects.load, "signal", len(sleep.STAGES), sfreq=sleep.SYNTHETIC_SFREQ),
        DataSet(
            "mnist_angles",
            _digits(digit_tasks.angles),
            "image",
            1,
            root="optional",
            truth=Truth(("rotate",), 0.0, "rad", at_most=0.1),
            task="regression",
        ),
        DataSet(
            "mnist_segments",
            _digits(digit_tasks.segments),
            "image",
            11,
            root="optional",
            truth=Truth(("rotate",), digit_tasks.HALF_RANGE, "rad"),
            task="segmentation",
        ),
        DataSet(
            "qm9",
            qm9.load,
            "points",
            1,
            root="optional",
            truth=Truth(
                ("rotate_about_x", "rotate_about_y", "rotate_about_z"), math.pi, "rad", equivalents=(("rotate_so3",),)
            ),
            n_train=qm9.N_TRAIN,
            n_test=qm9.N_TEST,
            task="regression",
        ),
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


def load(
    name: str,
    seed: int,
    n_train: int | None = None,
    n_test: int | None = None,
    root: str | None = None,
    transform: str = "none",
    transform_range: float | None = None,
) -> tuple[Split, Split]:
    """The train and test splits of data set ``name``: the first ``n_train`` / ``n_test`` examples (the data
    set's defaults where ``None``), with the known transformation ``transform`` over ``+-transform_range`` applied
    per example (:mod:`invlearn.data.transformed`; train then test from one generator seeded by ``seed``).
    Deterministic given ``seed``; asking for more examples than there are is a
    :class:`~invlearn.data.files.DataError`."""
    data = get(name)
    n_train = data.n_train if n_train is None else n_train
    n_test = data.n_test if n_test is None else n_test
    train, test = data.load(n_train, n_test, root, seed)
    train, test = train.first(n_train, "data.n_train"), test.first(n_test, "data.n_test")
    if transform == "none":
        return train, test
    if not data.transformable:
        raise ValueError(f"{name} takes no known transformation (data.transform), got {transform!r}")
    generator = torch.Generator().manual_seed(seed)
    return tuple(transformed.transform(split, transform, generator, transform_range) for split in (train, test))
