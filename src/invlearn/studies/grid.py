"""What every study shares: checked lists of overrides and seeds, and training a grid of runs (finished runs
reused, killed ones resumed, several at a time in worker processes)."""

from __future__ import annotations

import copy
import importlib.util
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch

from invlearn.training import rundir
from invlearn.training.config import ConfigError
from invlearn.training.run import train


def overrides(value: Any, where: str) -> list[str]:
    """A study's list of ``KEY=VALUE`` overrides (none where ``value`` is ``None``); anything else is refused,
    naming ``where``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: must be a list of KEY=VALUE strings, got {value!r}")
    return value


def check_keys(spec: dict, known: set[str], required: tuple[str, ...]) -> None:
    """A study file's keys: none outside ``known``, every ``required`` one present and not empty."""
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key (known: {sorted(known)})")
    for key in required:
        if not spec.get(key):
            raise ConfigError(f"{key}: missing or empty")


def seed_list(value: Any, where: str) -> list[int]:
    """A study's non-empty list of integer seeds; anything else is refused, naming ``where``."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in value)
    ):
        raise ConfigError(f"{where}: must be a non-empty list of integers, got {value!r}")
    return value


def finished(run_dir: Path, resolved: dict) -> bool:
    """Whether ``run_dir`` holds a finished run of ``resolved``; a run of another config there is an error (a
    changed study needs another ``--out``)."""
    if not (run_dir / rundir.CONFIG).is_file():
        return False
    if rundir.read_config(run_dir) != resolved:
        raise ConfigError(f"{run_dir} holds a run of another config than this study's; use another --out")
    return (run_dir / rundir.METRICS).is_file()


def train_one(resolved: dict, run_dir: Path) -> None:
    """Train one run of the grid, resuming it where a killed run left a checkpoint."""
    train(copy.deepcopy(resolved), run_dir, resume=(run_dir / rundir.CHECKPOINT).is_file())


def train_pending(pending: list[tuple[dict, Path]], jobs: int) -> None:
    """Train the runs not finished yet, ``jobs`` at a time (worker processes of ``cores // jobs`` threads each;
    in this process where ``jobs`` is 1). The first failure stops the runs not started yet and is raised."""
    if jobs == 1:
        for resolved, run_dir in pending:
            train_one(resolved, run_dir)
        return
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # a forked copy of a threaded torch can deadlock
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=torch.set_num_threads, initargs=(threads,))
    try:
        for done in as_completed([pool.submit(train_one, resolved, run_dir) for resolved, run_dir in pending]):
            done.result()
    finally:
        pool.shutdown(cancel_futures=True)


def write_study(out: Path, result: dict, text: str, plot: Callable[[dict, Path], None]) -> dict:
    """Write a study's ``study.json`` (``result``, with ``medians``: its summary, what ``invlearn study`` prints),
    ``study.md`` (``text``) and, with matplotlib, its figure (``plot(result, out)``); returns ``result``."""
    result["medians"] = result["summary"]
    out.mkdir(parents=True, exist_ok=True)
    rundir.write_json(out / "study.json", result)
    rundir.write_atomic(out / "study.md", lambda temporary: temporary.write_text(text, encoding="utf-8"))
    if importlib.util.find_spec("matplotlib") is not None:
        plot(result, out)
    return result
