"""Turn a validated configuration into the learner and the data it names.

The methods (``none``, ``fixed``, ``augnet``, ``augerino``) are a registry, :data:`METHODS`: each builds a
:class:`Learner` from the config's ``model`` section, the data and the trunk, so the trainer never branches on
the method.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from invlearn import Augerino, AugmentationLayer, AugNet, InvariantModel, UniformLieAffine, augmentations
from invlearn.data import images, registry, sinusoids, sleep, sprites, transformed
from invlearn.data.files import DataError
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

    @property
    def modality(self) -> str:
        """``"image"`` for ``(N, C, H, W)`` inputs, ``"signal"`` for ``(N, channels, times)``."""
        return "image" if self.train_inputs.ndim == 4 else "signal"


def _first(tensors: tuple[Tensor, ...], n: int | None, key: str, what: str) -> tuple[Tensor, ...]:
    """The first ``n`` examples of each tensor (all where ``n`` is ``None``); more than there are is an error."""
    available = tensors[0].shape[0]
    if n is not None and n > available:
        raise DataError(f"{key}: {n} is more than the {available} {what} examples of this data set")
    return tuple(t[:n] for t in tensors)


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
    parts = []
    for split, part in ((train, "train"), (test, "test")):
        subset = _first((split.images, split.labels), spec[f"n_{part}"], f"data.n_{part}", part)
        parts.append(
            transformed.transform(images.ImageSplit(*subset), spec["transform"], generator, spec["transform_range"])
        )
    n_classes = registry.get(spec["name"]).n_classes
    return Data(parts[0].images, parts[0].labels, parts[1].images, parts[1].labels, n_classes)


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
    train_signals, train_labels = _first((train.signals, train.labels), spec["n_train"], "data.n_train", "train")
    test_signals, test_labels = _first((test.signals, test.labels), spec["n_test"], "data.n_test", "test")
    scale = train_signals.std()
    n_classes = registry.get("sleep").n_classes
    return Data(train_signals / scale, train_labels, test_signals / scale, test_labels, n_classes, train.sfreq)


def _sprites_data(spec: dict, seed: int) -> Data:
    """Generated sprites: ``n_train`` / ``n_test`` of them (10,000 / 5,000 by default)."""
    train, test = sprites.load(spec["n_train"] or 10_000, spec["n_test"] or 5_000, seed=seed)
    return Data(train.images, train.labels, test.images, test.labels, registry.get("sprites").n_classes)


def _sinusoids_data(spec: dict, seed: int) -> Data:
    """The sinusoids of the AugNet protocol (400 train / 200 test), the first ``n_train`` / ``n_test``."""
    train, test = sinusoids.load(seed=seed)
    facts = registry.get("sinusoids")
    return Data(
        *_first((train.signals, train.labels), spec["n_train"], "data.n_train", "train"),
        *_first((test.signals, test.labels), spec["n_test"], "data.n_test", "test"),
        facts.n_classes,
        facts.sfreq,
    )


#: ``data.name`` -> the function that makes its :class:`Data` from ``(config["data"], seed)``.
LOADERS = {
    "sprites": _sprites_data,
    "sinusoids": _sinusoids_data,
    "mnist": _image_data,
    "fmnist": _image_data,
    "cifar10": _image_data,
    "sleep": _sleep_data,
}


def build_data(config: dict) -> Data:
    """Generate or load the configured data set (deterministic given ``config["seed"]``)."""
    return LOADERS[config["data"]["name"]](config["data"], config["seed"])


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


@dataclass(frozen=True)
class Learner:
    """What the trainer receives: the model and the weight ``lam`` of its penalty in the training loss
    (``task_loss - lam * model.penalty()``; 0 where nothing is learned)."""

    model: InvariantModel
    lam: float


def _copies(spec: dict) -> dict:
    return {"n_copies_train": spec["n_copies_train"], "n_copies_eval": spec["n_copies_eval"]}


def _layers(spec: dict, data: Data) -> list[AugmentationLayer]:
    return [
        AugmentationLayer(
            [create_augmentation(entry, data) for entry in layer],
            temperature=spec["temperature"],
            eval_sampling=spec["eval_sampling"],
        )
        for layer in spec["layers"]
    ]


def _none(config: dict, data: Data, trunk: nn.Module) -> Learner:
    """The bare trunk: no augmentation, one copy, raw outputs (so its logits reach the loss unchanged)."""
    identity = augmentations.Identity(data.modality)
    return Learner(InvariantModel(trunk, identity, n_copies_train=1, n_copies_eval=1, aggregate="mean"), 0.0)


def _fixed(config: dict, data: Data, trunk: nn.Module) -> Learner:
    """AugNet's machinery with every augmentation parameter frozen: the given ranges are applied in training
    and averaged over copies at test time, and nothing about them is learned (an oracle)."""
    model = AugNet(trunk, _layers(config["model"], data), **_copies(config["model"]))
    model.augmentation.requires_grad_(False)
    return Learner(model, 0.0)


def _augnet(config: dict, data: Data, trunk: nn.Module) -> Learner:
    spec = config["model"]
    model = AugNet(trunk, _layers(spec, data), penalty=config["loss"]["penalty"], **_copies(spec))
    return Learner(model, config["loss"]["lam"])


def _augerino(config: dict, data: Data, trunk: nn.Module) -> Learner:
    spec = config["model"]
    distribution = UniformLieAffine(init_width=spec["init_width"], generators=spec["generators"])
    model = Augerino(trunk, distribution, width_cap=spec["width_cap"], safe_limit=spec["safe_limit"], **_copies(spec))
    return Learner(model, config["loss"]["lam"])


#: ``model.method`` -> builder of its learner from ``(config, data, trunk)``.
METHODS: dict[str, Callable[[dict, Data, nn.Module], Learner]] = {
    "none": _none,
    "fixed": _fixed,
    "augnet": _augnet,
    "augerino": _augerino,
}


def build_learner(config: dict, data: Data) -> Learner:
    """The configured learner: its trunk (arguments completed from the data) behind the method's augmentation."""
    spec = config["model"]
    trunk = create_trunk(spec["trunk"]["name"], **_trunk_arguments(spec["trunk"], data))
    return METHODS[spec["method"]](config, data, trunk)
