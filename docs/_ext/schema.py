"""Directives that write reference tables from the registries, so that a key or a pairing is documented where it
is defined, and only there: ``invlearn-config`` (the config reference, one table a section, from
:data:`invlearn.training.config.SCHEMA`) and ``invlearn-families`` (which family trains under which objective, from
:data:`invlearn.training.families.FAMILIES` and :data:`invlearn.objectives.OBJECTIVES`)."""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from invlearn.objectives import OBJECTIVES
from invlearn.training.config import SCHEMA
from invlearn.training.families import FAMILIES, POLICY_SCHEMAS
from invlearn.training.schema import Field, Structured

KIND_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _kind(field: Field) -> str:
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    name = "number" if float in kinds else KIND_NAMES[kinds[0]]
    return f"{name} or null" if field.nullable else name


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def rows(schema: dict, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """``(key, type, default, meaning)`` of every key of ``schema``, dotted, in schema order."""
    out = []
    for key, spec in schema.items():
        path = f"{prefix}{key}"
        if isinstance(spec, dict):
            out.extend(rows(spec, f"{path}."))
        elif isinstance(spec, Field):
            default = "null" if spec.default is None else repr(spec.default)
            default = default.lower() if isinstance(spec.default, bool) else default
            out.append((path, _kind(spec), default, spec.doc))
        elif isinstance(spec, Structured):
            out.append((path, "list or mapping", "null", spec.doc))
        else:
            raise TypeError(f"{path}: a schema entry must be a Field, Structured or dict, got {spec!r}")
    return out


def table(title: str, entries: list[tuple[str, str, str, str]]) -> list[str]:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", "   :widths: 25 12 12 51", ""]
    for row in [("key", "type", "default", "meaning"), *entries]:
        first, *rest = (_cell(value) for value in row)
        lines.append(f"   * - ``{first}``" if row[0] != "key" else f"   * - {first}")
        lines.extend(f"     - {value}" for value in rest)
    return [*lines, ""]


class ConfigReference(SphinxDirective):
    """One table a top-level section of the config, then the settings of each ``model.policy`` name."""

    def run(self) -> list[nodes.Node]:
        lines = table("top level", [r for r in rows(SCHEMA) if "." not in r[0]])
        for section, spec in SCHEMA.items():
            if isinstance(spec, dict):
                lines += table(f"``{section}``", rows(spec, f"{section}."))
        for name, spec in POLICY_SCHEMAS.items():
            if spec:
                lines += table(f"``model.policy`` with name ``{name}``", rows(spec, "model.policy."))
        return _parsed(self, lines, "invlearn.training.config.SCHEMA")


def pairs() -> list[tuple[str, str, str, str]]:
    """``(family, what it is, objectives it trains under, data)`` of every registered family."""
    out = []
    for family in FAMILIES.values():
        objectives = [name for name in OBJECTIVES if family.accepts(name)]
        trains = ", ".join(objectives) if family.learns else "none (nothing to learn: the plain loss)"
        data = "images, signals, point sets" if family.modalities is None else ", ".join(family.modalities)
        data += "" if family.moves_targets else " (no segmentation)"
        out.append((family.name, family.doc, trains, data))
    return out


def _parsed(directive: SphinxDirective, lines: list[str], source: str) -> list[nodes.Node]:
    container = nodes.container()
    directive.state.nested_parse(StringList(lines, source=source), 0, container)
    return container.children


class FamilyPairs(SphinxDirective):
    """One row a family: what it is, the objectives that train it, the data it augments."""

    def run(self) -> list[nodes.Node]:
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 14 46 22 18", ""]
        for row in [("``model.method``", "family", "objectives (``model.objective``)", "data"), *pairs()]:
            first, *rest = (_cell(value) for value in row)
            lines.append(f"   * - ``{first}``" if row[0] != "``model.method``" else f"   * - {row[0]}")
            lines.extend(f"     - {value}" for value in rest)
        return _parsed(self, lines, "invlearn.training.families.FAMILIES")


def setup(app):
    app.add_directive("invlearn-config", ConfigReference)
    app.add_directive("invlearn-families", FamilyPairs)
    return {"parallel_read_safe": True, "version": "1"}
