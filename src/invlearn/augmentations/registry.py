"""One registry from snake_case names to augmentation classes, so configurations can name them (as timm's
``create_model``)."""

from __future__ import annotations

from invlearn.augmentations.base import Augmentation, check_modality

_REGISTRY: dict[str, type[Augmentation]] = {}


def register(cls: type[Augmentation]) -> type[Augmentation]:
    """Class decorator: record ``cls`` under ``cls.name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"augmentation name {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available(modality: str | None = None) -> list[str]:
    """Sorted names of the registered augmentations, optionally only those of one modality (``"image"``,
    ``"signal"`` or ``"points"``)."""
    modality = check_modality(modality)
    return sorted(name for name, cls in _REGISTRY.items() if modality in (None, cls.modality))


def get(name: str) -> type[Augmentation]:
    """The class registered under ``name``."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown augmentation name {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name]


def create(name: str, **kwargs) -> Augmentation:
    """Instantiate the augmentation registered under ``name`` with constructor ``kwargs``."""
    return get(name)(**kwargs)
