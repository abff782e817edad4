"""Invariant models and trunks.

``invariant``: :class:`InvariantModel`, a trunk behind an augmentation family, averaging its copies (and
``AugNet``, ``Augerino``, ``Independent`` built on it); the experiments' trunks (``cnn``, ``resnet``,
``signal``, ``sleep``, ``points``) and their ``registry``. Layering: models import the families and below,
never the objectives, training or studies.
"""

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
