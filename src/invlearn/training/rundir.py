"""The files of a run directory, read and written in one place (by runs, reports and studies).

A run directory holds the resolved ``config.yaml``, ``checkpoints/last.ckpt``, CSV and TensorBoard logs under
``logs/``, ``metrics.json`` and ``report.md`` with its plots. Files are written atomically (a temporary file in
the same folder, then a rename), so a run killed while writing leaves the previous version readable.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from invlearn.training.config import ConfigError, load

CONFIG = "config.yaml"
METRICS = "metrics.json"
CHECKPOINT = Path("checkpoints") / "last.ckpt"
REPORT = "report.md"


def write_atomic(path: Path, write) -> None:
    """Call ``write(temporary_path)`` then rename the result onto ``path`` (same folder, so the rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would make the file private
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_folder_can_hold(path: Path, flag: str) -> None:
    """Refuse ``path`` (a folder to create, or a file's folder) when its nearest existing ancestor is a file or
    cannot be written; ``flag`` names the option in the message."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{flag} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: {existing} is not writable")


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN or infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as strict JSON (NaN and infinities become ``null``), atomically."""
    text = json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n"
    write_atomic(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def read_config(run_dir: str | Path) -> dict:
    """The validated ``config.yaml`` of a run directory."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: cannot read (no such file); is {run_dir} a run directory?")
    return load(path)


def read_metrics(run_dir: str | Path) -> dict:
    """The ``metrics.json`` of a finished run, with at least one evaluated epoch."""
    path = Path(run_dir) / METRICS
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        epochs = metrics["epochs"]
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror}); has the run finished?") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path}: not an invlearn metrics file ({error})") from None
    if not epochs:
        raise ConfigError(f"{path}: no epochs recorded")
    return metrics


def read_checkpoint(run_dir: str | Path) -> dict:
    """The last checkpoint of a run, loaded with ``weights_only=True`` (tensors and plain containers only: a
    crafted file cannot run code) and checked to be an invlearn checkpoint."""
    import torch

    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise ConfigError(f"{path}: no checkpoint; was the run trained?")
    try:
        with warnings.catch_warnings():  # torch warns about unusual pickle protocols before refusing them
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, empty, random bytes or a pickle of anything but tensors
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{path}: not a readable invlearn checkpoint ({first_line})") from None
    if not isinstance(checkpoint, dict) or not {"state_dict", "invlearn"} <= set(checkpoint):
        raise ConfigError(f"{path}: not an invlearn checkpoint (no state_dict and invlearn state)")
    return checkpoint
