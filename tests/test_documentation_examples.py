"""Every Python block of the README and of the documentation's pages runs as written: in order, one namespace per
page (later blocks use earlier names)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def test_the_pages_with_python_examples_are_found():
    with_examples = {page.relative_to(ROOT).as_posix() for page in PAGES if python_blocks(page)}
    assert {"README.md", "docs/getting-started.md", "docs/guide/augmentations.md"} <= with_examples


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_examples_run(page: Path):
    namespace: dict = {"__name__": "__docs__"}
    for block in python_blocks(page):
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 (our own documentation)
    if page.name == "own-trunk.md":
        assert abs(namespace["curve"][0] - 1.0) < 1e-4  # the invariance curve's example: rotating by 0 changes nothing


def shell_commands(page: Path) -> list[str]:
    """The commands of a page's ``sh`` blocks and indented command lines, continuation lines joined, comments cut."""
    text = page.read_text(encoding="utf-8").replace("\\\n", " ")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    indented = re.findall(r"^    ((?:invlearn|make) .*)$", text, flags=re.M)
    lines = [line for block in blocks for line in block.splitlines()] + indented
    return [line.split(" #")[0].strip() for line in lines if line.strip().startswith(("invlearn", "make"))]


COMMANDS = sorted({(page.relative_to(ROOT).as_posix(), command) for page in PAGES for command in shell_commands(page)})


def test_the_commands_of_the_pages_are_found():
    assert len(COMMANDS) >= 20 and ("README.md", "make test") in COMMANDS


@pytest.mark.parametrize(("page", "command"), COMMANDS)
def test_every_command_of_the_pages_is_valid(page, command):
    """Each make target exists; each ``invlearn`` command parses, and the config, study or evidence grid it names
    loads and validates (everything short of training)."""
    import shlex

    from invlearn.cli import build_parser
    from invlearn.studies import evidence, registry
    from invlearn.training import config

    words = shlex.split(command)
    if words[0] == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.M)
        assert all(word in targets for word in words[1:] if "=" not in word), command
        return
    if words[1:] == ["--version"]:
        return
    arguments = build_parser().parse_args(words[1:])
    sets = getattr(arguments, "set", None) or []
    if arguments.command == "train" and arguments.config:
        config.validate(config.load(ROOT / arguments.config, sets))
    elif arguments.command == "study":
        registry.load_study(ROOT / arguments.study)
    elif arguments.command == "evidence":
        import json

        evidence.run_configs(
            ROOT / arguments.config,
            arguments.candidate,
            evidence.magnitude_list(arguments.magnitudes),
            [int(seed) for seed in arguments.seeds.split(",")],
            sets,
            json.loads(arguments.hold),
            arguments.scale,
            arguments.fraction,
        )
