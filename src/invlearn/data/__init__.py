"""Data sets generated offline and deterministically from a seed (``invlearn.data.sprites``,
``invlearn.data.sinusoids``)."""

from invlearn.data import sinusoids, sprites

__all__ = ["sinusoids", "sprites"]
