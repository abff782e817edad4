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
