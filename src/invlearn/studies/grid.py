"""What every study shares: checked lists of overrides and seeds, and training a grid of runs (finished runs
reused, killed ones resumed, several at a time in worker processes)."""

from __future__ import annotations

import copy
import importlib.util
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import torch

from invlearn._validation import shown
from invlearn.training import rundir
from invlearn.training.config import ConfigError
from invlearn.training.run import RunFailed, train


def overrides(value: Any, where: str) -> list[str]:
    """A study's list of ``KEY=VALUE`` overrides (none where ``value`` is ``None``); anything else is refused,
    naming ``where``."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: must be a list of KEY=VALUE strings, got {shown(value)}")
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
    """A study's non-empty list of distinct integer seeds; anything else is refused, naming ``where``."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in value)
    ):
        raise ConfigError(f"{where}: must be a non-empty list of integers, got {shown(value)}")
    return check_distinct(value, where)


def check_distinct(values: list, where: str) -> list:
    """``values``, refused (naming ``where``) where one is listed twice: it would run once and count twice."""
    repeated = [value for index, value in enumerate(values) if value in values[:index]]
    if repeated:
        raise ConfigError(f"{where}: {shown(repeated[0])} is listed twice")
    return values


def finished(run_dir: Path, resolved: dict) -> bool:
    """Whether ``run_dir`` holds a finished run of ``resolved``; a run of another config there is an error (a
    changed study needs another ``--out``), and so is a run that diverged (:class:`~invlearn.training.run.RunFailed`:
    it is never scored, nor trained again into the same folder to diverge again)."""
    if not (run_dir / rundir.CONFIG).is_file():
        return False
    if rundir.read_config(run_dir) != resolved:
        raise ConfigError(f"{run_dir} holds a run of another config than this study's; use another --out")
    if not (run_dir / rundir.METRICS).is_file():
        return False
    diverged = rundir.diverged_record(run_dir)
    if diverged:
        raise RunFailed(
            f"{run_dir}: {rundir.diverged_message(diverged)}; train it with settings that do not diverge into"
            " another --out, or remove that folder to train it again"
        )
    return True


def no_finished_run(out: Path) -> ConfigError:
    """The error of a table asked of a study directory with no finished run of the study in it."""
    return ConfigError(f"{out}: no finished run of this study to tabulate (train it first, without --table-only)")


def train_one(resolved: dict, run_dir: Path) -> None:
    """Train one run of the grid, resuming it where a killed run left a checkpoint."""
    train(copy.deepcopy(resolved), run_dir, resume=(run_dir / rundir.CHECKPOINT).is_file())


def _die_with(parent: int) -> None:
    """Stop this process within a second of ``parent``'s death: a study killed with SIGKILL cannot stop its
    workers, and an orphan would go on training into the study's folder (and write ``metrics.json`` for a study
    that has gone). The run survives whole: checkpoints are written atomically and it resumes from the last."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="invlearn-parent-watch", daemon=True).start()


def _worker(resolved: dict, run_dir: Path, threads: int, report: Connection, parent: int) -> None:
    """One run in its own process: ``threads`` torch threads, Ctrl-C left to the study's process (which stops
    it), stopped with its ``parent`` study however that ends, and ``None`` or the run's error sent back on
    ``report``."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)
    try:
        train_one(resolved, run_dir)
    except Exception as error:  # a refused or diverged run: the study reports it
        report.send(error)
        return
    report.send(None)


def train_pending(pending: list[tuple[dict, Path]], jobs: int) -> None:
    """Train the runs not finished yet, ``jobs`` at a time (each in a process of its own with ``cores // jobs``
    threads; in this process where ``jobs`` is 1). The first failure, Ctrl-C or SIGTERM stops every run under way (with
    SIGKILL, which every run survives whole: it resumes from its last checkpoint next time) and is raised."""
    if jobs == 1:
        for resolved, run_dir in pending:
            train_one(resolved, run_dir)
        return
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # a forked copy of a threaded torch can deadlock
    waiting, running = list(pending), {}  # running: the report connection -> (process, run_dir)
    previous = signal.signal(signal.SIGTERM, _terminated)  # a kill stops the workers as Ctrl-C does
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                resolved, run_dir = waiting.pop(0)
                receive, send = context.Pipe(duplex=False)
                arguments = (resolved, run_dir, threads, send, os.getpid())
                process = context.Process(target=_worker, args=arguments, daemon=True)
                process.start()
                send.close()  # the worker holds the only sending end: its death ends the connection
                running[receive] = (process, run_dir)
            for receive in wait(list(running)):
                process, run_dir = running.pop(receive)
                try:
                    error = receive.recv()
                except EOFError:  # the worker died without a word (killed, out of memory)
                    process.join()
                    raise RuntimeError(f"the run in {run_dir} stopped (exit code {process.exitcode})") from None
                process.join()
                if error is not None:
                    raise error
    except BaseException:
        for process, _ in running.values():  # no run outlives the study, to train old code into its folder later
            process.kill()
            process.join()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminated(signum, frame) -> None:
    """SIGTERM (``kill``, a job scheduler's stop) on a study: raised as Ctrl-C, so its workers are stopped too."""
    raise KeyboardInterrupt("terminated")


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
