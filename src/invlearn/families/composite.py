"""What the families share: their parts' parameters kept under each part's index, the checked list of candidate
augmentations, and :class:`CompositeTransform`, the base of every family made of numbered parts (AugNet's layers and
modules, independent candidates, policies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from torch import Tensor, nn

from invlearn.augmentations import Augmentation, Params, RandomTransform, create


def prefixed(prefix: int, params: Mapping[str, Tensor]) -> Params:
    """``params`` with every key prefixed by ``"{prefix}."`` (a part's parameters inside its container's)."""
    return {f"{prefix}.{key}": value for key, value in params.items()}


def unprefixed(prefix: int, params: Mapping[str, Tensor]) -> Params:
    """The parameters of part ``prefix`` of a container's ``params``, without their prefix."""
    head = f"{prefix}."
    return {key[len(head) :]: value for key, value in params.items() if key.startswith(head)}


def common_modality(parts: Sequence[RandomTransform], what: str) -> str:
    """The one modality of ``parts``; mixing modalities is an error naming ``what``."""
    modalities = sorted({part.modality for part in parts})
    if len(modalities) != 1:
        raise ValueError(f"{what} mixes modalities {modalities}; transforms of different modalities cannot be chained")
    return modalities[0]


def candidate_list(augmentations: Sequence[Augmentation | str]) -> list[Augmentation]:
    """Checked candidates: a non-empty list of :class:`~invlearn.augmentations.Augmentation` instances or
    registry names (created with their defaults), no name twice."""
    if isinstance(augmentations, (str, Augmentation)) or not isinstance(augmentations, Iterable):
        raise TypeError(
            f"augmentations must be a list of augmentations or names, got {type(augmentations).__name__} "
            f"(write [{augmentations!r}] for a single candidate)"
        )
    candidates = [create(a) if isinstance(a, str) else a for a in augmentations]
    if not candidates:
        raise ValueError("augmentations must hold at least one candidate")
    for candidate in candidates:
        if not isinstance(candidate, Augmentation):
            raise TypeError(f"augmentations must be Augmentation instances or names, got {type(candidate).__name__}")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise ValueError(f"augmentations must not repeat a name, got {names}")
    return candidates


class CompositeTransform(RandomTransform):
    """A random transform made of numbered parts (candidates or layers): each part's parameters are kept under
    its index (``"2.u"``), with its batch-index and permutation keys. Subclasses name their parts in
    :attr:`parts`."""

    @property
    def parts(self) -> nn.ModuleList:
        """The parts, in order."""
        raise NotImplementedError

    @property
    def batch_index_keys(self) -> tuple[str, ...]:
        return tuple(f"{i}.{key}" for i, part in enumerate(self.parts) for key in part.batch_index_keys)

    @property
    def permutation_keys(self) -> tuple[str, ...]:
        return tuple(f"{i}.{key}" for i, part in enumerate(self.parts) for key in part.permutation_keys)

    def parts_parameters(self, batch_size, generator, device, shape) -> Params:
        """Every part's noise, drawn part after part, under its index."""
        params: Params = {}
        for i, part in enumerate(self.parts):
            params.update(prefixed(i, part.generate_parameters(batch_size, generator, device, shape)))
        return params

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        return self.parts_parameters(batch_size, generator, device, shape)
