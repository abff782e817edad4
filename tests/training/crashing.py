"""Fault injection for the crash-consistency tests: run a training or a study in a forked process that records
every boundary it crosses (each file written, each evaluation's start and end) and kills itself with SIGKILL
just after boundary number ``kill_after``, as a power cut or ``kill -9`` would (no ``finally`` runs).

The processes come from a ``forkserver`` that imported torch and Lightning once, so a kill costs a training's
time, not an interpreter's start."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path

PRELOAD = ["torch", "lightning", "invlearn.training.run", "invlearn.studies.registry"]


def _instrument(kill_after: int, events: list[str]) -> None:
    """Record boundaries into ``events``; SIGKILL this process right after the one numbered ``kill_after``."""
    from invlearn.studies import grid
    from invlearn.training import report, run, rundir, task

    def event(name: str) -> None:
        events.append(name)
        if len(events) - 1 == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    original_write = rundir.write_atomic

    def write_atomic(path, write) -> None:
        original_write(path, write)
        event(f"wrote {Path(path).parent.name}/{Path(path).name}")

    for module in (run, rundir, report, grid):
        if hasattr(module, "write_atomic"):
            module.write_atomic = write_atomic
    for hook in ("on_validation_epoch_start", "on_validation_epoch_end"):
        parent = getattr(task.InvarianceTask, hook)

        def wrapped(self, parent=parent, hook=hook) -> None:
            event(f"{hook} {self.current_epoch}")
            parent(self)
            event(f"after {hook} {self.current_epoch}")

        setattr(task.InvarianceTask, hook, wrapped)


def _child(kind: str, argument, out: str, kill_after: int, events_file: str) -> None:
    import torch

    torch.set_num_threads(1)  # the same thread count in every process: the same floating-point sums
    events: list[str] = []
    _instrument(kill_after, events)
    if kind == "train":
        from invlearn.training import run

        resume = (Path(out) / "checkpoints" / "last.ckpt").is_file()
        run.train(run.read_config(out) if resume else argument, out, resume=resume)
    else:
        from invlearn.studies import registry

        registry.run_study(registry.load_study(argument), Path(out))
    Path(events_file).write_text(json.dumps(events))


def run_in_child(kind: str, argument, out: Path, kill_after: int = -1) -> tuple[int, list[str]]:
    """``(exit code, boundaries crossed)`` of one child: ``kind`` ``"train"`` (``argument``: a resolved config;
    a run folder holding a checkpoint is resumed) or ``"study"`` (``argument``: the study file). The code is
    ``-SIGKILL`` where the child killed itself; the boundaries are then not known (empty)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    events_file = Path(str(out) + ".events.json")
    events_file.unlink(missing_ok=True)
    child = context.Process(target=_child, args=(kind, argument, str(out), kill_after, str(events_file)))
    child.start()
    child.join()
    events = json.loads(events_file.read_text()) if events_file.is_file() else []
    return child.exitcode, events
