"""The learners benchmark suite: schema and rows on a tiny batch (its timings are measured by `make bench`)."""

from __future__ import annotations

import pytest

from invlearn.bench import learners
from invlearn.cli import main


def test_rows_and_schema():
    report = learners.run(repeats=1, batch=(4, 3, 16, 16), eval_copies=(1, 2))
    assert report["suite"] == "learners"
    names = [row["name"] for row in report["results"]]
    assert names == [
        "augnet_train_step", "augnet_train_step_vs_input_grad", "augerino_train_step",
        "augerino_train_step_vs_input_grad", "marglik_update", "marglik_update_vs_augnet_step",
        "augnet_eval_c1", "augnet_eval_c2", "augerino_eval_c1", "augerino_eval_c2",
    ]  # fmt: skip
    for row in report["results"]:
        assert row["baseline"].startswith(("trunk_train_step", "trunk_eval_on_", "augnet_train_step"))
        assert row["ratio"] > 0


def test_sprite_layer_matches_the_published_setting():
    layer = learners.sprite_augnet_layer()
    assert [c.name for c in layer.candidates] == list(learners.SPRITE_CANDIDATES)
    assert all(float(c.magnitude.detach()) == pytest.approx(0.125) for c in layer.candidates)
    assert layer.candidates[2].scale == pytest.approx(3.14159265)


def test_only_is_for_the_ops_suite(capsys):
    assert main(["bench", "learners", "--only", "rotate"]) == 2
    assert "--only applies to the ops suite" in capsys.readouterr().err
