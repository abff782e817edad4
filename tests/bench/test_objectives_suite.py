"""The objectives benchmark suite: its rows and schema on a tiny study (its timings are measured by `make bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from invlearn.bench import objectives
from invlearn.cli import main
from invlearn.training.config import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _study(tmp_path: Path, methods: dict) -> Path:
    spec = {
        "study": "tiny",
        "kind": "identification",
        "seeds": [0],
        "tasks": {
            "sprites": {"base": str(CONFIGS / "sprites-augnet.yaml"), "set": ["data.n_train=96", "data.n_test=32"]}
        },
        "methods": methods,
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


METHODS = {
    "none": {"set": ["model.method=none", "model.layers=null", "loss.lam=0.0"]},
    "augnet": {},
    "heldout": {"set": ["model.method=independent", "model.objective=heldout", "model.layers=null",
                        "model.candidates=[{name: rotate, magnitude: 0.05}]", "heldout.batch_size=16",
                        "heldout.every_n_steps=1"]},
}  # fmt: skip


@pytest.mark.parametrize("repeats", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_rows_and_schema(tmp_path, repeats):
    report = objectives.run(_study(tmp_path, METHODS), epochs=1, repeats=repeats, resnet_images=20)
    assert report["suite"] == "objectives" and report["repeats"] == repeats
    assert [row["name"] for row in report["results"]] == [
        "augnet_sprite_cnn_run", "heldout_sprite_cnn_run", "augnet_lenet_run", "heldout_lenet_run",
        "augnet_resnet18_run", "heldout_resnet18_run",
    ]  # fmt: skip
    for row in report["results"]:
        assert row["baseline"] == "none_" + row["name"].split("_", 1)[1] and row["ratio"] > 0
        low, high = row["ratio_range"]
        assert 0 < low <= high  # the repeats' own ratios, around the ratio of the medians
    assert report["results"][1]["hyper_seconds"] > 0 and report["results"][0]["hyper_seconds"] == 0
    assert report["results"][5]["hyper_seconds"] > 0  # the ResNet's held-out run took hyper-steps


def test_a_shorter_run_keeps_each_burn_in_in_proportion():
    config = {"trainer": {"epochs": 150}, **{section: {} for section in ("marglik", "unrolled", "loss")}}
    config["heldout"] = {"burn_in_epochs": 15}
    objectives._shorten(config, 40)
    assert config["trainer"]["epochs"] == 40 and config["heldout"]["burn_in_epochs"] == 4
    objectives._shorten(config, 1)
    assert config["heldout"]["burn_in_epochs"] == 0


def test_a_study_without_a_plain_method_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="'none' method"):
        objectives.study_runs(_study(tmp_path, {"augnet": {}}))


def test_study_and_epochs_are_for_the_objectives_suite(capsys):
    assert main(["bench", "learners", "--epochs", "2"]) == 2
    assert "--study and --epochs apply to the objectives suite" in capsys.readouterr().err


def test_every_run_scores_the_test_set_once_after_its_last_epoch(tmp_path):
    variants = objectives._trunks(objectives.study_runs(_study(tmp_path, METHODS), epochs=3), tmp_path, 4, 2)
    trained = [config["trainer"] for by_method in variants.values() for config in by_method.values()]
    assert {(t["epochs"], t["eval_every_n_epochs"]) for t in trained} == {(3, 3), (2, 2)}  # the ResNet's: 2
