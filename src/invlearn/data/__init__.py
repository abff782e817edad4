"""Data sets: generated offline and deterministically from a seed (``sprites``, ``sinusoids``), and loaders of
real files that users bring (``images``: MNIST, Fashion-MNIST, CIFAR-10), built on the checked readers of
``files``."""

from invlearn.data import files, images, sinusoids, sprites

__all__ = ["files", "images", "sinusoids", "sprites"]
