"""The one container every data set returns: a train or test part of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import Tensor

from invlearn.data.files import DataError


@dataclass(frozen=True)
class Split:
    """One part (train or test) of a data set.

    Attributes:
        inputs: images ``(N, C, H, W)`` float32 in ``[0, 1]``, or signals ``(N, channels, times)`` float32.
        labels: classes ``(N,)`` int64.
        facts: per-example facts by name, each ``(N, ...)``: the applied rotation ``"angle"`` (rad) of sprites,
            the ``"frequency"`` (Hz) of sinusoids, the ``"recording"`` index of sleep epochs, the value drawn by
            a known transformation (``"rotate"``, ``"translate"``, ``"scale"``; :mod:`invlearn.data.transformed`).
        sfreq: sampling frequency of signals (Hz), ``None`` for images.
        channels: names of the signal channels (empty where they have none).
    """

    inputs: Tensor
    labels: Tensor
    facts: Mapping[str, Tensor] = field(default_factory=dict)
    sfreq: float | None = None
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = self.labels.shape[0]
        sizes = {"inputs": self.inputs.shape[0], **{name: value.shape[0] for name, value in self.facts.items()}}
        wrong = {name: size for name, size in sizes.items() if size != n}
        if wrong:
            raise DataError(f"a split's {', '.join(wrong)} must have one entry per label ({n}), got {wrong}")

    def __len__(self) -> int:
        return self.labels.shape[0]

    def take(self, index: slice | Tensor) -> Split:
        """The examples at ``index`` (a slice or an index tensor), with their facts."""
        facts = {name: value[index] for name, value in self.facts.items()}
        return dataclasses.replace(self, inputs=self.inputs[index], labels=self.labels[index], facts=facts)

    def first(self, n: int | None, key: str = "n") -> Split:
        """The first ``n`` examples (all where ``n`` is ``None``); asking for more than there are is a
        :class:`~invlearn.data.files.DataError` naming ``key``."""
        if n is not None and n > len(self):
            raise DataError(f"{key}: {n} is more than the {len(self)} examples of this split")
        return self if n is None else self.take(slice(0, n))

    def with_inputs(self, inputs: Tensor, **facts: Tensor) -> Split:
        """The same examples with new ``inputs`` (same length) and any further per-example ``facts``."""
        return dataclasses.replace(self, inputs=inputs, facts={**self.facts, **facts})
