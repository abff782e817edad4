"""Bad command-line input: one line on stderr, exit code 2, no traceback, nothing written, nothing executed."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
import yaml

from invlearn.cli import main
from tests.training.test_runs import AUGNET, TINY

SETS = sum([["--set", item] for item in TINY], [])


class Payload:
    """Unpickling this runs a shell command that leaves a marker file: what a crafted file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def refuse(capsys, args: list[str], root: Path) -> str:
    """Run the CLI, expect exit 2 with one error line, no traceback and no file created under ``root``; returns
    that line (each test asserts what it names)."""
    before = tree(root)
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invlearn: error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert tree(root) == before, sorted(tree(root) - before)
    return lines[0]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "content, message",
    [
        ("- a\n- list\n", "a config must be a mapping of keys to values, got a list"),
        ("42\n", "a config must be a mapping of keys to values, got a int"),
        (b"\xff\xfe\x00binary\x80", "not a UTF-8 text file"),
        ("seed: 0\nexperiment: x\n\x00\n", "not valid YAML"),
    ],
)
def test_config_files_that_are_not_configs(workdir, capsys, content, message):
    path = workdir / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert message in refuse(capsys, ["train", str(path), "--out", str(workdir / "run")], workdir)


@pytest.mark.parametrize(
    "override, message",
    [
        ("seed=1180591620717411303424", "seed: must be an integer in [0, 4294967295]"),
        ("seed=-1", "seed: must be an integer in [0, 4294967295]"),
        ("model.trunk.depth=2", "model.trunk.depth: not an argument of trunk 'signal_cnn'"),
        ("model.trunk.width=wide", "model.trunk.width: must be an integer, got 'wide'"),
        ("model.trunk.width=0", "model: the model cannot be built for this data"),
        (
            "model.layers=[[{name: frequency_shift, scale: 2.0}, {name: frequency_shift, scale: 1.0}]]",
            "model.layers.0: repeats 'frequency_shift'",
        ),
        ("model.method=augerino", "model.method: augerino augments images; sinusoids holds signals"),
        ("experiment=../../escaped", "experiment: must be a plain folder name"),
        ("experiment=.hidden", "experiment: must be a plain folder name"),
        ("data.n_train=100000", "data.n_train: 100000 is more than the 400 examples"),
        ("data.root=/data/sinusoids", "data.root: sinusoids is generated, it reads no files"),
        ("data.n_test=5000", "data.n_test: 5000 is more than the 200 examples"),
    ],
)
def test_config_values_that_cannot_run(workdir, capsys, override, message):
    args = ["train", str(AUGNET), *SETS, "--set", override]
    assert message in refuse(capsys, args, workdir)  # without --out: the default runs/<experiment> is not created


def test_nested_aliases_are_refused_before_anything_expands_them(workdir, capsys):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")  # 9 ** 9 strings in a few hundred bytes
    (workdir / "bomb.yaml").write_text("\n".join([*lines, "data: {name: *i}"]))
    line = refuse(capsys, ["train", str(workdir / "bomb.yaml"), "--out", str(workdir / "run")], workdir)
    assert "bomb.yaml: expands to more than 100,000 values" in line and len(line) < 200
    inline = "[&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"  # the same in one --set value
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        inline += f", &{name} [{', '.join([f'*{previous}'] * 9)}]"
    line = refuse(capsys, ["train", str(AUGNET), *SETS, "--set", f"data.name={inline}]"], workdir)
    assert "--set data.name: expands to more than 100,000 values" in line


def test_a_message_quotes_a_large_value_in_a_bounded_line(workdir, capsys):
    huge = "[" + ", ".join(str(i) for i in range(20_000)) + "]"
    line = refuse(capsys, ["train", str(AUGNET), *SETS, "--set", f"model.trunk.width={huge}"], workdir)
    assert line.startswith("invlearn: error: model.trunk.width: must be an integer, got [0, 1, 2, 3, 4, 5, ...]")
    assert len(line) < 200


def test_a_gpu_where_there_is_none(workdir, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    args = ["train", str(AUGNET), *SETS, "--set", "trainer.accelerator=gpu", "--out", str(workdir / "run")]
    assert "trainer.accelerator: gpu, but no GPU is available here" in refuse(capsys, args, workdir)


def test_output_folders_that_cannot_be_written(workdir, capsys):
    (workdir / "file").write_text("not a folder")
    args = ["train", str(AUGNET), *SETS, "--out", str(workdir / "file" / "run")]
    assert "is a file, not a folder" in refuse(capsys, args, workdir)
    assert "--out /proc/invlearn-run" in refuse(
        capsys, ["train", str(AUGNET), *SETS, "--out", "/proc/invlearn-run"], workdir
    )


def test_exponent_floats_are_numbers(workdir):
    out = workdir / "run"
    args = ["train", str(AUGNET), *SETS, "--set", "trainer.epochs=1", "--set", "optim.lr=1e-3", "--out", str(out)]
    assert main(args) == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["optim"]["lr"] == 0.001


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", str(AUGNET), *SETS, "--set", "trainer.epochs=1", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("kind", ["empty", "truncated", "random", "crafted", "foreign"])
def test_resume_refuses_a_bad_checkpoint(finished, workdir, capsys, kind):
    run = workdir / "copy"
    run.mkdir()
    (run / "config.yaml").write_text((finished / "config.yaml").read_text())
    checkpoint = run / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir()
    marker = workdir / "executed"
    good = (finished / "checkpoints" / "last.ckpt").read_bytes()
    content = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "random": os.urandom(4096),
        "crafted": pickle.dumps({"state_dict": Payload(marker), "invlearn": {}}),
        "foreign": b"",
    }[kind]
    if kind == "foreign":
        torch.save({"weights": torch.zeros(2)}, checkpoint)
    else:
        checkpoint.write_bytes(content)
    message = "not an invlearn checkpoint" if kind == "foreign" else "not a readable invlearn checkpoint"
    said = refuse(capsys, ["train", "--resume", str(run)], workdir)
    assert message in said and "weights_only" not in said  # no advice to switch the safety off
    assert message in refuse(capsys, ["eval", str(run)], workdir)
    assert not marker.exists()


def _weight(checkpoint):
    return next(name for name, value in checkpoint["state_dict"].items() if value.ndim == 2)


SPOILED = {
    "mis-shaped weights": (lambda c: c["state_dict"].__setitem__(_weight(c), torch.zeros(3, 3)), "is (3, 3)"),
    "missing weights": (lambda c: c["state_dict"].pop(_weight(c)), "state_dict: no weights for"),
    "foreign weights": (lambda c: c["state_dict"].__setitem__("model.extra", torch.zeros(1)), "is not a weight of"),
    "no generators": (lambda c: c["invlearn"].pop("generators"), "invlearn.generators: missing"),
    "generators of text": (lambda c: c["invlearn"].__setitem__("generators", "abc"), "invlearn.generators: missing"),
    "history a number": (lambda c: c["invlearn"].__setitem__("history", 5), "invlearn.history: missing or of the"),
    "epoch a string": (lambda c: c.__setitem__("epoch", "x"), "epoch: missing or of the wrong type"),
    "no loops": (lambda c: c.pop("loops"), "loops: missing or of the wrong type"),
    "another optimizer": (
        lambda c: c.__setitem__("optimizer_states", [{"state": {}, "param_groups": []}]),
        "optimizer_states: not the state of this run's optimizer",
    ),
}


@pytest.mark.parametrize("spoil", sorted(SPOILED))
def test_resume_refuses_a_safe_checkpoint_that_holds_a_wrong_state(finished, workdir, capsys, spoil):
    run = workdir / "copy"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text((finished / "config.yaml").read_text())  # interrupted: no metrics.json
    checkpoint = torch.load(finished / "checkpoints" / "last.ckpt", weights_only=True)
    change, message = SPOILED[spoil]
    change(checkpoint)
    torch.save(checkpoint, run / "checkpoints" / "last.ckpt")
    said = refuse(capsys, ["train", "--resume", str(run)], workdir)
    assert "cannot resume this run from it" in said and message in said
    if spoil in ("mis-shaped weights", "missing weights"):  # eval names the weight too
        assert "does not match the run's model (" in refuse(capsys, ["eval", str(run)], workdir)


def test_report_leaves_files_it_did_not_write(finished, workdir, capsys):
    notes = workdir / "notes.md"
    notes.write_text("my own notes\n")
    assert "exists and is not an invlearn report" in refuse(
        capsys, ["report", str(finished), "--out", str(notes)], workdir
    )
    assert notes.read_text() == "my own notes\n"
    (workdir / "file").write_text("x")
    assert "is a file" in refuse(capsys, ["report", str(finished), "--out", str(workdir / "file" / "r.md")], workdir)


def test_report_into_a_folder_that_takes_no_files(finished, workdir, capsys):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc, a folder that takes no new files")
    assert "--out /proc/invlearn-report.md: cannot write" in refuse(
        capsys, ["report", str(finished), "--out", "/proc/invlearn-report.md"], workdir
    )


@pytest.mark.parametrize("command", [["eval", "run", "--copies", "abc"], ["study", "s.yaml", "--jobs", "1.5"]])
def test_counts_that_are_not_whole_numbers(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 2 and "must be a whole number, got" in capsys.readouterr().err


def test_bench_output_in_a_missing_folder(workdir, capsys):
    assert "no such folder" in refuse(
        capsys, ["bench", "learners", "--output", str(workdir / "no" / "b.json")], workdir
    )


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("invlearn 0.")


HELDOUT = [
    "model.method=independent", "model.objective=heldout", "model.layers=null",
    "model.candidates=[{name: frequency_shift, magnitude: 0.1, scale: 2.0}, {name: gaussian_noise, magnitude: 0.1}]",
]  # fmt: skip


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["heldout.fraction=0"], "heldout.fraction: must be in (0, 1), got 0"),
        (["heldout.fraction=1.5"], "heldout.fraction: must be in (0, 1), got 1.5"),
        (["heldout.fraction=.nan"], "heldout.fraction: must be finite"),
        (["heldout.lr=.inf"], "heldout.lr: must be finite"),
        (["heldout.copies=0"], "heldout.copies: must be in [1, 1024]"),
        (["heldout.copies=100000"], "heldout.copies: must be in [1, 1024]"),
        (["marglik.copies=100000"], "marglik.copies: must be in [1, 1024]"),
        (["heldout.folds=3"], "heldout.folds: unknown key"),
        (["heldout.batch_size=64"], "heldout.batch_size: 64 is more than the 19 held-out examples (0.2 of 96)"),
        (["heldout.fraction=0.03", "heldout.batch_size=2"], "3 held-out examples (0.03 of 96) are fewer than the 4"),
        (["heldout.group=recording"], "heldout.group: sinusoids has no per-example fact 'recording' (it has: "),
        (["heldout.occam=false"], "heldout.occam: must be a string, got False"),
        (["heldout.occam=wide"], "heldout.occam: must be one of ['none', 'spread', 'tolerance'], got 'wide'"),
        (["heldout.spread=mad"], "heldout.spread: must be one of ['mean', 'median'], got 'mad'"),
        (["heldout.part=all"], "heldout.part: must be one of ['batches', 'fixed'], got 'all'"),
        (["heldout.response=1"], "heldout.response: must be true or false, got 1"),
        (["heldout.implicit=-1"], "heldout.implicit: must be an integer >= 0, got -1"),
        (["heldout.implicit=2.5"], "heldout.implicit: must be an integer"),
        (["heldout.implicit=5", "heldout.response=true"], "heldout.implicit: response and implicit are two estimates"),
        (["heldout.class_weight=inverse"], "heldout.class_weight: must be one of ['balanced'], got 'inverse'"),
        (["heldout.temperature=1"], "heldout.temperature: must be true or false, got 1"),
        (["heldout.refit=0.99"], "heldout.refit: 0.99 of "),
        (["heldout.refit=-1"], "heldout.refit"),
    ],
)
def test_held_out_settings_that_cannot_run(workdir, capsys, overrides, message):
    args = ["train", str(AUGNET), *SETS, *sum([["--set", item] for item in HELDOUT + overrides], [])]
    assert message in refuse(capsys, [*args, "--out", str(workdir / "run")], workdir)


def test_class_weights_are_refused_for_a_regression(workdir, capsys):
    angles = AUGNET.parent / "identification" / "angles.yaml"
    sets = ["model.method=independent", "model.objective=heldout", "model.layers=null", "heldout.class_weight=balanced",
            "model.candidates=[{name: rotate, magnitude: 0.1}]"]  # fmt: skip
    args = ["train", str(angles), *sum([["--set", item] for item in sets], []), "--out", str(workdir / "run")]
    assert "heldout.class_weight: weighs classes of a classification" in refuse(capsys, args, workdir)


def test_a_held_out_part_drawn_by_group_holds_whole_groups(tmp_path):
    from invlearn.data.split import Split
    from invlearn.training.run import split_held_out

    subjects = torch.arange(10).repeat_interleave(4)  # 10 subjects of 4 examples
    train = Split(torch.zeros(40, 1, 8), torch.zeros(40, dtype=torch.long), {"recording": subjects})
    kept, held = split_held_out(train, 0.2, seed=3, group="recording")
    assert len(held) == 8 and len(kept) == 32
    assert not set(held.facts["recording"].tolist()) & set(kept.facts["recording"].tolist())
    assert split_held_out(train, 0.2, 3, "recording")[1].facts["recording"].tolist() == held.facts["recording"].tolist()
