"""Ctrl-C on a study: every worker stops with it, one line says how to resume, and the rerun finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

QUICK = Path(__file__).resolve().parents[2] / "configs" / "identification-quick.yaml"


def _long_study(tmp_path: Path) -> Path:
    """The quick study's sinusoids under two methods, trained long enough to be interrupted."""
    spec = yaml.safe_load(QUICK.read_text())
    task = spec["tasks"]["sinusoids"]
    spec["tasks"] = {
        "sinusoids": {**task, "base": str(QUICK.parent / task["base"]), "set": [*task["set"], "trainer.epochs=400"]}
    }
    spec["methods"] = {name: spec["methods"][name] for name in ("none", "augnet")}
    spec["set"] = [*spec["set"], "trainer.checkpoint_every_n_steps=2"]
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped; only its exit status is left to collect


def _children(pid: int) -> list[int]:
    return [
        int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()
    ]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker processes from /proc")
@pytest.mark.parametrize(
    ("whole_group", "signum"),
    [
        (True, signal.SIGINT),
        pytest.param(False, signal.SIGINT, marks=pytest.mark.slow),  # the path kill-TERM takes (raised as Ctrl-C)
        (False, signal.SIGTERM),
    ],
    ids=["terminal", "kill-INT", "kill-TERM"],
)
def test_ctrl_c_stops_every_worker_and_says_how_to_resume(tmp_path, whole_group, signum):
    study, out = _long_study(tmp_path), tmp_path / "out"
    args = ["study", str(study), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "invlearn", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (no threads here)
    )
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/*/seed*/checkpoints/last.ckpt"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = _children(process.pid)
    assert workers, "the study started no worker processes"
    if whole_group:
        os.killpg(process.pid, signum)  # what Ctrl-C in a terminal does
    else:
        process.send_signal(signum)  # the study's process alone (SIGTERM: kill, a job scheduler)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and f"rerun  invlearn study {study} --out {out} --jobs 2" in err, err
    time.sleep(1)
    assert not [pid for pid in workers if _alive(pid)], "a worker outlived the study"
    assert not list(out.rglob("metrics.json"))  # nothing was reported as finished


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker processes from /proc")
def test_kill_9_of_a_study_leaves_no_worker_training(tmp_path):
    study, out = _long_study(tmp_path), tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "invlearn", "study", str(study), "--out", str(out), "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/*/seed*/checkpoints/last.ckpt"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = _children(process.pid)
    assert workers, "the study started no worker processes"
    process.kill()  # SIGKILL: the study cannot stop its workers itself
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while [pid for pid in workers if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)], "a worker outlived the study killed with SIGKILL"
    assert not list(out.rglob("metrics.json"))


def test_a_failing_run_stops_the_other_workers(tmp_path):
    from invlearn.studies import grid
    from invlearn.training import config

    good = config.load(QUICK.parent / "sinusoids-augnet.yaml", ["data.n_train=96", "trainer.epochs=400"])
    bad = config.load(QUICK.parent / "sinusoids-augnet.yaml", ["data.n_train=96", "optim.lr=1.0e+30"])
    started = time.monotonic()
    with pytest.raises(Exception, match="diverged"):
        grid.train_pending([(good, tmp_path / "good"), (bad, tmp_path / "bad")], jobs=2)
    assert time.monotonic() - started < 60  # the long run was stopped, not waited for
    assert not (tmp_path / "good" / "metrics.json").exists()
    assert json.loads((tmp_path / "bad" / "metrics.json").read_text())["diverged"]


def test_a_diverged_run_is_never_taken_as_finished_nor_scored(tmp_path):
    from invlearn.studies import grid
    from invlearn.training import config, rundir
    from invlearn.training.run import RunFailed

    bad = config.load(QUICK.parent / "sinusoids-augnet.yaml", ["data.n_train=96", "optim.lr=1.0e+30"])
    with pytest.raises(RunFailed):
        grid.train_pending([(bad, tmp_path / "bad")], jobs=1)
    with pytest.raises(RunFailed, match=r"bad: the run diverged \(at step \d+\) and has no final score"):
        grid.finished(tmp_path / "bad", bad)  # a study or evidence rerun stops here instead of scoring it
    with pytest.raises(config.ConfigError, match="the run diverged"):
        rundir.read_metrics(tmp_path / "bad")  # so do the tables, reports and --table-only
