"""Runs whose outputs are not classes, end to end on tiny data: a regression that must not become invariant, a
segmentation whose targets move with the input, and molecules as 3-D point sets."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from invlearn import InvariantModel
from invlearn.augmentations import Identity
from invlearn.studies import identification
from invlearn.training import config, evaluation, run
from tests.data.test_qm9 import METHANE, WATER

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = ["data.n_train=48", "data.n_test=24", "trainer.epochs=2", "trainer.batch_size=16", "model.n_copies_eval=2"]
MARGLIK = [
    "model.method=independent", "model.objective=marglik", "model.layers=null", "optim.weight_decay=0.0",
    "optim.decoupled_weight_decay=false", "marglik.burn_in_epochs=1", "marglik.every_n_steps=1", "marglik.copies=2",
]  # fmt: skip


def _train(tmp_path, base: str, *overrides: str) -> dict:
    resolved = config.load(CONFIGS / "identification" / base, [*TINY, *overrides])
    return run.train(resolved, tmp_path)


def test_angle_regression_learns_its_noise_and_is_judged_on_no_rotation(tmp_path):
    pytest.importorskip("mlxtend")
    candidates = "model.candidates=[{name: rotate, magnitude: 0.5, scale: 3.141592653589793}, {name: translate_x}]"
    metrics = _train(tmp_path, "angles.yaml", *MARGLIK, candidates, "model.trunk={name: mlp, width: 16}")
    final = metrics["final"]
    assert final["score"] == "test_mae" and final["test_mae"] > 0 and "test_accuracy" not in final
    truth = final["identification"]["truth"]
    assert truth == {"names": ["rotate"], "half_range": 0.0, "unit": "rad", "at_most": 0.1}
    rotation = final["identification"]["effective_ranges"]["rotate"]
    assert final["identification"]["recovered"] == (rotation <= 0.1)
    objective = metrics["epochs"][-1]["objective"]
    assert set(objective) == {"prior_precision", "noise_std"} and objective["noise_std"] != 1.0  # learned
    assert run.evaluate(tmp_path)["test_mae"] == pytest.approx(final["test_mae"])
    if (tmp_path / "report.md").is_file():  # matplotlib installed
        text = (tmp_path / "report.md").read_text()
        assert "True invariance: none to rotate (a learned range of at most 0.1 rad)" in text and "test mae" in text
    _, data, model, _ = run.load_trained(tmp_path)
    sensitive = evaluation.response_slope(model, data, "rotate", 0.2, seed=0)
    constant = InvariantModel(nn.Sequential(nn.Flatten(), nn.Linear(784, 1)), Identity(), aggregate="mean").eval()
    nn.init.zeros_(constant.trunk[1].weight)
    assert evaluation.response_slope(constant, data, "rotate", 0.2, seed=0) == 0.0  # ignores its input: invariant
    assert math.isfinite(sensitive) and sensitive != 0.0


def test_segmentation_moves_targets_with_inputs_and_scores_mean_iou(tmp_path):
    pytest.importorskip("mlxtend")
    metrics = _train(tmp_path, "segments.yaml", "model.method=augerino", "model.trunk={name: small_unet, width: 4}")
    final = metrics["final"]
    assert final["score"] == "test_mean_iou" and 0 <= final["test_mean_iou"] <= 1 and 0 <= final["pixel_accuracy"] <= 1
    assert run.evaluate(tmp_path)["test_mean_iou"] == pytest.approx(final["test_mean_iou"])
    _, _, model, _ = run.load_trained(tmp_path)
    assert model.equivariant


def test_molecules_train_as_point_sets_under_the_marginal_likelihood(tmp_path):
    rows = [METHANE.replace(",1,", f",{i},", 1) if i % 2 else WATER.replace(",3,", f",{i},", 1) for i in range(1, 13)]
    folder = tmp_path / "qm9"
    folder.mkdir()
    for i, name in enumerate(("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")):
        header = "XYZ_file,Index,SMILES,N_atoms,Elements,XYZ_Ang,HOMO_LUMO_gap_au,Dipole_debye\n"
        (folder / name).write_text(header + "".join(rows[4 * i : 4 * i + 4]), encoding="utf-8")
    candidates = "model.candidates=[{name: rotate_about_x}, {name: rotate_about_z}, {name: reflect}]"
    metrics = _train(
        tmp_path / "run", "qm9.yaml", *MARGLIK, candidates, f"data.root={folder}", "data.n_train=8", "data.n_test=4",
        "marglik.labels=sampled", "model.trunk={name: point_transformer, width: 8, heads: 2, depth: 1}",
    )  # fmt: skip
    final = metrics["final"]
    assert final["score"] == "test_mae" and torch.isfinite(torch.tensor(final["test_mae"]))
    assert set(final["identification"]["effective_ranges"]) == {"rotate_about_x", "rotate_about_z", "reflect"}
    assert metrics["epochs"][-1]["hyper_seconds"] > 0


def test_a_truth_of_no_invariance_is_tabled_as_the_learned_range():
    summary = {
        "recovered": 2, "seeds": 3, "has_truth": True, "by_invariance": 0, "learned_over_true": None,
        "learned_range": 0.04, "truth": {"names": ["rotate"], "half_range": 0.0, "unit": "rad", "at_most": 0.1},
        "spurious": None, "score": "test_mae", "test_score": 0.25, "slope": 0.61, "seconds": 2.0,
    }  # fmt: skip
    result = {"study": "s", "seeds": [0, 1, 2], "summary": {"angles/marglik": summary}}
    row = "| angles | marglik | 2/3 |  |  | 0.040 rad (truth 0) |  | 0.250 MAE |  |  | 0.61 | 2.0 |"
    assert row in identification.markdown(result)


def test_a_task_runs_only_the_methods_it_names(tmp_path):
    spec = identification.load(CONFIGS / "identification-beyond.yaml", _beyond())
    methods = {(task, method) for task, method, _ in spec["runs"]}
    assert ("segments-unet", "augnet") not in methods and ("segments-unet", "marglik") in methods
    assert ("qm9-transformer", "augerino") not in methods and ("angles-mlp", "reward") not in methods
    broken = {**_beyond(), "tasks": {"t": {"base": "identification/angles.yaml", "methods": ["nope"]}}}
    with pytest.raises(config.ConfigError, match="tasks.t.methods: must be a non-empty list of the study's methods"):
        identification.load(CONFIGS / "identification-beyond.yaml", broken)


@pytest.mark.parametrize("slope", [{"name": "rotate"}, {"name": "rotate", "value": -1}, {"name": "spin", "value": 1}])
def test_a_slope_must_name_an_augmentation_of_the_data_and_a_positive_value(slope):
    broken = {**_beyond(), "tasks": {"t": {"base": "identification/angles.yaml", "slope": slope}}}
    with pytest.raises(config.ConfigError, match="tasks.t.slope: must be {name: an image augmentation"):
        identification.load(CONFIGS / "identification-beyond.yaml", broken)


def _beyond() -> dict:
    return config.read_yaml_file(CONFIGS / "identification-beyond.yaml")
