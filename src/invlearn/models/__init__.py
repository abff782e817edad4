"""Invariant models (AugNet, Augerino, independent candidates), the experiments' trunks and their registry."""

from invlearn.models.cnn import LeNet, SmallUNet, SpriteCNN
from invlearn.models.invariant import Augerino, AugNet, Independent, InvariantModel
from invlearn.models.points import PointTransformer
from invlearn.models.registry import available_trunks, create_trunk
from invlearn.models.resnet import PreActResNet18
from invlearn.models.signal import MLP, SignalCNN
from invlearn.models.sleep import SleepStager

__all__ = [
    "MLP",
    "AugNet",
    "Augerino",
    "Independent",
    "InvariantModel",
    "LeNet",
    "PointTransformer",
    "PreActResNet18",
    "SignalCNN",
    "SleepStager",
    "SmallUNet",
    "SpriteCNN",
    "available_trunks",
    "create_trunk",
]
