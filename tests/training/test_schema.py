"""An objective's config section is read from its class: the constructor's annotated arguments are the keys, their
defaults the defaults, the docstring's ``Args:`` their meaning, the constructor their check."""

from __future__ import annotations

import pytest

from invlearn.objectives import OBJECTIVES, Objective
from invlearn.training.schema import REAL, Field, documented_arguments, objective_section


class Toy(Objective):
    """A toy objective.

    Args:
        rate: how fast, a number > 0,
            continued on a second line.
        name: which one (``"a"`` or ``"b"``).
        count (int): how many.
        limit: a cap, or none.
        likelihood: the task's.
    """

    config_defaults = {"count": "trainer.batch_size"}

    def __init__(self, rate: float = 0.5, name: str = "a", count: int = 3, limit: float | None = None, likelihood=None):
        super().__init__()
        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        if name not in ("a", "b"):
            raise ValueError(f"name must be 'a' or 'b', got {name!r}")


def test_the_docstring_gives_each_arguments_meaning():
    assert documented_arguments(Toy) == {
        "rate": "how fast, a number > 0, continued on a second line.",
        "name": 'which one (``"a"`` or ``"b"``).',
        "count": "how many.",
        "limit": "a cap, or none.",
        "likelihood": "the task's.",
    }


def test_the_section_is_the_constructors_arguments_checked_by_the_constructor():
    section = objective_section(Toy)
    assert list(section) == ["rate", "name", "count", "limit"]  # the likelihood comes from the task
    assert section["rate"] == Field(
        REAL, 0.5, section["rate"].check, False, "how fast, a number > 0, continued on a second line."
    )
    assert section["rate"].check(-1) == "must be > 0, got -1"  # the constructor's message, less the name
    assert section["name"].check("c") == "must be 'a' or 'b', got 'c'" and section["name"].check("b") is None
    assert section["count"].nullable and section["count"].default is None  # filled in from trainer.batch_size
    assert section["count"].doc.endswith("Default: trainer.batch_size.")
    assert section["limit"].nullable and section["limit"].check(None) is None


def test_an_undocumented_or_unannotated_argument_is_refused_at_registration():
    class Undocumented(Objective):
        def __init__(self, rate: float = 1.0):
            super().__init__()

    class Unannotated(Objective):
        """Args:
        rate: how fast.
        """

        def __init__(self, rate=1.0):
            super().__init__()

    with pytest.raises(TypeError, match="document the argument 'rate'"):
        objective_section(Undocumented)
    with pytest.raises(TypeError, match=r"Unannotated\(rate\): a configurable argument must be annotated"):
        objective_section(Unannotated)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_each_registered_objective_builds_from_its_sections_defaults(name):
    cls, section = OBJECTIVES[name], objective_section(OBJECTIVES[name])
    defaults = {key: field.default for key, field in section.items() if field.default is not None}
    assert all(field.doc for field in section.values())
    assert isinstance(cls(**defaults), cls)
