"""Invariant models (AugNet, Augerino) and the trunks of the experiments, with their registry."""

from invlearn.models.cnn import SpriteCNN
from invlearn.models.invariant import Augerino, AugNet, InvariantModel
from invlearn.models.registry import available_trunks, create_trunk
from invlearn.models.signal import MLP, SignalCNN

__all__ = ["MLP", "AugNet", "Augerino", "InvariantModel", "SignalCNN", "SpriteCNN", "available_trunks", "create_trunk"]
