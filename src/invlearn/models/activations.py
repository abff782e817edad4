"""Activations a trunk can be built with, by name."""

from __future__ import annotations

from torch import nn

#: Activations a trunk can be built with, by name.
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def activation_module(name: str) -> nn.Module:
    """A new activation module named ``name`` (a key of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()
