"""Contract tests over the registries: every registered family and objective, read from the registries, builds
from its smallest config (``tests/contracts.py``), trains, checkpoints and resumes to the same state, refuses a
bad setting in one line with exit 2 and nothing written, and has every key in the generated config reference. A
new family or objective is tested here by being registered."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml

from invlearn.cli import main
from invlearn.objectives import OBJECTIVES
from invlearn.training import run
from invlearn.training.build import build_data, build_learner
from invlearn.training.config import SCHEMA
from invlearn.training.families import FAMILIES
from invlearn.training.schema import objective_section, objective_section_name
from tests.contracts import contract_config, family_of, objective_of
from tests.training.test_runs import without_times

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
schema_pages = pytest.importorskip("schema")  # the config reference's generator (docs/_ext/schema.py)

#: Every family with its contract objective, every objective with its contract family, each pair once.
PAIRS = sorted({(f, objective_of(f)) for f in FAMILIES} | {(family_of(o), o) for o in OBJECTIVES})


class Killed(RuntimeError):
    pass


def _killed_after_step(monkeypatch, kill_at: int) -> None:
    """Make the next run stop (as a crash would) right after optimiser step ``kill_at`` and its checkpoint."""
    original = run._last_checkpoint_callback

    def killing_callback(path, every_n_steps):
        callback = original(path, every_n_steps)

        class Killing(type(callback)):
            def on_train_batch_end(self, trainer, *args):
                super().on_train_batch_end(trainer, *args)
                if trainer.global_step == kill_at:
                    raise Killed

        callback.__class__ = Killing
        return callback

    monkeypatch.setattr(run, "_last_checkpoint_callback", killing_callback)


def _same(a, b) -> bool:
    """Equal values, tensors compared exactly, through the dicts and lists of an extra state."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return a == b


def _initial_augmentation(settings: dict) -> dict[str, torch.Tensor]:
    """The augmentation's parameters as the run builds them, before any step."""
    learner = build_learner(settings, build_data(settings))
    return {f"model.augmentation.{k}": v for k, v in learner.model.augmentation.state_dict().items()}


@pytest.mark.parametrize(("family", "objective"), PAIRS, ids=[f"{f}-{o}" for f, o in PAIRS])
def test_every_entry_trains_and_resumes_to_the_same_state(tmp_path, monkeypatch, family, objective):
    settings = contract_config(family, objective)
    reference = run.train(settings, tmp_path / "reference")
    assert [epoch["epoch"] for epoch in reference["epochs"]] == [0, 1]
    trained = run.read_checkpoint(tmp_path / "reference")["state_dict"]
    if FAMILIES[family].learns:  # the augmentation was trained: some of its parameters moved
        initial = _initial_augmentation(settings)
        assert any(not torch.equal(trained[key], value) for key, value in initial.items() if value.is_floating_point())
    if not OBJECTIVES[objective].augmentation_with_weights:
        assert reference["final"]["hyper_seconds"] > 0, "no hyper-step was taken"
    _killed_after_step(monkeypatch, kill_at=2)
    with pytest.raises(Killed):
        run.train(settings, tmp_path / "killed")
    monkeypatch.undo()
    resumed = run.train(run.read_config(tmp_path / "killed"), tmp_path / "killed", resume=True)
    assert without_times(resumed) == without_times(reference)
    resumed_state = run.read_checkpoint(tmp_path / "killed")["state_dict"]
    assert resumed_state.keys() == trained.keys()
    for key, value in trained.items():
        assert _same(resumed_state[key], value), key


def _settings() -> list[tuple[str, str, str]]:
    """``(section.key, family, objective)`` of every setting an entry declares, with a pair that uses it."""
    out = []
    for name, cls in OBJECTIVES.items():
        section = objective_section_name(name)
        out += [(f"{section}.{key}", family_of(name), name) for key in objective_section(cls)]
    for name, family in FAMILIES.items():
        out += [(key, name, objective_of(name)) for key in family.keys]
    return sorted(set(out))


@pytest.mark.parametrize(("key", "family", "objective"), _settings(), ids=[s[0] + "-" + s[1] for s in _settings()])
def test_a_bad_setting_is_refused_in_one_line_with_nothing_written(tmp_path, capsys, key, family, objective):
    settings = contract_config(family, objective)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    out = tmp_path / "run"
    for value in ({"a": 1}, [[1, 2]]):
        code = main(["train", str(path), "--out", str(out), "--set", f"{key}={yaml.safe_dump(value).strip()}"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith(f"invlearn: error: {key}"), err
        assert not out.exists()


def test_every_setting_of_every_entry_is_in_the_config_reference():
    documented = {row[0] for row in schema_pages.rows(SCHEMA)}
    wanted = {key for key, _, _ in _settings()}
    assert wanted <= documented, sorted(wanted - documented)
