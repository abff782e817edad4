"""Reading data files that users bring (idx, pickled batches), with errors that name the file and the fault.

Every reader checks what it reads before trusting it: a missing file, a truncated file or one in another
format raises :class:`DataError` (a ``ValueError``) whose message starts with the path.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

#: idx type codes (the third byte of the magic number) and the numpy dtype each stores, big-endian.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data file is missing, truncated or not in the expected format."""


def read_bytes(path: str | Path) -> bytes:
    """The bytes of ``path``, decompressed when it ends in ``.gz``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot be read ({error})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """An idx file (the MNIST format: magic ``00 00 type ndim``, ``ndim`` big-endian uint32 sizes, then the
    values), plain or gzipped, as a numpy array of its shape and type."""
    raw = read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DataError(f"{path}: not an idx file (magic number {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated idx header ({ndim} dimensions, {len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{path}: {len(raw)} bytes, but its header {shape} of {dtype} needs {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def find(root: Path, stem: str) -> Path:
    """``root / stem`` or ``root / (stem + ".gz")``, whichever exists (the plain file first)."""
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{root / stem}: no such file (nor {stem}.gz)")
