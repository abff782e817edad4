"""The kinds of study, a registry: a study file's ``kind`` (the capacity study when absent) -> the module that
checks it (``load(path, spec)``) and trains and tabulates it (``run(spec, out, jobs, table_only)``)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from invlearn.studies import capacity, compute, identification
from invlearn.training import config as configs
from invlearn.training.config import ConfigError
from invlearn.training.rundir import writing_into

#: ``kind:`` of a study file -> its module.
KINDS: dict[str, ModuleType] = {"capacity": capacity, "identification": identification, "compute": compute}


def load_study(path: str | Path) -> dict:
    """Read and check a study file of any kind; every run's config is resolved, so a bad grid fails before
    anything trains. Raises :class:`~invlearn.training.schema.ConfigError` naming the key at fault."""
    path = Path(path)
    spec = configs.read_yaml_file(path)
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: a study must be a mapping")
    kind = spec.get("kind", "capacity")
    if kind not in KINDS:
        raise ConfigError(f"kind: must be one of {sorted(KINDS)}, got {kind!r}")
    problem = configs.check_name(spec.get("study"))
    if problem:
        raise ConfigError(f"study: {problem}")
    return KINDS[kind].load(path, spec)


def run_study(spec: dict, out: str | Path, jobs: int = 1, table_only: bool = False) -> dict:
    """Train every run of a loaded study (finished runs reused, killed ones resumed; ``jobs`` at a time where its
    kind allows) and write its files under ``out``; returns what ``study.json`` holds. With ``table_only``
    nothing trains: the files tabulate the runs already finished under ``out`` (:func:`grid.no_finished_run
    <invlearn.studies.grid.no_finished_run>` where there is none). A second process on the same ``out`` is refused
    while this one runs (:func:`~invlearn.training.rundir.writing_into`)."""
    with writing_into(out, "--out"):
        return KINDS[spec.get("kind", "capacity")].run(spec, out, jobs, table_only)
