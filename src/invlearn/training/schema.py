"""The pieces a configuration schema is made of, and the sections the registered parts declare themselves.

A schema is nested dicts of :class:`Field` (a scalar key: its type, default, check and meaning) and
:class:`Structured` (a list or mapping checked by the part that owns it). An objective's section
(:func:`objective_section`) is read from the objective's class: its constructor's arguments are the keys, their
annotations the types, their defaults the defaults, the class docstring's ``Args:`` their meaning, and the
constructor itself their check, so the schema, the config reference and the class cannot disagree.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from invlearn._validation import shown
from invlearn.objectives import OBJECTIVES, Objective


class ConfigError(ValueError):
    """A configuration that cannot run: the message starts with the dotted key."""


@dataclass(frozen=True)
class Field:
    """One scalar entry of the schema: type, default, an optional check returning an error or ``None``, and what
    the key means (the config reference is generated from it)."""

    kind: type | tuple[type, ...]
    default: Any
    check: Callable[[Any], str | None] | None = None
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Structured:
    """An entry of the schema that is a list or mapping, checked by the part that owns it; ``None`` by default."""

    doc: str


INT, REAL, STR, BOOL = int, (int, float), str, bool


def positive(v):
    """A check of a :class:`Field`: ``None`` for a value > 0, else the problem."""
    return None if v > 0 else f"must be > 0, got {v}"


def non_negative(v):
    """A check of a :class:`Field`: ``None`` for a value >= 0, else the problem."""
    return None if v >= 0 else f"must be >= 0, got {v}"


def at_least_one(v):
    """A check of a :class:`Field`: ``None`` for a value >= 1, else the problem."""
    return None if v >= 1 else f"must be >= 1, got {v}"


def unit_interval(v):
    """A check of a :class:`Field`: ``None`` for a value in [0, 1], else the problem."""
    return None if 0 <= v <= 1 else f"must be in [0, 1], got {v}"


def one_of(*choices):
    """A check of a :class:`Field` that accepts only ``choices``."""
    return lambda v: None if v in choices else f"must be one of {list(choices)}, got {shown(v)}"


def _type_name(kind) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "a number" if float in kinds else names[kinds[0]]


def check_field(field: Field, value: Any, path: str) -> Any:
    """``value`` if it is of the field's type and passes its check, else a :class:`ConfigError` naming ``path``."""
    if value is None:
        if field.nullable:
            return None
        raise ConfigError(f"{path}: must be {_type_name(field.kind)}, got null")
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(f"{path}: must be {_type_name(field.kind)}, got {shown(value)}")
    if not isinstance(value, kinds):
        raise ConfigError(f"{path}: must be {_type_name(field.kind)}, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path}: must be finite, got {shown(value)}")
    problem = field.check(value) if field.check else None
    if problem:
        raise ConfigError(f"{path}: {problem}")
    return value


def check_section(schema: Mapping[str, Any], values: Any, path: str) -> dict:
    """``values`` checked against ``schema`` (nested), defaults filled in; an unknown key is refused."""
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{path or 'config'}: must be a mapping, got {type(values).__name__}")
    unknown = sorted(set(values) - set(schema), key=str)
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key (allowed: {', '.join(sorted(schema))})")
    out = {}
    for key, spec in schema.items():
        sub = f"{path}.{key}" if path else key
        if isinstance(spec, Field):
            out[key] = check_field(spec, values.get(key, spec.default), sub)
        elif isinstance(spec, dict):
            out[key] = check_section(spec, values.get(key), sub)
        else:
            out[key] = copy.deepcopy(values.get(key))
    return out


_KINDS = {int: INT, float: REAL, str: STR, bool: BOOL}
_ARGUMENT = re.compile(r"(\w+)(?: \(.*?\))?: (.*)")


def documented_arguments(cls: type) -> dict[str, str]:
    """``{argument: its meaning}`` from the ``Args:`` section of a Google-style class docstring (continuation
    lines joined; an entry naming several arguments, ``a, b: ...``, is not read)."""
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    out: dict[str, str] = {}
    if "Args:" not in lines:
        return out
    name = None
    for line in lines[lines.index("Args:") + 1 :]:
        if line and not line.startswith(" "):
            break
        match = _ARGUMENT.fullmatch(line.strip()) if line.startswith("    ") and line[4:5] != " " else None
        if match:
            name, out[match[1]] = match[1], match[2]
        elif name and line.strip():
            out[name] += " " + line.strip()
    return out


def _annotation_kind(annotation: Any, where: str) -> tuple[Any, bool]:
    """``(schema kind, nullable)`` of a constructor annotation: ``int``, ``float``, ``str``, ``bool``, or one of
    them ``| None``."""
    nullable = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(typing.get_args(annotation))
        annotation = members[0] if len(members) == 1 else None
    if annotation not in _KINDS:
        raise TypeError(f"{where}: a configurable argument must be annotated int, float, str or bool (or | None)")
    return _KINDS[annotation], nullable


def _constructor_check(cls: type[Objective], name: str) -> Callable[[Any], str | None]:
    """The check of one argument: the objective built with it (every other at its default); the constructor's
    message, less the argument's own name in front, is the problem."""

    def check(value: Any) -> str | None:
        try:
            cls(**{name: value})
        except (TypeError, ValueError) as error:
            message = str(error)
            return message[len(name) + 1 :] if message.startswith(f"{name} ") else message
        return None

    return check


def objective_section(cls: type[Objective]) -> dict[str, Field]:
    """The config section of an objective class: one :class:`Field` per constructor argument (those of
    :attr:`Objective.task_arguments <invlearn.objectives.Objective.task_arguments>` come from the task, not the
    config). An argument of :attr:`~invlearn.objectives.Objective.config_defaults` defaults to null, filled in from
    the key it names."""
    hints = typing.get_type_hints(cls.__init__)
    documented = documented_arguments(cls)
    section = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in cls.task_arguments:
            continue
        kind, nullable = _annotation_kind(hints.get(name), f"{cls.__name__}({name})")
        doc = documented.get(name, "")
        default = parameter.default
        if name in cls.config_defaults:
            nullable, default = True, None
            doc = f"{doc} Default: {cls.config_defaults[name]}.".strip()
        if not doc:
            raise TypeError(f"{cls.__name__}: document the argument {shown(name)} in the class docstring's Args")
        check = _constructor_check(cls, name)
        section[name] = Field(kind, default, lambda v, check=check: None if v is None else check(v), nullable, doc)
    return section


def objective_section_name(name: str) -> str:
    """The config section of the registered objective ``name``: its class's
    :attr:`~invlearn.objectives.Objective.config_section`, else its name."""
    return OBJECTIVES[name].config_section or name
