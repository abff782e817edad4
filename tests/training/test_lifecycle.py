"""A run's life on the command line: what it prints and where, how it stops when it diverges or is interrupted,
and files that stay whole whatever happens while they are written."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from invlearn.cli import main
from invlearn.training.rundir import write_atomic
from tests.training.test_runs import AUGNET, TINY

SETS = sum([["--set", item] for item in TINY if not item.startswith("trainer.progress_bar")], [])
COMMAND = [sys.executable, "-m", "invlearn"]


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(COMMAND + args, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_progress_goes_to_stderr_one_line_per_epoch_and_the_result_to_stdout(tmp_path):
    done = run_cli(["train", str(AUGNET), *SETS, "--out", str(tmp_path / "r")])
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)  # stdout is the one JSON line
    assert result["report"] == str(tmp_path / "r" / "report.md") and result["epochs"] == 3
    assert any(item.startswith("0.frequency_shift") and "Hz" in item for item in result["learned"])
    lines = done.stderr.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"], done.stderr  # not a terminal: per epoch
    assert "\r" not in done.stderr and all("test accuracy" in line and "(weight" in line for line in lines)
    for noise in ("GPU available", "Tip", "LOCAL_RANK", "Warning"):
        assert noise not in done.stderr


def test_a_diverging_run_stops_with_its_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    from invlearn.objectives import RewardPenalty

    calls = []

    def nan_from_the_ninth_step(*args):
        calls.append(1)
        loss = task_loss(*args)
        return loss * float("nan") if len(calls) >= 9 else loss

    task_loss = RewardPenalty.weights_loss
    monkeypatch.setattr(RewardPenalty, "weights_loss", nan_from_the_ninth_step)
    out = tmp_path / "r"  # 6 steps per epoch, a checkpoint every 4 steps and after each epoch
    assert main(["train", str(AUGNET), *SETS, "--out", str(out)]) == 1
    *progress, err = capsys.readouterr().err.strip().splitlines()
    checkpoint = out / "checkpoints" / "last.ckpt"
    assert [line.split()[1] for line in progress] == ["1/3"]  # the epoch that finished, then one line
    assert err.startswith("invlearn: failed: training diverged at step 9 (epoch 2)")
    assert f"the last good checkpoint is {checkpoint}" in err
    assert torch.load(checkpoint, weights_only=True)["global_step"] == 8  # the last step with a finite loss
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=pytest.fail)  # strict JSON
    assert metrics["diverged"]["step"] == 9 and len(metrics["epochs"]) == 1


def test_a_run_that_crashes_before_its_first_checkpoint_leaves_no_folder(tmp_path, monkeypatch):
    from invlearn.training import config, run
    from invlearn.training.task import InvarianceTask

    def crash(*args):
        raise RuntimeError("a bug in a user's trunk")

    monkeypatch.setattr(InvarianceTask, "training_step", crash)
    settings = config.load(AUGNET, TINY)
    with pytest.raises(RuntimeError, match="a bug"):
        run.train(settings, tmp_path / "r")
    assert not (tmp_path / "r").exists()  # rerunning into it starts afresh, with nothing half-made in between


def test_a_diverging_hyper_step_names_the_objectives_learning_rate(tmp_path, capsys):
    from tests.training.test_runs import MARGLIK

    settings = sum([["--set", item] for item in [*MARGLIK, "marglik.lr=1.0e+8"]], [])
    assert main(["train", str(AUGNET), *SETS, *settings, "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "marglik.lr = 1e+08" in err and "optim.lr" not in err and "prior_precision" in err


@pytest.mark.parametrize("config_name", ["sinusoids-none.yaml", "sinusoids-augnet.yaml"])
def test_a_run_diverging_from_its_first_steps(tmp_path, capsys, config_name):
    out = tmp_path / "r"
    assert main(["train", str(AUGNET.parent / config_name), *SETS, "--set", "optim.lr=1e30", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "training diverged" in err[0] and "no checkpoint was written yet" in err[0]
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=pytest.fail)
    assert metrics["final"]["test_accuracy"] is None and metrics["epochs"] == []


def test_ctrl_c_says_how_to_resume(tmp_path):
    out = tmp_path / "r"
    args = ["train", str(AUGNET), *SETS, "--set", "trainer.epochs=200", "--set", "trainer.checkpoint_every_n_steps=1"]
    # Ctrl-C as a terminal delivers it: with SIGINT's default disposition, whatever this process inherited (once
    # Lightning has handled an interrupt in-process it ignores SIGINT, and a child would inherit that)
    process = subprocess.Popen(
        COMMAND + args + ["--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (no threads here)
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "last.ckpt").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert f"resume with  invlearn train --resume {out}" in err and "Traceback" not in err
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["invlearn"]  # whole, resumable


def test_an_interrupted_write_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "last.ckpt"
    path.write_bytes(b"previous")

    def half_written(temporary: Path) -> None:
        temporary.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, half_written)
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["last.ckpt"]


def test_a_comparison_report_in_a_run_folder_leaves_the_run_plots_alone(tmp_path):
    pytest.importorskip("matplotlib")
    for name in ("a", "b"):
        assert main(["train", str(AUGNET), *SETS, "--set", "trainer.epochs=1", "--out", str(tmp_path / name)]) == 0
    own = {p.name: p.read_bytes() for p in (tmp_path / "a").glob("*.png")}
    assert set(own) == {"report-ranges.png", "report-weights.png", "report-score.png"}
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "a" / "compare.md")]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "a").glob("report-*.png")} == own
    assert (tmp_path / "a" / "compare-ranges.png").is_file()
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "a" / "compare.md")]) == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_one_line_is_rewritten_in_place(tmp_path, monkeypatch):
    from invlearn.training import progress

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "REFRESH_SECONDS", 0.0)
    assert main(["train", str(AUGNET), *SETS, "--out", str(tmp_path / "r")]) == 0
    text = terminal.getvalue()
    assert "\repoch 1/3  step 1/6  loss " in text and "(weight " in text
    assert [line.split()[1] for line in text.replace("\r", "\n").splitlines() if "test accuracy" in line] == [
        "1/3",
        "2/3",
        "3/3",
    ]


def test_atomic_writes_keep_the_usual_permissions(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    write_atomic(tmp_path / "atomic", lambda temporary: temporary.write_text("x"))
    assert (tmp_path / "atomic").stat().st_mode == plain.stat().st_mode


def test_a_non_finite_weight_is_never_checkpointed(tmp_path, capsys, monkeypatch):
    from invlearn.training.task import InvarianceTask

    step = InvarianceTask.optimizer_step
    calls = []

    def poisoned_at_the_fourth_step(self, *args, **kwargs):
        step(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 4:  # the step after which the run would save its first checkpoint
            next(self.model.parameters()).data.fill_(float("inf"))

    monkeypatch.setattr(InvarianceTask, "optimizer_step", poisoned_at_the_fourth_step)
    out = tmp_path / "r"
    assert main(["train", str(AUGNET), *SETS, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "training diverged at step 4 (epoch 1): the weights are no longer finite" in err
    assert "no checkpoint was written yet" in err and not (out / "checkpoints" / "last.ckpt").exists()
    assert json.loads((out / "metrics.json").read_text())["diverged"]["step"] == 4
