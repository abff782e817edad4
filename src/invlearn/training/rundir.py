"""The files of a run directory, read and written in one place (by runs, reports and studies).

A run directory holds the resolved ``config.yaml``, ``checkpoints/last.ckpt``, CSV and TensorBoard logs under
``logs/``, ``metrics.json`` and ``report.md`` with its plots. Files are written atomically (a temporary file in
the same folder, then a rename), so a run killed while writing leaves the previous version readable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from invlearn._validation import shown
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


@contextlib.contextmanager
def writing_into(folder: str | Path, flag: str) -> Iterator[bool]:
    """Hold ``folder`` (created if missing) for this process alone while the block writes into it; yields whether
    the folder was created here (it is removed again if it is left empty). A second invlearn process that asks
    for the same folder meanwhile is refused with a :class:`~invlearn.training.schema.ConfigError` naming ``flag``
    (two studies, evidence curves or runs writing one folder would mix their runs' files). The lock is the
    kernel's (``flock`` on the folder), so a process killed in any way releases it."""
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder, os.O_RDONLY)
    except OSError as error:
        raise ConfigError(f"{flag} {folder}: cannot write ({error.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"{flag} {folder}: another invlearn process is writing into it; wait for it to end or pick another"
                f" {flag}"
            ) from None
        yield created
    finally:
        os.close(handle)
        if created:
            with contextlib.suppress(OSError):  # only an empty folder: what was written stays
                folder.rmdir()


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


#: What the readers of ``metrics.json`` (reports, studies) use: key -> the types its value may take.
FINAL_KEYS = {
    "score": (str,),
    "learned_invariances": (dict,),
    "epochs": (int,),
    "train_seconds": (int, float),
    "hyper_seconds": (int, float),
}
EPOCH_KEYS = {"epoch": (int,), "seconds": (int, float)}
RANGE_KEYS = ("weight", "magnitude", "low", "high", "unit")


def read_metrics(run_dir: str | Path) -> dict:
    """The ``metrics.json`` of a finished run, with at least one evaluated epoch, every key its readers use and
    a number for its headline score. Raises :class:`~invlearn.training.schema.ConfigError` naming the file and the key
    at fault."""
    path = Path(run_dir) / METRICS
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror}); has the run finished?") from None
    except ValueError as error:
        raise ConfigError(f"{path}: not an invlearn metrics file ({error})") from None
    if isinstance(metrics, dict) and metrics.get("diverged"):
        raise ConfigError(f"{path}: {diverged_message(metrics['diverged'])}")
    problem = _metrics_problem(metrics)
    if problem:
        raise ConfigError(f"{path}: not an invlearn metrics file ({problem})")
    return metrics


def diverged_record(run_dir: str | Path) -> Any:
    """What the ``metrics.json`` of the run in ``run_dir`` says of its divergence (``None``: it did not diverge,
    or there is no readable file)."""
    try:
        metrics = json.loads((Path(run_dir) / METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metrics.get("diverged") if isinstance(metrics, dict) else None


def diverged_message(record: Any) -> str:
    """One line on a run that diverged (its ``metrics.json``'s ``diverged`` record): it has no final score."""
    step = record.get("step") if isinstance(record, dict) else None
    return f"the run diverged (at step {shown(step)}) and has no final score; it is never scored as finished"


def _metrics_problem(metrics: Any) -> str | None:
    """What ``metrics`` lacks of a finished run's ``metrics.json`` (the first key at fault), or ``None``."""
    if not isinstance(metrics, dict):
        return "not a mapping"
    if not isinstance(metrics.get("wall_time_s"), (int, float)):
        return "wall_time_s: missing or not a number"
    epochs, final = metrics.get("epochs"), metrics.get("final")
    if not isinstance(epochs, list) or not epochs:
        return "epochs: missing or empty"
    if not isinstance(final, dict):
        return "final: missing or not a mapping"
    checks = [(f"final.{key}", final.get(key), types) for key, types in FINAL_KEYS.items()]
    checks += [
        (f"epochs[{i}].{key}", epoch.get(key) if isinstance(epoch, dict) else None, types)
        for i, epoch in enumerate(epochs)
        for key, types in EPOCH_KEYS.items()
    ]
    for where, value, types in checks:
        if not isinstance(value, types) or isinstance(value, bool):
            return f"{where}: missing or not a {' or '.join(t.__name__ for t in types)}"
    if not isinstance(final.get(final["score"]), (int, float)):
        return f"final.{final['score']}: the headline score is missing or not a number"
    for name, entry in final["learned_invariances"].items():
        if not isinstance(entry, dict) or not set(RANGE_KEYS) <= set(entry):
            return f"final.learned_invariances.{name}: must hold {list(RANGE_KEYS)}"
        numbers = all(entry[key] is None or _number(entry[key]) for key in RANGE_KEYS[:-1])
        if not numbers or not isinstance(entry["unit"], str):
            return f"final.learned_invariances.{name}: {list(RANGE_KEYS[:-1])} must be numbers or null, unit a string"
    return _identification_problem(final.get("identification"))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _identification_problem(found: Any) -> str | None:
    """What a ``final.identification`` record (the study's verdict on a run) lacks, or ``None``."""
    if found is None:
        return None
    where = "final.identification"
    if not isinstance(found, dict):
        return f"{where}: not a mapping"
    ranges = found.get("effective_ranges", {})
    if not isinstance(ranges, dict) or not all(_number(value) for value in ranges.values()):
        return f"{where}.effective_ranges: must map names to numbers"
    for key in ("recovered", "selected"):
        if found.get(key) is not None and not isinstance(found[key], bool):
            return f"{where}.{key}: must be true, false or null"
    truth = found.get("truth")
    if truth is None:
        return None
    names = truth.get("names") if isinstance(truth, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        return f"{where}.truth.names: must be a non-empty list of names"
    if not _number(truth.get("half_range")) or not _number(truth.get("at_most", 0.0)):
        return f"{where}.truth: half_range and at_most must be numbers"
    return None


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
        if "weights only load failed" in first_line.lower():  # torch's advice that follows would switch it off
            first_line = "it holds objects other than tensors and plain containers, which are never loaded"
        raise ConfigError(f"{path}: not a readable invlearn checkpoint ({first_line})") from None
    if not isinstance(checkpoint, dict) or not {"state_dict", "invlearn"} <= set(checkpoint):
        raise ConfigError(f"{path}: not an invlearn checkpoint (no state_dict and invlearn state)")
    return checkpoint
