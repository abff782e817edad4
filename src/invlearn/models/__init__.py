"""Invariant models (AugNet, Augerino) and trunks."""

from invlearn.models.cnn import SpriteCNN
from invlearn.models.invariant import Augerino, AugNet, InvariantModel

__all__ = ["AugNet", "Augerino", "InvariantModel", "SpriteCNN"]
