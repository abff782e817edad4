"""Crash consistency: a run (or a study) killed with SIGKILL at any boundary, then resumed, ends with the same
metrics as the uninterrupted one (same seed, one thread each).

A boundary is a file written (every checkpoint, ``metrics.json``, the report's files, a study's files) or an
evaluation's start or end. The default run kills one run per registered objective (its contract config,
``tests/contracts.py``) at each boundary of its second epoch (where the epoch's last step and its evaluation meet)
and the study at a sample of its boundaries; ``-m slow`` kills at every boundary."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from invlearn.objectives import OBJECTIVES
from tests.contracts import contract_config
from tests.training.crashing import run_in_child

QUICK = Path(__file__).resolve().parents[2] / "configs" / "identification-quick.yaml"


def _without_times(value):
    """``value`` with every timing removed (keys naming seconds, and the wall time)."""
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if "seconds" not in k and k != "wall_time_s"}
    if isinstance(value, list):
        return [_without_times(item) for item in value]
    return value


def _killed_then_resumed(kind: str, argument, out: Path, kill_after: int, read) -> object:
    code, _ = run_in_child(kind, argument, out, kill_after)
    assert code == -signal.SIGKILL, f"the child was not killed after boundary {kill_after} (exit {code})"
    code, _ = run_in_child(kind, argument, out)
    assert code == 0, f"the resumed child failed (exit {code})"
    return read(out)


def _run_metrics(out: Path) -> dict:
    return _without_times(json.loads((out / "metrics.json").read_text()))


def _check_every_boundary(tmp_path: Path, kind: str, argument, read, chosen) -> None:
    code, boundaries = run_in_child(kind, argument, tmp_path / "reference")
    assert code == 0 and boundaries
    reference = read(tmp_path / "reference")
    for index in chosen(boundaries):
        resumed = _killed_then_resumed(kind, argument, tmp_path / f"killed-{index}", index, read)
        assert resumed == reference, f"killed after boundary {index} ({boundaries[index]})"


def _second_epoch(boundaries: list[str]) -> list[int]:
    """The boundaries from the first checkpoint after epoch 0's evaluation to the one after epoch 1's."""
    start = boundaries.index("after on_validation_epoch_end 0") + 2
    end = boundaries.index("after on_validation_epoch_end 1") + 1
    return list(range(start, end + 1))


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_a_run_killed_around_an_epochs_end_resumes_to_the_same_metrics(tmp_path, objective):
    settings = contract_config(objective=objective)
    _check_every_boundary(tmp_path, "train", settings, _run_metrics, _second_epoch)


@pytest.mark.slow
@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_a_run_killed_at_any_boundary_resumes_to_the_same_metrics(tmp_path, objective):
    settings = contract_config(objective=objective)
    _check_every_boundary(tmp_path, "train", settings, _run_metrics, lambda b: range(len(b)))


def _tiny_study(tmp_path: Path) -> Path:
    """The quick identification study cut to one task, two methods and one seed."""
    import yaml

    spec = yaml.safe_load(QUICK.read_text())
    spec["seeds"] = [0]
    spec["tasks"] = {"sinusoids": spec["tasks"]["sinusoids"]}
    spec["tasks"]["sinusoids"]["base"] = str(QUICK.parent / spec["tasks"]["sinusoids"]["base"])
    spec["methods"] = {name: spec["methods"][name] for name in ("none", "heldout")}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _study_result(out: Path) -> dict:
    result = _without_times(json.loads((out / "study.json").read_text()))
    for row in result["runs"]:
        row.pop("run_dir", None)  # each copy of the study lives in its own folder
    return result


def test_a_study_killed_at_its_boundaries_resumes_to_the_same_result(tmp_path):
    _check_every_boundary(tmp_path, "study", _tiny_study(tmp_path), _study_result, lambda b: range(0, len(b), 5))


@pytest.mark.slow
def test_a_study_killed_at_any_boundary_resumes_to_the_same_result(tmp_path):
    _check_every_boundary(tmp_path, "study", _tiny_study(tmp_path), _study_result, lambda b: range(len(b)))
