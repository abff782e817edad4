"""The ops benchmark suite: schema, coverage and the command line's error handling (not its timings)."""

from __future__ import annotations

import json

import pytest

from invlearn import augmentations
from invlearn.cli import main

pytest.importorskip("kornia")
pytest.importorskip("torchdiffeq")

ROW_KEYS = {"name", "ms_median", "baseline", "baseline_ms_median", "ratio"}


def test_full_suite_schema_and_rows():
    from invlearn.bench import ops as suite

    report = suite.run(repeats=1)
    assert set(report) == {"suite", "machine", "torch", "results"} and report["suite"] == "ops"
    rows = {row["name"]: row for row in report["results"]}
    assert set(rows) == set(augmentations.available()) | {"lie_matrix_exp", "augerino_augmentation"}
    for row in rows.values():
        assert set(row) == ROW_KEYS and row["ms_median"] > 0
        if row["baseline"] is not None:
            assert row["ratio"] == pytest.approx(row["ms_median"] / row["baseline_ms_median"], rel=1e-3)
    for name in ("rotate", "translate_x", "translate_y", "scale", "shear_x", "shear_y", "brightness", "contrast"):
        assert rows[name]["baseline"].startswith("kornia.")
    assert "torchdiffeq" in rows["lie_matrix_exp"]["baseline"]


def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "ops", "--repeats", "1", "--only", "rotate", "sign_flip", "--output", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert [r["name"] for r in printed["results"]] == ["rotate", "sign_flip"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "ops", "--only", "rotation"], "unknown augmentation names ['rotation']"),
        (["bench", "ops", "--repeats", "0"], "must be >= 1"),
        (["bench", "nothing"], "invalid choice"),
        (["bench", "ops", "--colour"], "unrecognized arguments"),
    ],
)
def test_cli_rejects_bad_arguments_with_exit_2(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err
