"""The documentation site builds without a warning (the examples left unrun: ``make docs`` runs them), and its
references are complete: every public name of the package, every command and option, every config key."""

from __future__ import annotations

import html
import importlib
import inspect
import os
import pkgutil
import posixpath
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
from sphinx.util.inventory import InventoryFile  # noqa: E402

import invlearn  # noqa: E402
from invlearn.cli import build_parser  # noqa: E402
from invlearn.training.config import SCHEMA  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(out / "doctrees")]
    done = subprocess.run(
        [*command, str(ROOT / "docs"), str(out / "html")],
        env={**os.environ, "INVLEARN_DOCS_FAST": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / "html"


def _modules() -> list[str]:
    names, pending = [], ["invlearn"]
    while pending:
        name = pending.pop(0)
        names.append(name)
        module = importlib.import_module(name)
        if hasattr(module, "__path__"):
            pending += [f"{name}.{m.name}" for m in pkgutil.iter_modules(module.__path__) if not m.name.startswith("_")]
    return names


def _documented(site: Path) -> set[str]:
    with open(site / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", posixpath.join)
    data = getattr(inventory, "data", inventory)
    return {name for entries in data.values() for name in entries}


def test_every_public_name_is_in_the_api_reference(site):
    documented = _documented(site)
    missing = []
    for name in _modules():
        module = importlib.import_module(name)
        exported = [n for n in getattr(module, "__all__", []) if n != "__version__"]
        for attribute in exported:
            value = getattr(module, attribute)
            if inspect.ismodule(value):
                continue
            if name == "invlearn":  # tabled on the top page, documented in the subpackage that exports it
                if not any(entry.endswith(f".{attribute}") for entry in documented):
                    missing.append(f"{name}.{attribute}")
            elif f"{name}.{attribute}" not in documented:
                missing.append(f"{name}.{attribute}")
        for attribute, value in vars(module).items():  # what a module defines, where it has no __all__
            defined_here = getattr(value, "__module__", None) == name and (
                inspect.isclass(value) or inspect.isfunction(value)
            )
            if "__all__" not in vars(module) and defined_here and not attribute.startswith("_"):
                package = name.rpartition(".")[0]
                if f"{name}.{attribute}" not in documented and f"{package}.{attribute}" not in documented:
                    missing.append(f"{name}.{attribute}")
    assert not missing, f"not in the API reference: {missing}"


def test_every_command_and_option_is_in_the_cli_reference(site):
    page = html.unescape(re.sub(r"<[^>]+>", "", (site / "cli.html").read_text(encoding="utf-8")))
    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command").choices
    for name, command in commands.items():
        assert f"invlearn {name}" in page
        for action in command._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):  # argparse's own, on every command
                    assert option in page, f"invlearn {name} {option}"


def _keys(schema: dict, prefix: str = "") -> list[str]:
    keys = []
    for key, spec in schema.items():
        keys += _keys(spec, f"{prefix}{key}.") if isinstance(spec, dict) else [f"{prefix}{key}"]
    return keys


def test_every_config_key_is_in_the_config_reference(site):
    page = (site / "config.html").read_text(encoding="utf-8")
    cell = '<td><p><code class="docutils literal notranslate"><span class="pre">{}</span>'  # a key's row of a table
    missing = [key for key in _keys(SCHEMA) if cell.format(key) not in page]
    assert not missing, missing


def test_every_key_of_the_schema_says_what_it_means():
    from invlearn.training.families import POLICY_SCHEMAS
    from invlearn.training.schema import Field, Structured

    def undocumented(schema: dict, prefix: str = "") -> list[str]:
        out = []
        for key, spec in schema.items():
            if isinstance(spec, dict):
                out += undocumented(spec, f"{prefix}{key}.")
            elif not (isinstance(spec, (Field, Structured)) and spec.doc):
                out.append(f"{prefix}{key}")
        return out

    assert not undocumented(SCHEMA) + undocumented(POLICY_SCHEMAS), "give these keys a doc"


def test_the_version_is_the_packages():
    assert invlearn.__version__ in (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
