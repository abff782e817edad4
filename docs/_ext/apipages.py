"""Writes the API reference's pages (``docs/api/generated/<module>.rst``) before the build reads them.

Every public object is documented once, under the name users import it by: a package's ``__all__`` on the
package's page, everything else on its module's page (a module's ``__all__``, else what it defines). The top-level
page tables ``invlearn.__all__`` with links to those pages. Sphinx records the defining module's name as each
object's canonical name, so references to either name resolve.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

ROOT = "invlearn"


def _modules(name: str) -> list[str]:
    module = importlib.import_module(name)
    if not hasattr(module, "__path__"):
        return []
    return [f"{name}.{info.name}" for info in pkgutil.iter_modules(module.__path__) if not info.name.startswith("_")]


def _public(module) -> list[str]:
    names = getattr(module, "__all__", [])
    return [n for n in names if n != "__version__" and not inspect.ismodule(getattr(module, n))]


def _home(obj, packages: list[str]) -> str | None:
    """The package (not the root) whose ``__all__`` holds ``obj``, shallowest first."""
    for package in sorted(packages, key=lambda p: p.count(".")):
        module = importlib.import_module(package)
        if package != ROOT and any(getattr(module, n) is obj for n in _public(module)):
            return package
    return None


def _data_entries(name: str, module) -> list[str]:
    """A package's exported constants (autodoc finds no comment for them there): each points to the submodule that
    defines and documents it."""
    lines = []
    for attribute in _public(module):
        value = getattr(module, attribute)
        if inspect.isclass(value) or inspect.isfunction(value) or not hasattr(module, "__path__"):
            continue
        home = next(
            child for child in _modules(name) if getattr(importlib.import_module(child), attribute, None) is value
        )
        lines += [
            f".. py:data:: {attribute}",
            f"   :module: {name}",
            "",
            f"   :data:`{home}.{attribute}`, exported here.",
            "",
        ]
    return lines


def _title(name: str) -> list[str]:
    return [name, "=" * len(name), ""]


def _page(name: str, packages: list[str]) -> list[str]:
    module = importlib.import_module(name)
    children = _modules(name)
    lines = _title(name)
    if name == ROOT:
        lines += [f".. automodule:: {name}", "   :no-members:", "", ".. autosummary::", ""]
        home = {n: _home(getattr(module, n), packages) for n in _public(module)}
        lines += [f"   ~{home[n].removeprefix(ROOT + '.')}.{n}" for n in _public(module)]
        lines.append("")
    else:
        parent = importlib.import_module(name.rpartition(".")[0])
        shown = [n for n in _public(parent) if getattr(getattr(parent, n), "__module__", None) == name]
        lines += [f".. automodule:: {name}", "   :members:", "   :show-inheritance:"]
        if shown:
            lines.append(f"   :exclude-members: {', '.join(shown)}")
        lines += ["", *_data_entries(name, module)]
    if children:
        lines += [".. toctree::", "   :maxdepth: 1", "", *(f"   {child}" for child in children), ""]
    return lines


def write_pages(app) -> None:
    out = Path(app.srcdir) / "api" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    names, pending = [], [ROOT]
    while pending:
        name = pending.pop(0)
        names.append(name)
        pending.extend(_modules(name))
    packages = [n for n in names if hasattr(importlib.import_module(n), "__path__")]
    for name in names:
        text = "\n".join(_page(name, packages)) + "\n"
        path = out / f"{name}.rst"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "version": "1"}
