"""The identification study end to end on its shipped miniature: the grid trains, each run is judged by the
identification metric, the summary counts recovered seeds, and a second call reuses the finished runs."""

from __future__ import annotations

import json
from math import pi
from pathlib import Path

import pytest
import yaml

from invlearn.cli import main
from invlearn.studies import identification, registry
from invlearn.training.config import ConfigError

QUICK = Path(__file__).resolve().parents[2] / "configs" / "identification-quick.yaml"


def test_the_quick_identification_study(tmp_path):
    out = tmp_path / "out"
    assert main(["study", str(QUICK), "--out", str(out)]) == 0
    result = json.loads((out / "study.json").read_text())
    assert len(result["runs"]) == 2 * 5 * 2
    for row in result["runs"]:
        assert (out / row["task"] / row["method"] / f"seed{row['seed']}" / "metrics.json").is_file()
        assert isinstance(row["recovered"], bool) and row["truth"] is not None
        if row["method"] == "none":
            assert not row["recovered"] and row["learned_over_true"] == 0.0  # nothing learned, nothing recovered
    summary = result["summary"]["sinusoids/augnet"]
    assert summary["seeds"] == 2 and summary["recovered"] == sum(
        r["recovered"] for r in result["runs"] if r["task"] == "sinusoids" and r["method"] == "augnet"
    )
    for method in ("marglik", "heldout"):
        learned = [r for r in result["runs"] if r["method"] == method]
        assert {r["task"] for r in learned} == {"sinusoids", "sprites"}  # the per-modality overrides reach both
        for row in learned:
            metrics = json.loads((out / row["task"] / method / f"seed{row['seed']}" / "metrics.json").read_text())
            assert metrics["final"]["hyper_seconds"] > 0
            assert isinstance(row["selected"], bool)
            if method == "heldout":  # it says what it kept from the weights
                assert metrics["final"]["held_out"]["examples"] == 19
    by_key = {(r["task"], r["method"], r["seed"]): r for r in result["runs"]}
    for (task, _method, seed), row in by_key.items():  # each run against the oracle and no augmentation, same seed
        oracle, none = by_key[(task, "oracle", seed)], by_key[(task, "none", seed)]
        assert row["oracle_score"] == oracle["test_score"] and row["none_score"] == none["test_score"]
        assert row["as_good_as_oracle"] == (row["test_score"] >= oracle["test_score"] - identification.ORACLE_POINTS)
        assert row["verdict"] in ("recovered", "wider, harmless", "missed")
    oracle = registry.load_study(QUICK)["runs"][("sprites", "oracle", 0)]["model"]  # the true rotation, fixed
    assert oracle["method"] == "fixed" and oracle["layers"] == [[{"name": "rotate", "magnitude": 1.0, "scale": pi / 4}]]
    table = (out / "study.md").read_text()
    assert "| sinusoids | augnet |" in table and "| heldout |" in table
    summary = result["summary"]["sprites/none"]
    cells = f"| sprites | none | 0/2 | 0/2 | {summary['as_good_as_oracle']}/2 |"
    assert cells in table and f"| {summary['oracle_score']:.3f} | {summary['none_score']:.3f} |" in table
    if (out / "recovered.png").exists():
        assert (out / "recovered.png").stat().st_size > 1000
    again = registry.run_study(registry.load_study(QUICK), out)  # finished runs are reused, not retrained
    assert [r["test_score"] for r in again["runs"]] == [r["test_score"] for r in result["runs"]]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kind": "grid"}, "kind: must be one of"),
        ({"colour": 1}, "colour: unknown key"),
        ({"seeds": []}, "seeds: missing or empty"),
        ({"tasks": {"a/b": {"base": "sprites-augnet.yaml"}}}, "tasks.a/b: must be a plain folder name"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "plain": "x"}}}, "tasks.t.plain: 'x' is not another task"),
        ({"methods": {"m": {"set": ["model.temperature=0"]}}}, "tasks.sinusoids x methods.m: model.temperature"),
        ({"methods": {"m": ["model.method=none"]}}, "methods.m: must be a mapping with 'set'"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "built_in": "yes"}}}, "tasks.t.built_in: must be true"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "seeds": 3}}}, "tasks.t.seeds: must be a non-empty list"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "colour": 1}}}, "tasks.t: must be a mapping with a 'base'"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "methods": []}}}, "tasks.t.methods: must be a non-empty"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "methods": ["none", "none"]}}}, "'none' is listed twice"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "plain": "t"}}}, "tasks.t.plain: 't' is not another task"),
        ({"seeds": [0, 1, 0]}, "seeds: 0 is listed twice"),
        ({"tasks": {"t": {"base": "sprites-augnet.yaml", "seeds": [2, 2]}}}, "tasks.t.seeds: 2 is listed twice"),
        (
            {
                "methods": {"m": {"set": ["model.method=none"], "modality": "signal"}},
                "tasks": {"t": {"base": "sprites-augnet.yaml"}},
            },
            r"tasks.t: none of its methods \['m'\] applies to its image data",
        ),
    ],
)
def test_a_bad_study_names_its_key(tmp_path, change, message):
    spec = yaml.safe_load(QUICK.read_text())
    for task in spec["tasks"].values():
        task["base"] = str(QUICK.parent / task["base"])  # absolute, so the study can live in tmp_path
    spec.update(change)
    for task in spec["tasks"].values():
        task["base"] = str(QUICK.parent / task["base"])
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match=message):
        registry.load_study(path)


def test_a_task_named_twice_is_refused(tmp_path):
    text = QUICK.read_text().replace("  sprites:\n", "  sinusoids:\n")
    path = tmp_path / "study.yaml"
    path.write_text(text.replace("base: ", f"base: {QUICK.parent}/"))
    with pytest.raises(ConfigError, match="found the key 'sinusoids' twice"):
        registry.load_study(path)


def test_tasks_without_a_known_invariance_are_tabled_but_not_drawn(tmp_path):
    from invlearn.studies import identification

    summary = {"recovered": 0, "seeds": 2, "has_truth": False, "learned_over_true": None, "spurious": None}
    result = {
        "study": "s",
        "seeds": [0, 1],
        "summary": {
            "sleep/augnet": {**summary, "by_invariance": 0, "score": "test_accuracy", "test_score": 0.9, "seconds": 3.0}
        },
    }
    assert "| sleep | augnet | no truth |  |  |  |  | 0.900 acc |  |  |  | 3.0 |" in identification.markdown(result)
    identification._heatmap(result, tmp_path)
    assert not (tmp_path / "recovered.png").exists()


def _quick_copy(tmp_path: Path, edit) -> Path:
    spec = yaml.safe_load(QUICK.read_text())
    for task in spec["tasks"].values():
        task["base"] = str(QUICK.parent / task["base"])
    edit(spec)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_parallel_runs_task_seeds_and_the_built_in_rule(tmp_path):
    from invlearn.studies.identification import BUILT_IN_INVARIANCE

    def edit(spec):
        spec["tasks"]["sprites"].update(built_in=True, seeds=[3])
        for method in ("none", "oracle", "marglik", "heldout"):
            spec["methods"].pop(method)

    path = _quick_copy(tmp_path, edit)
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out), "--jobs", "2"]) == 0
    rows = json.loads((out / "study.json").read_text())["runs"]
    assert sorted((r["task"], r["seed"]) for r in rows) == [("sinusoids", 0), ("sinusoids", 1), ("sprites", 3)]
    sprites = next(r for r in rows if r["task"] == "sprites")
    assert -1.0 <= sprites["invariance"] <= 1.0  # scored on the trained model, to the truth's rotation
    by_range = sprites["rule"] == "range"
    assert sprites["recovered"] == (by_range or sprites["invariance"] >= BUILT_IN_INVARIANCE)
    assert all(r["invariance"] is None for r in rows if r["task"] == "sinusoids")  # no built-in rule there

    def longer(spec):
        edit(spec)
        spec["tasks"]["sprites"]["set"].append("trainer.epochs=2")

    with pytest.raises(ConfigError, match="holds a run of another config"):
        registry.run_study(registry.load_study(_quick_copy(tmp_path, longer)), out)
    for config_file in out.glob("*/*/*/config.yaml"):  # runs trained before heldout.implicit existed
        text = config_file.read_text()
        assert "\n  implicit: 0\n" in text
        config_file.write_text(text.replace("\n  implicit: 0\n", "\n"))
    trained = {p: p.stat().st_mtime_ns for p in out.glob("*/*/*/metrics.json")}
    registry.run_study(registry.load_study(_quick_copy(tmp_path, edit)), out)  # at its default: reused, not retrained
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*/*/metrics.json")} == trained and len(trained) == 3


def test_the_built_in_rule_only_adds_what_the_score_earns(monkeypatch):
    from invlearn.studies import identification

    for score, expected in ((0.95, (True, "invariance")), (0.5, (False, None))):
        monkeypatch.setattr(identification, "invariance_at_truth", lambda run_dir, truth, s=score: s)
        row = {"recovered": False, "rule": None, "truth": {"names": ["translate_x"], "half_range": 0.3}}
        identification._judge_built_in(row, Path("unused"))
        assert (row["recovered"], row["rule"]) == expected and row["invariance"] == score
    row = {"recovered": True, "rule": "range", "truth": {}}
    identification._judge_built_in(row, Path("unused"))
    assert (row["recovered"], row["rule"]) == (True, "range")  # the range rule stays the first


def test_a_capacity_study_runs_one_at_a_time():
    spec = registry.load_study(QUICK.parent / "sinusoids-capacity.yaml")
    with pytest.raises(ConfigError, match="--jobs: a capacity study runs one run at a time"):
        registry.run_study(spec, "unused", jobs=2)


def test_huge_spurious_ratios_are_tabled_as_such():
    from invlearn.studies import identification

    summary = {"recovered": 0, "seeds": 3, "has_truth": True, "by_invariance": 0, "learned_over_true": 0.0}
    result = {
        "study": "s",
        "seeds": [0],
        "summary": {
            "t/augnet": {**summary, "spurious": 254911.05, "score": "test_mae", "test_score": 0.5, "seconds": 1.0}
        },
    }
    assert "| t | augnet | 0/3 |  |  | 0.00 | > 1000 | 0.500 MAE |  |  |  | 1.0 |" in identification.markdown(result)


def test_a_part_of_a_study_keeps_its_untransformed_tasks_and_names_unknown_ones():
    from invlearn.studies import identification

    whole = registry.load_study(QUICK.parent / "identification.yaml")
    part = identification.select(whole, ["mnist-mlp-rotate90", "sinusoids"], ["marglik"])
    assert set(part["tasks"]) == {"mnist-mlp-rotate90", "mnist-mlp", "sinusoids"}  # with its plain task
    assert sorted({(task, method) for task, method, _ in part["runs"]}) == [
        ("mnist-mlp", "marglik"),
        ("mnist-mlp-rotate90", "marglik"),
        ("sinusoids", "marglik"),
    ]
    assert all(part["runs"][key] == whole["runs"][key] for key in part["runs"])  # the same configs, same folders
    assert len(identification.select(whole)["runs"]) == len(whole["runs"])
    with pytest.raises(ConfigError, match="--tasks: 'mnist' is not one of the study's tasks"):
        identification.select(whole, ["mnist"])
    with pytest.raises(ConfigError, match="--methods: 'lila' is not one"):
        identification.select(whole, None, ["lila"])


def test_the_command_line_trains_only_the_part_asked_for(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["study", str(QUICK), "--out", str(out), "--tasks", "sinusoids", "--methods", "none"]) == 0
    rows = json.loads((out / "study.json").read_text())["runs"]
    assert {(r["task"], r["method"]) for r in rows} == {("sinusoids", "none")} and len(rows) == 2
    assert not (out / "sprites").exists()
    assert main(["study", str(QUICK), "--out", str(out), "--tasks", "colour"]) == 2
    assert "--tasks: 'colour' is not one" in capsys.readouterr().err
    capacity = QUICK.parent / "sinusoids-capacity.yaml"
    assert main(["study", str(capacity), "--out", str(out), "--methods", "none"]) == 2
    assert "select a part of an identification study" in capsys.readouterr().err


def test_a_table_only_study_tabulates_the_finished_runs_and_trains_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["study", str(QUICK), "--out", str(out), "--table-only"]) == 2
    assert "no finished run of this study to tabulate" in capsys.readouterr().err
    assert main(["study", str(QUICK), "--out", str(out), "--tasks", "sinusoids", "--methods", "none"]) == 0
    trained = json.loads((out / "study.json").read_text())["runs"]
    (out / "study.json").unlink()
    assert main(["study", str(QUICK), "--out", str(out), "--table-only"]) == 0  # the whole study asked
    assert json.loads((out / "study.json").read_text())["runs"] == trained
    assert sorted(path.name for path in out.iterdir()) == ["recovered.png", "sinusoids", "study.json", "study.md"]
