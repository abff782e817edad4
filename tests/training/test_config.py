"""Configuration validation: every error names its key; shipped configs are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from invlearn.training import config

CONFIGS = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_are_valid(path):
    resolved = config.load(path)
    assert resolved["experiment"] == path.stem


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["trainer.epochz=3"], "trainer.epochz: unknown key"),
        (["colour=red"], "colour: unknown key"),
        (["model.temperature=-1"], "model.temperature: must be > 0, got -1"),
        (["optim.lr=fast"], "optim.lr: must be a number, got 'fast'"),
        (["trainer.epochs=2.5"], "trainer.epochs: must be an integer"),
        (["trainer.progress_bar=1"], "trainer.progress_bar: must be true or false"),
        (["loss.lam=.nan"], "loss.lam: must be finite"),
        (["data.name=cifar"], "data.name: must be one of"),
        (["model.layers=[[{name: rotatee}]]"], "model.layers.0.0.name: unknown augmentation 'rotatee'"),
        (["model.layers=[[{name: rotate}]]"], "'rotate' is an image augmentation; sinusoids holds signals"),
        (["model.layers=[[{name: time_mask, magnitude: 2}]]"], "model.layers.0.0: magnitude must be in"),
        (["model.layers=[[{name: time_mask, colour: 2}]]"], "model.layers.0.0: .*colour"),
        (["model.layers=[]"], "model.layers: method 'augnet' needs a non-empty list"),
        (["model.trunk={name: resnet}"], "model.trunk: must be a mapping with 'name'"),
        (["model.generators=[twist]"], "model.generators: must be a non-empty list"),
        (["trainer"], "--set 'trainer': expected key=value"),
    ],
)
def test_errors_name_the_key(overrides, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load(CONFIGS[0].parent / "sinusoids-augnet.yaml", overrides)


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(config.ConfigError, match="cannot read"):
        config.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(config.ConfigError, match="not valid YAML"):
        config.load(bad)
    bad.write_text("- a list\n")
    with pytest.raises(config.ConfigError, match="config: must be a mapping"):
        config.load(bad)
