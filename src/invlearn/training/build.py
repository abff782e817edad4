"""Turn a validated configuration into the model and the data it names."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from invlearn import Augerino, AugmentationLayer, AugNet, UniformLieAffine, augmentations
from invlearn.data import images, sinusoids, sleep, sprites, transformed
from invlearn.models import create_trunk
from invlearn.models.registry import TRUNKS


@dataclass(frozen=True)
class Data:
    """Train and test tensors of an experiment, with what an augmentation needs to know about them."""

    train_inputs: Tensor
    train_labels: Tensor
    test_inputs: Tensor
    test_labels: Tensor
    n_classes: int
    sfreq: float | None = None


IMAGE_LOADERS = {
    "mnist": lambda root, seed: images.load_mnist(root, seed=seed),
    "fmnist": lambda root, seed: images.load_fashion_mnist(root),
    "cifar10": lambda root, seed: images.load_cifar10(root),
}


def _image_data(spec: dict, seed: int) -> Data:
    """The first ``n_train`` / ``n_test`` examples of a real image set, with its known transformation applied
    (train, then test, drawn from one generator seeded by ``seed``)."""
    train, test = IMAGE_LOADERS[spec["name"]](spec["root"], seed)
    generator = torch.Generator().manual_seed(seed)
    train, test = (
        transformed.transform(images.ImageSplit(s.images[:n], s.labels[:n]), spec["transform"], generator)
        for s, n in ((train, spec["n_train"]), (test, spec["n_test"]))
    )
    return Data(train.images, train.labels, test.images, test.labels, 10)


#: Synthetic sleep epochs per stage when no Sleep-EDF folder is given: 2/3 train, 1/3 test.
SYNTHETIC_SLEEP_PER_STAGE = 300


def _sleep_data(spec: dict, seed: int) -> Data:
    """Sleep-EDF nights from ``data.root`` (the last night tests), else the synthetic generator; signals are
    divided by the training set's standard deviation, so augmentation scales read in units of it."""
    if spec["root"] is None:
        every = sleep.synthetic_sleep(SYNTHETIC_SLEEP_PER_STAGE, seed=seed)
        cut = len(every) * 2 // 3
        train, test = (
            sleep.SleepSplit(
                every.signals[part], every.labels[part], every.recordings[part], every.sfreq, every.channels
            )
            for part in (slice(0, cut), slice(cut, None))
        )
    else:
        train, test = sleep.load_sleep_edf(spec["root"])
    n_train, n_test = spec["n_train"], spec["n_test"]
    scale = train.signals[:n_train].std()
    return Data(
        train.signals[:n_train] / scale,
        train.labels[:n_train],
        test.signals[:n_test] / scale,
        test.labels[:n_test],
        len(sleep.STAGES),
        train.sfreq,
    )


def build_data(config: dict) -> Data:
    """Generate or load the configured data set (deterministic given ``config["seed"]``)."""
    spec, seed = config["data"], config["seed"]
    if spec["name"] in IMAGE_LOADERS:
        return _image_data(spec, seed)
    if spec["name"] == "sleep":
        return _sleep_data(spec, seed)
    if spec["name"] == "sprites":
        train, test = sprites.load(spec["n_train"] or 10_000, spec["n_test"] or 5_000, seed=seed)
        return Data(train.images, train.labels, test.images, test.labels, sprites.N_CLASSES)
    train, test = sinusoids.load(seed=seed)
    return Data(
        train.signals[: spec["n_train"]],
        train.labels[: spec["n_train"]],
        test.signals[: spec["n_test"]],
        test.labels[: spec["n_test"]],
        len(sinusoids.BASE_FREQUENCIES),
        sinusoids.SFREQ,
    )


def create_augmentation(entry: dict, data: Data) -> augmentations.Augmentation:
    """The augmentation a config entry ``{name: ..., **arguments}`` names, with the data's sampling frequency
    where the augmentation needs one and the entry does not give it."""
    kwargs = {k: v for k, v in entry.items() if k != "name"}
    if augmentations.get(entry["name"]).needs_sfreq:
        kwargs.setdefault("sfreq", data.sfreq)
    return augmentations.create(entry["name"], **kwargs)


def _trunk_arguments(entry: dict, data: Data) -> dict:
    """The config's trunk arguments, completed from the data where the trunk takes them and the config is
    silent: ``n_classes``, ``in_channels``, ``in_features`` (one example's size) and ``sfreq``."""
    example = tuple(data.train_inputs.shape[1:])
    known = {"n_classes": data.n_classes, "in_channels": example[0], "in_features": math.prod(example)}
    if data.sfreq is not None:
        known["sfreq"] = data.sfreq
    accepted = inspect.signature(TRUNKS[entry["name"]]).parameters
    kwargs = {k: v for k, v in entry.items() if k != "name"}
    return {**{k: v for k, v in known.items() if k in accepted}, **kwargs}


def build_model(config: dict, data: Data) -> nn.Module:
    """The configured model: AugNet, Augerino, a fixed (oracle) augmentation, or the bare trunk (``none``).

    ``fixed`` is AugNet's machinery with every augmentation parameter frozen: the given ranges are applied in
    training and averaged over copies at test time, and nothing about them is learned.
    """
    spec = config["model"]
    trunk = create_trunk(spec["trunk"]["name"], **_trunk_arguments(spec["trunk"], data))
    copies = {"n_copies_train": spec["n_copies_train"], "n_copies_eval": spec["n_copies_eval"]}
    method = spec["method"]
    if method == "none":
        return trunk
    if method == "augerino":
        distribution = UniformLieAffine(init_width=spec["init_width"], generators=spec["generators"])
        return Augerino(trunk, distribution, width_cap=spec["width_cap"], **copies)
    layers = [
        AugmentationLayer(
            [create_augmentation(entry, data) for entry in layer],
            temperature=spec["temperature"],
            eval_sampling=spec["eval_sampling"],
        )
        for layer in spec["layers"]
    ]
    model = AugNet(trunk, layers, **copies)
    if method == "fixed":
        model.augmentation.requires_grad_(False)
    return model
