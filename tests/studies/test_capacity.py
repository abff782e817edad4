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
