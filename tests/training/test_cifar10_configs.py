"""The CIFAR-10 configs (a GPU protocol) run end to end for a few steps on a tiny archive written here in the
official format: the loader, PreAct ResNet-18, each method, SGD with the cosine schedule and the report."""

from __future__ import annotations

import json
import pickle
import tarfile
from pathlib import Path

import pytest

from invlearn.cli import main
from invlearn.data import images
from tests.data.test_images import cifar_batches

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cifar") / images.CIFAR10_FOLDER
    folder.mkdir()
    for name, batch in cifar_batches(n=4).items():
        (folder / name).write_bytes(pickle.dumps(batch))
    path = folder.parent / images.CIFAR10_ARCHIVE
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname=images.CIFAR10_FOLDER)
    return path


@pytest.mark.parametrize("method", ["augnet", "augerino", "fixed", "none"])
def test_cifar10_config_runs_a_few_steps(tmp_path, archive, method):
    out = tmp_path / method
    overrides = [f"data.root={archive}", "trainer.epochs=1", "trainer.batch_size=8", "trainer.progress_bar=false"]
    args = ["train", str(CONFIGS / f"cifar10-{method}.yaml"), "--out", str(out)]
    assert main(args + sum([["--set", item] for item in overrides], [])) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["epochs"] == 1 and 0.0 <= metrics["final"]["test_accuracy"] <= 1.0
    assert (out / "report.md").is_file()
