"""Configuration validation: every error names its key; shipped configs are valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from invlearn.data.files import DataError
from invlearn.training import config

SHIPPED = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*.yaml"))
STUDIES = [p for p in SHIPPED if "study" in yaml.safe_load(p.read_text())]  # grids for `invlearn study`
CONFIGS = [p for p in SHIPPED if p not in STUDIES]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_are_valid(path):
    resolved = config.load(path, ["data.root=/data/cifar10"] if path.stem.startswith("cifar10") else [])
    assert resolved["experiment"] == path.stem


POLICY = ["model.method=policy", "model.layers=null", "model.candidates=[{name: time_shift}, {name: sign_flip}]"]
DADA = ["model.method=dada", "model.layers=null", "model.candidates=[{name: time_shift}, {name: sign_flip}]"]


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
        (["data.transform=rotate"], "data.transform: only for cifar10, fmnist, mnist, not 'sinusoids'"),
        (["data.name=cifar10", "model.layers=[[{name: rotate}]]"], "data.root: cifar10 needs its files"),
        (["data.transform=spin"], "data.transform: must be one of"),
        (["optim.nesterov=true"], "optim.nesterov: needs optim.algorithm sgd"),
        (["model.objective=occam"], "model.objective: must be one of"),
        (["model.objective=marglik", "model.method=none", "model.layers=null"], "method 'none' has none"),
        (["model.objective=marglik"], "optim.weight_decay: the marglik objective's prior"),
        (
            ["model.objective=marglik", "optim.weight_decay=0", "trainer.devices=2"],
            "trainer.devices: the marglik objective runs on one device",
        ),
        (["marglik.copies=0"], r"marglik.copies: must be in \[1, 1024\]"),
        (["marglik.labels=all"], "marglik.labels: must be one of"),
        (["marglik.hessian=full"], "marglik.hessian: unknown key"),
        (["model.method=independent", "model.layers=null"], "model.candidates: must be a non-empty list"),
        (["model.method=independent"], "model.layers: only used by methods"),
        (["model.candidates=[{name: time_shift}]"], "model.candidates: only used by methods 'independent', 'policy'"),
        (["model.method=policy", "model.layers=null"], "model.policy: method 'policy' needs a mapping with 'name' in"),
        (["model.method=policy", "model.layers=null", "model.policy={name: randaugment}"], "model.candidates: must"),
        (POLICY + ["model.policy={name: randaugment, n: 2}"], "model.policy.n: unknown key"),
        (POLICY + ["model.policy={name: randaugment, magnitude: 2}"], "model.policy.magnitude: must be in"),
        (POLICY + ["model.policy={name: dada}"], "model.policy: method 'policy' needs a mapping"),
        (POLICY + ["model.policy={name: sub_policies, sub_policies: [[time_shift, rotate]]}"], "op names"),
        (POLICY + ["model.policy={name: sub_policies, sub_policies: [[time_shift]], magnitudes: 3}"], "magnitudes"),
        (["model.policy={name: trivialaugment}"], "model.policy: only used by methods 'policy' and 'dada'"),
        (["model.objective=unrolled"], "model.objective: unrolled trains methods 'dada' only, not 'augnet'"),
        (DADA + ["model.objective=reward"], "model.objective: method 'dada' trains under 'unrolled' only"),
        (DADA + ["model.objective=unrolled", "model.policy={temperature: 0}"], "model.policy.temperature: must be >"),
        (DADA + ["model.objective=unrolled", "unrolled.step=0"], "unrolled.step: must be a finite number > 0, got 0"),
        (
            ["model.method=independent", "model.layers=null", "model.candidates=[{name: rotate}]"],
            "model.candidates.0.name: 'rotate' is an image augmentation",
        ),
        (
            [
                "model.method=independent",
                "model.layers=null",
                "model.candidates=[{name: time_shift}, {name: time_shift}]",
            ],
            "model.candidates: repeats 'time_shift'",
        ),
    ],
)
def test_errors_name_the_key(overrides, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load(CONFIGS[0].parent / "sinusoids-augnet.yaml", overrides)


def test_policies_and_the_dada_search_resolve_their_defaults():
    sinusoids = CONFIGS[0].parent / "sinusoids-augnet.yaml"
    resolved = config.load(sinusoids, [*POLICY, "model.policy={name: randaugment}"])
    assert resolved["model"]["policy"] == {"name": "randaugment", "n_ops": 2, "magnitude": 0.5}
    searched = "model.policy={name: sub_policies, sub_policies: [[time_shift, sign_flip]], probabilities: [[1, 0.5]]}"
    assert config.load(sinusoids, [*POLICY, searched])["model"]["policy"]["magnitudes"] == 0.5
    resolved = config.load(sinusoids, [*DADA, "model.objective=unrolled", "optim.lr=0.2", "trainer.batch_size=16"])
    assert resolved["model"]["policy"] == {"name": "dada", "temperature": 0.5, "sharpness": 20.0, "top": 25}
    assert resolved["unrolled"] == {"lr": 5e-3, "step": None, "batch_size": 16}  # the optimizer's live step


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(config.ConfigError, match="cannot read"):
        config.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(config.ConfigError, match="not valid YAML"):
        config.load(bad)
    bad.write_text("- a list\n")
    with pytest.raises(config.ConfigError, match="must be a mapping"):
        config.load(bad)


def test_image_data_sets_build_from_their_files(tmp_path):
    """An idx folder named by data.root becomes transformed train/test tensors of the configured sizes."""
    from invlearn.training.build import build_data
    from tests.data.test_images import write_idx_folder

    write_idx_folder(tmp_path, n_train=6, n_test=4)
    overrides = [f"data.root={tmp_path}", "data.n_train=5", "data.n_test=3"]
    plain = build_data(config.load(CONFIGS[0].parent / "rotmnist-none.yaml", overrides + ["data.transform=none"]))
    rotated = build_data(config.load(CONFIGS[0].parent / "rotmnist-none.yaml", overrides))
    assert plain.train.inputs.shape == (5, 1, 28, 28) and plain.test.inputs.shape == (3, 1, 28, 28)
    assert torch.equal(plain.train.labels, rotated.train.labels) and plain.n_classes == 10
    assert not torch.allclose(plain.train.inputs, rotated.train.inputs)
    with pytest.raises(DataError, match="no such folder"):
        build_data(config.load(CONFIGS[0].parent / "rotmnist-none.yaml", [f"data.root={tmp_path / 'absent'}"]))


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_shipped_studies_are_valid(path):
    from invlearn.studies.registry import load_study

    assert load_study(path)["study"] == path.stem


ANGLES = Path(__file__).resolve().parents[2] / "configs" / "identification" / "angles.yaml"
INDEPENDENT_MARGLIK = [
    "model.method=independent", "model.layers=null", "model.candidates=[{name: rotate}]", "model.objective=marglik",
    "optim.weight_decay=0",
]  # fmt: skip


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["data.name=mnist_segments"], "augnet mixes warps per example, with no single warp"),
        (["data.name=mnist_segments", "model.method=fixed"], "fixed mixes warps per example"),
        (["data.name=mnist_segments", *INDEPENDENT_MARGLIK], "marglik.labels: exact needs one class per example"),
        (["data.transform=rotate"], "data.transform: only for"),
    ],
)
def test_tasks_beyond_classification_refuse_what_they_cannot_run(overrides, message):
    with pytest.raises(config.ConfigError, match=message):
        config.load(ANGLES, overrides)


def test_the_angle_task_takes_every_method():
    for method in (["model.method=none", "model.layers=null"], ["model.method=augerino", "model.layers=null"]):
        assert config.load(ANGLES, method)["data"]["name"] == "mnist_angles"
    assert config.load(ANGLES, INDEPENDENT_MARGLIK)["marglik"]["labels"] == "exact"
