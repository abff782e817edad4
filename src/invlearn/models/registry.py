"""A registry of trunks, so configurations can name them (``create_trunk("sprite_cnn", n_classes=4)``)."""

from __future__ import annotations

from torch import nn

from invlearn.models.cnn import LeNet, SmallUNet, SpriteCNN
from invlearn.models.points import PointTransformer
from invlearn.models.resnet import PreActResNet18
from invlearn.models.signal import MLP, SignalCNN
from invlearn.models.sleep import SleepStager

TRUNKS: dict[str, type[nn.Module]] = {
    "sprite_cnn": SpriteCNN,
    "lenet": LeNet,
    "signal_cnn": SignalCNN,
    "mlp": MLP,
    "sleep_stager": SleepStager,
    "preact_resnet18": PreActResNet18,
    "small_unet": SmallUNet,
    "point_transformer": PointTransformer,
}


def available_trunks() -> list[str]:
    """Sorted names of the registered trunks."""
    return sorted(TRUNKS)


def create_trunk(name: str, **kwargs) -> nn.Module:
    """Instantiate the trunk registered under ``name`` with constructor ``kwargs``."""
    if name not in TRUNKS:
        raise ValueError(f"unknown trunk name {name!r}; available: {', '.join(available_trunks())}")
    return TRUNKS[name](**kwargs)
