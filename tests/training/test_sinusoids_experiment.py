"""The sinusoids experiment's right answer, end to end on the shipped config's data, trunk and optimiser: a
layer whose only candidate is the frequency shift learns the per-example offset of the protocol (+-0.5 Hz,
magnitude 0.25 of the 2 Hz scale). The three-candidate layer of the shipped config is not asserted: its
weight goes to whichever candidate moves first (docs/guide/configs.md, "Sinusoids").

The full protocol (50 epochs) is marked ``slow`` (``pytest -m slow``); the default run keeps a 10-epoch variant."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from invlearn.training import config, run

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "sinusoids-augnet.yaml"


def frequency_shift_alone(tmp_path, epochs: int | None) -> dict:
    raw = yaml.safe_load(SHIPPED.read_text())
    raw["model"]["layers"] = [[{"name": "frequency_shift", "magnitude": 0.0, "scale": 2.0}]]
    raw["trainer"]["progress_bar"] = False
    if epochs is not None:
        raw["trainer"]["epochs"] = epochs
    return run.train(config.validate(raw), tmp_path / "fs")


def assert_learns_the_offset(metrics: dict) -> None:
    learned = metrics["final"]["learned_invariances"]["0.frequency_shift"]
    assert 0.15 <= learned["magnitude"] <= 0.35, learned
    assert metrics["final"]["test_accuracy"] >= 0.95


def test_frequency_shift_learns_the_offset_of_the_data(tmp_path):
    assert_learns_the_offset(frequency_shift_alone(tmp_path, epochs=10))


@pytest.mark.slow
def test_frequency_shift_learns_the_offset_over_the_whole_protocol(tmp_path):
    metrics = frequency_shift_alone(tmp_path, epochs=None)
    assert metrics["final"]["epochs"] == 50
    assert_learns_the_offset(metrics)
