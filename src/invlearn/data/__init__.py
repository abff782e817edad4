"""Data sets: generated offline and deterministically from a seed (``sprites``, ``sinusoids``, the synthetic
sleep EEG of ``sleep``), and loaders of real files that users bring (``images``: MNIST, Fashion-MNIST, CIFAR-10;
``sleep``: Sleep-EDF), built on the checked readers of ``files``; ``transformed`` applies a known
transformation to every image."""

from invlearn.data import files, images, sinusoids, sleep, sprites, transformed

__all__ = ["files", "images", "sinusoids", "sleep", "sprites", "transformed"]
