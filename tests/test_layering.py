"""The package's layering is one-way: each part imports only the layers below it, and no import is circular.

Every import in ``src/invlearn`` is read from the source (including those inside functions), so a lazy import
that reaches upward fails here as a top-level one would.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "invlearn"

#: Bottom to top; a part may import its own modules and those of lower layers, never a higher or a sibling one.
LAYERS: list[set[str]] = [
    {"_validation"},
    {"ops"},
    {"augmentations"},
    {"families"},
    {"models"},
    {"metrics", "objectives"},
    {"invlearn"},  # the package root: the core's public names
    {"data"},
    {"training"},
    {"studies"},
    {"bench"},
    {"cli"},
    {"__main__"},  # python -m invlearn: the command
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def module_name(path: Path) -> str:
    parts = ("invlearn", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def part(module: str) -> str:
    """The layer part of a module: its first name under the package (``invlearn`` for the root itself)."""
    names = module.split(".")
    return names[1] if len(names) > 1 else names[0]


def imports(module: str) -> set[str]:
    """The invlearn modules that ``module`` imports anywhere in its source (a name imported from a package is
    that package, a submodule imported from it is the submodule)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "invlearn")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            if base.split(".")[0] != "invlearn":
                continue
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found - {module}


GRAPH = {module: imports(module) for module in MODULES}


def test_every_part_has_a_layer():
    unplaced = sorted({part(module) for module in MODULES} - set(RANK))
    assert not unplaced, f"place these in LAYERS (and in docs/layout.md): {unplaced}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_lower_layers(module):
    mine = part(module)
    upward = sorted(target for target in GRAPH[module] if part(target) != mine and RANK[part(target)] >= RANK[mine])
    assert not upward, f"{module} ({mine}, layer {RANK[mine]}) imports from its own layer or above: {upward}"


def test_no_circular_import():
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module) :] + [module]
            pytest.fail("circular import: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(GRAPH[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """The parser finds an upward import inside a function and a relative one."""
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "bad.py").write_text(
        "def f():\n    from invlearn.training import run\nfrom ..studies import grid\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {"invlearn.ops.bad": tmp_path / "ops" / "bad.py"})
    assert imports("invlearn.ops.bad") == {"invlearn.training", "invlearn.studies"}
