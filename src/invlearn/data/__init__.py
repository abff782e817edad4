"""Data sets: generated offline and deterministically from a seed (``sprites``, ``sinusoids``, the synthetic
sleep EEG of ``sleep``), and loaders of real files that users bring (``images``: MNIST, Fashion-MNIST, CIFAR-10;
``sleep``: Sleep-EDF; ``qm9``), built on the checked readers of ``files``; ``transformed`` applies a known
transformation to every image, ``digit_tasks`` builds tasks beyond classification from digits. Every set's facts
and loader are in one ``registry``, each returning a ``split.Split``.

Layering: data import the ops and the identification metric's :class:`~invlearn.metrics.identification.Truth`,
and are imported by training and studies only.
"""

from invlearn.data import files, images, sinusoids, sleep, sprites, transformed

__all__ = ["files", "images", "sinusoids", "sleep", "sprites", "transformed"]
