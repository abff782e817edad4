"""Reports: Markdown with plots for one run or several runs side by side."""

from __future__ import annotations

import json
import re

import pytest

from invlearn.cli import main
from invlearn.training import config, run
from invlearn.training.report import write_report
from tests.training.test_runs import AUGNET, TINY

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    run.train(config.load(AUGNET, TINY), root / "augnet")
    none = AUGNET.parent / "sinusoids-none.yaml"
    run.train(config.load(none, [t for t in TINY if not t.startswith("model.")]), root / "none")
    return root


def test_train_writes_a_report_with_plots(runs):
    report = (runs / "augnet" / "report.md").read_text()
    assert "True invariance: frequency_shift within +-0.5 Hz" in report
    assert "| augnet | augnet (reward) | 3 |" in report and "0.frequency_shift" in report
    assert report.count(" | yes | ") + report.count(" | no | ") == 1  # the identification metric
    assert "frequency-shift magnitude 0.236 (truth 0.25)" in report  # the published number beside ours
    assert "Rommel, Moreau, Gramfort" in report  # ... with its source
    for name in ("report-ranges.png", "report-weights.png", "report-score.png"):
        assert (runs / "augnet" / name).stat().st_size > 1000


def test_shared_report_of_two_runs(runs, tmp_path):
    out = write_report([runs / "augnet", runs / "none"], tmp_path / "shared" / "report.md")
    text = out.read_text()
    assert "| augnet | augnet (reward) |" in text and "| none | none |" in text and "not learned" in text


def test_report_errors(runs, tmp_path, capsys):
    with pytest.raises(config.ConfigError, match="need --out FILE"):
        write_report([runs / "augnet", runs / "none"])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text((runs / "augnet" / "config.yaml").read_text())
    (broken / "metrics.json").write_text(json.dumps({"epochs": [], "wall_time_s": 1.0}))
    with pytest.raises(config.ConfigError, match="epochs: missing or empty"):
        write_report([broken])
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "cannot read" in capsys.readouterr().err


def _drop(metrics: dict, path: str) -> dict:
    """``metrics`` without the key at ``path``, keys joined by ``/`` (``final/learned_invariances/...``)."""
    *parents, last = path.split("/")
    entry = metrics
    for key in parents:
        entry = entry[int(key)] if isinstance(entry, list) else entry[key]
    del entry[last]
    return metrics


@pytest.mark.parametrize(
    "path, named",
    [
        ("final", "final: missing"),
        ("final/learned_invariances", "final.learned_invariances: missing"),
        ("final/learned_invariances/0.frequency_shift/low", "final.learned_invariances.0.frequency_shift: must hold"),
        ("final/test_accuracy", "final.test_accuracy: the headline score is missing"),
        ("final/score", "final.score: missing"),
        ("epochs/1/seconds", r"epochs\[1\].seconds: missing"),
        ("wall_time_s", "wall_time_s: missing"),
    ],
)
def test_reports_and_studies_name_the_file_and_key_a_metrics_file_lacks(runs, tmp_path, capsys, path, named):
    from invlearn.studies.identification import _row
    from invlearn.training.rundir import read_metrics

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text((runs / "augnet" / "config.yaml").read_text())
    metrics = json.loads((runs / "augnet" / "metrics.json").read_text())
    (broken / "metrics.json").write_text(json.dumps(_drop(metrics, path)))
    with pytest.raises(config.ConfigError, match=f"{broken / 'metrics.json'}: not an invlearn metrics file .*{named}"):
        _row("task", "method", 0, read_metrics(broken))  # what a study reads
    assert main(["report", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "metrics.json: not an invlearn metrics file" in err


@pytest.mark.parametrize(
    "identification, named",
    [
        ("yes", "final.identification: not a mapping"),
        ({"effective_ranges": {"rotate": "wide"}}, "final.identification.effective_ranges: must map names to numbers"),
        ({"recovered": "no"}, "final.identification.recovered: must be true, false or null"),
        ({"truth": {"names": "rotate", "half_range": 1.0}}, "final.identification.truth.names: must be a non-empty"),
        ({"truth": {"names": ["rotate"], "half_range": "1"}}, "final.identification.truth: half_range and at_most"),
    ],
)
def test_a_study_table_refuses_identification_fields_of_the_wrong_type(runs, tmp_path, identification, named):
    from invlearn.training.rundir import read_metrics

    broken = tmp_path / "broken"
    broken.mkdir()
    metrics = json.loads((runs / "augnet" / "metrics.json").read_text())
    metrics["final"]["identification"] = identification
    (broken / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(config.ConfigError, match=f"not an invlearn metrics file \\({re.escape(named)}"):
        read_metrics(broken)  # what --table-only reads for every run


def test_truth_follows_the_data_and_its_transformation():
    import math

    from invlearn.metrics.identification import Truth
    from invlearn.training.report import truth

    assert truth({"data": {"name": "sprites"}}) == Truth(("rotate",), math.pi / 4, "rad")
    assert truth({"data": {"name": "sinusoids"}}) == Truth(("frequency_shift",), 0.5, "Hz")
    assert truth({"data": {"name": "mnist", "transform": "rotate"}}).half_range == math.pi
    assert truth({"data": {"name": "fmnist", "transform": "translate"}}).names == ("translate_x", "translate_y")
    assert truth({"data": {"name": "fmnist", "transform": "scale"}}).half_range == math.log(1.5)
    assert truth({"data": {"name": "fmnist", "transform": "none"}}) is None
    assert truth({"data": {"name": "sleep", "transform": "none"}}) is None


def test_a_transform_range_moves_the_truth():
    import math

    from invlearn.training import config as configs
    from invlearn.training.report import truth

    resolved = configs.load(AUGNET.parent / "fmnist-rotated-augnet.yaml", ["data.transform_range=1.5707963267948966"])
    assert truth(resolved).half_range == math.pi / 2
    with pytest.raises(configs.ConfigError, match="data.transform_range: set data.transform too"):
        configs.load(AUGNET.parent / "sinusoids-augnet.yaml", ["data.transform_range=1.0"])


def test_runs_of_the_same_name_are_labelled_by_their_parent_folder(runs, tmp_path):
    import shutil

    for method in ("augnet", "none"):
        shutil.copytree(runs / method, tmp_path / method / "seed0")
    text = write_report([tmp_path / "augnet" / "seed0", tmp_path / "none" / "seed0"], tmp_path / "r.md").read_text()
    assert "| augnet/seed0 | augnet (reward) |" in text and "| none/seed0 | none |" in text
