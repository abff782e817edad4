"""The study grid (capacity study): runs, scores, medians beside the published numbers, and its errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from invlearn.cli import main
from invlearn.studies import registry
from invlearn.training.config import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "sinusoids-capacity.yaml"


def tiny_study(tmp_path, **changes):
    spec = yaml.safe_load(SHIPPED.read_text())
    spec.pop("methods")  # the shipped learners beside AugNet: a test adds its own
    spec.update(base=str(SHIPPED.parent / spec["base"]), sizes=[[2, 1]], seeds=[0], eval_copies=[1, 3])
    spec["set"] = ["trainer.epochs=2", "data.n_test=50"]
    spec.update(changes)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_tiny_study_runs_scores_and_tabulates(tmp_path):
    out = tmp_path / "out"
    assert main(["study", str(tiny_study(tmp_path)), "--out", str(out)]) == 0
    result = json.loads((out / "study.json").read_text())
    methods = [row["method"] for row in result["runs"]]
    assert methods == ["none", "oracle", "augnet C=1", "augnet C=3"]
    for row in result["runs"]:
        assert math.isnan(row["invariance"]) or row["invariance"] <= 1.0  # NaN: a collapsed 2-epoch model
        assert 0.0 <= row["accuracy"] <= 1.0
    for method in ("none", "oracle", "augnet"):
        assert (out / "2x1" / method / "seed0" / "metrics.json").is_file()
    table = (out / "study.md").read_text()
    assert "| none | " in table and "(0.87)" in table and "(0.97)" in table  # published 2x1 numbers beside ours
    again = registry.run_study(
        registry.load_study(tiny_study(tmp_path)), out
    )  # finished runs are reused, not retrained
    assert json.dumps(again["runs"]) == json.dumps(result["runs"])  # NaN-safe equality


def test_a_table_only_study_scores_the_finished_runs_and_trains_nothing(tmp_path, capsys):
    path, out = tiny_study(tmp_path), tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--table-only"]) == 2
    assert "no finished run of this study to tabulate" in capsys.readouterr().err
    assert not out.exists()
    registry.run_study(registry.load_study(path), out)
    for method in ("oracle", "augnet"):
        (out / "2x1" / method / "seed0" / "metrics.json").unlink()  # as if killed before the end
    assert main(["study", str(path), "--out", str(out), "--table-only"]) == 0
    assert [row["method"] for row in json.loads((out / "study.json").read_text())["runs"]] == ["none"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"colour": 1}, "colour: unknown key"),
        ({"sizes": [[2]]}, "sizes: must be a non-empty list"),
        ({"seeds": []}, "seeds: must be a non-empty list"),
        ({"eval_copies": [0]}, "eval_copies: every number of copies must be >= 1"),
        ({"sizes": [[2, 1], [2, 1]]}, r"sizes: \[2, 1\] is listed twice"),
        ({"seeds": [1, 1]}, "seeds: 1 is listed twice"),
        ({"eval_copies": [4, 4]}, "eval_copies: 4 is listed twice"),
        ({"oracle": {"name": "rotate"}}, "oracle: .*image augmentation"),
        ({"base": str(SHIPPED.parent / "sinusoids-none.yaml")}, "base: must be an AugNet config"),
    ],
)
def test_study_errors_name_the_key(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        registry.load_study(tiny_study(tmp_path, **changes))


HELDOUT = [
    "model.method=independent", "model.objective=heldout", "model.layers=null", "optim.weight_decay=0",
    "model.candidates=[{name: frequency_shift, magnitude: 0.05, scale: 2.0}]", "heldout.burn_in_epochs=0",
]  # fmt: skip


def test_a_study_trains_and_scores_more_learners_beside_augnet(tmp_path):
    out = tmp_path / "out"
    path = tiny_study(tmp_path, methods={"heldout": {"set": HELDOUT}})
    assert main(["study", str(path), "--out", str(out)]) == 0
    result = json.loads((out / "study.json").read_text())
    methods = [row["method"] for row in result["runs"]]
    assert methods == ["none", "oracle", "augnet C=1", "augnet C=3", "heldout C=1", "heldout C=3"]
    run = out / "2x1" / "heldout" / "seed0"
    trained = yaml.safe_load((run / "config.yaml").read_text())
    assert trained["model"]["objective"] == "heldout" and trained["model"]["trunk"] == {
        "name": "mlp",
        "width": 2,
        "depth": 1,
    }
    assert "| heldout C=3 |" in (out / "study.md").read_text()


@pytest.mark.parametrize(
    ("methods", "message"),
    [
        ({"augnet": {"set": HELDOUT}}, "methods.augnet: must be a plain folder name other than"),
        ({"heldout": HELDOUT}, "methods.heldout: must be a mapping with one key, 'set'"),
        ({"heldout": {"set": "model.method=none"}}, "methods.heldout.set: must be a list of KEY=VALUE strings"),
        ({"heldout": {"set": ["model.nope=1"]}}, "model.nope: unknown key"),
    ],
)
def test_bad_methods_are_refused_before_anything_trains(tmp_path, methods, message):
    with pytest.raises(ConfigError, match=message):
        registry.load_study(tiny_study(tmp_path, methods=methods))
    assert not (tmp_path / "out").exists()
