"""The compute study: fixed policies, a grid, a search and its retraining, tabulated against their seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from invlearn.cli import main
from invlearn.studies import compute, registry
from invlearn.training import config, rundir

BASE = Path(__file__).resolve().parents[2] / "configs" / "sinusoids-augnet.yaml"
OPS = "model.candidates=[{name: time_shift}, {name: sign_flip}, {name: gaussian_noise}]"
TINY = [
    "data.n_train=64", "data.n_test=32", "trainer.epochs=2", "trainer.batch_size=16", "trainer.progress_bar=false",
]  # fmt: skip
METHODS = {
    "none": {"set": ["model.method=none", "model.layers=null"]},
    "randaugment": {
        "set": ["model.method=policy", "model.layers=null", OPS, "model.policy={name: randaugment}"],
        "grid": {"model.policy.n_ops": [1, 2], "model.policy.magnitude": [0.5]},
    },
    "dada": {
        "set": ["model.method=policy", "model.layers=null", OPS],
        "search": ["model.method=dada", "model.objective=unrolled", "model.policy={top: 2}"],
    },
}


def _study(tmp_path: Path, methods: dict = METHODS, **extra) -> Path:
    spec = {"study": "tiny-compute", "kind": "compute", "base": str(BASE), "seeds": [0, 1], "set": TINY, **extra}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**spec, "methods": methods}, sort_keys=False))
    return path


def test_a_compute_study_trains_grids_and_searches_and_tables_their_cost(tmp_path, capsys):
    spec = registry.load_study(_study(tmp_path))
    out = tmp_path / "out"
    result = registry.run_study(spec, out)
    assert len(result["runs"]) == 2 * (1 + 2 + 1)
    grid = result["summary"]["randaugment"]
    assert set(grid["points"]) == {"n_ops1-magnitude0.5", "n_ops2-magnitude0.5"}
    assert grid["test_score"] == max(point["test_score"] for point in grid["points"].values())
    assert grid["total_seconds"] == pytest.approx(sum(point["train_seconds"] for point in grid["points"].values()))
    dada = result["summary"]["dada"]
    assert dada["search_seconds"] > 0
    assert dada["total_seconds"] == pytest.approx(dada["search_seconds"] + dada["train_seconds"])
    final = rundir.read_config(out / "dada" / "seed0")
    searched = compute.searched_policy(out / "dada" / "seed0" / "search")
    assert main(["policy", str(out / "dada" / "seed0" / "search")]) == 0  # the same, for --set model.policy=...
    assert json.loads(capsys.readouterr().out) == searched
    assert final["model"]["policy"] == searched and len(searched["sub_policies"]) == 2
    assert final["model"]["method"] == "policy" and final["trainer"]["epochs"] == 2
    assert (out / "randaugment" / "n_ops2-magnitude0.5" / "seed1" / "metrics.json").is_file()
    assert "| dada | " in (out / "study.md").read_text() and (out / "accuracy-vs-seconds.png").is_file()
    assert json.loads((out / "study.json").read_text())["summary"]["none"]["seeds"] == 2
    again = registry.run_study(spec, out)  # every run is reused
    assert again["runs"] == result["runs"]


def test_the_command_line_trains_one_method_of_a_compute_study(tmp_path, capsys):
    path = _study(tmp_path, score="balanced_accuracy")
    assert main(["study", str(path), "--out", str(tmp_path / "out"), "--methods", "none"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"none"} and summary["none"]["score"] == "balanced_accuracy"
    scores = [
        json.loads((tmp_path / "out" / "none" / f"seed{seed}" / "metrics.json").read_text())["final"][
            "balanced_accuracy"
        ]
        for seed in (0, 1)
    ]
    assert summary["none"]["test_score"] == pytest.approx(sum(scores) / 2)  # the median of two
    assert main(["study", str(path), "--out", str(tmp_path / "out"), "--tasks", "x"]) == 2
    assert "--tasks and --methods select" in capsys.readouterr().err


def test_the_searched_policy_comes_only_from_a_search_run(tmp_path, capsys):
    spec = registry.load_study(_study(tmp_path, {"none": METHODS["none"], "dada": METHODS["dada"]}))
    registry.run_study(compute.select(spec, ["none"]), tmp_path / "out")
    with pytest.raises(config.ConfigError, match="not a DADA search"):
        compute.searched_policy(tmp_path / "out" / "none" / "seed0")
    assert main(["policy", str(tmp_path / "out" / "none" / "seed0")]) == 2
    assert "not a DADA search" in capsys.readouterr().err
    assert main(["policy", str(tmp_path / "absent")]) == 2


def test_a_table_only_study_leaves_out_what_has_not_trained(tmp_path, capsys):
    path, out = _study(tmp_path, {"none": METHODS["none"], "dada": METHODS["dada"]}), tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--table-only"]) == 2
    assert "no finished run of this study to tabulate" in capsys.readouterr().err
    registry.run_study(compute.select(registry.load_study(path), ["none"]), out)
    capsys.readouterr()
    assert main(["study", str(path), "--out", str(out), "--table-only"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"none"}
    assert not (out / "dada").exists()  # no search, no final run


@pytest.mark.parametrize(
    "methods, message",
    [
        ({"a": {"set": [], "grid": {"x": [1]}, "search": []}}, "a grid or a search, not both"),
        ({"a": {"set": [], "colour": 1}}, "methods.a: must be a mapping with 'set'"),
        ({"a": {"grid": {"model.policy.n_ops": []}}}, "methods.a.grid: must map config keys"),
        ({"a": {"grid": {"model.policy.n_ops": ["../x"]}}}, "plain folder name"),
        ({"a": {"set": ["model.method=dada"]}}, "methods.a: model"),
        ({"../a": {"set": []}}, "methods.../a"),
    ],
)
def test_bad_studies_are_refused_before_anything_trains(tmp_path, methods, message):
    with pytest.raises(config.ConfigError, match=message):
        registry.load_study(_study(tmp_path, methods))
    assert not (tmp_path / "out").exists()


def test_an_unknown_score_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="score: must be one of"):
        registry.load_study(_study(tmp_path, score="f1"))


def test_the_plot_gives_every_method_its_own_colour_for_its_median_and_its_seeds():
    plt = pytest.importorskip("matplotlib.pyplot")  # the plotting extra
    methods = [f"method{index}" for index in range(12)]  # more than one colour cycle
    runs = [
        {"method": m, "point": "", "seed": seed, "test_score": 0.5 + 0.01 * seed, "total_seconds": 10.0 + i}
        for i, m in enumerate(methods)
        for seed in range(3)
    ]
    summary = {m: {"best_point": "", "score": "test_accuracy", "test_score": 0.51, "total_seconds": 10.0 + i}
               for i, m in enumerate(methods)}  # fmt: skip
    fig = compute.figure({"study": "colours", "runs": runs, "summary": summary})
    collections = fig.axes[0].collections
    assert len(collections) == 2 * len(methods)
    styles = []
    for seeds, median in zip(collections[::2], collections[1::2], strict=True):
        colour = tuple(median.get_facecolor()[0][:3])
        assert tuple(seeds.get_facecolor()[0][:3]) == colour and len(seeds.get_offsets()) == 3
        styles.append((colour, median.get_paths()[0].vertices.tobytes()))
    assert len(set(styles)) == len(methods)
    assert [text.get_text() for text in fig.axes[0].get_legend().get_texts()] == methods
    plt.close(fig)
