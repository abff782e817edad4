"""Does a learner find the invariance its data has? The identification metric, from ``learned_invariances()``.

For a task whose data were transformed by a known transformation, uniform over a known half-range:

* the **effective range** of each transform is the half-range the learner samples, in physical units (those of
  :mod:`invlearn.augmentations`): for AugNet each layer's candidate range times its weight, summed over stacked
  layers (they compose); for Augerino and independent ranges, the range itself (half the generator's width);
* the task is **recovered** when the effective range of every transform the data were given lies within +-30 % of
  the true half-range; for the full circle (a true half-range of pi) at least 0.8 pi, and never above 1.3 times
  the truth, so a learner that grows every range without bound does not pass; where the right answer is *no*
  invariance to a transform (a regression whose target is the rotation angle: a true half-range of 0), when its
  effective range is at most the truth's ``at_most`` (e.g. 0.1 rad);
* the task is **selected** when the true transform is the only one whose effective range is above
  :data:`SELECTION_FRACTION` (a quarter) of its scale, and it reaches at least 0.7 of the truth: the learner picked
  the right candidate, whether or not its range is within the band of "recovered";
* the **spurious ratio** of every other transform is its effective range on the transformed task over its
  effective range on the untransformed task, same method and seed (about 1 when the learner is not fooled); both
  ranges count as at least :data:`SPURIOUS_FLOOR` of the transform's scale, so a range grown from about 0 gives a
  large, finite ratio.

A truth may be named in more than one way: QM9's "every rotation" is the three axis rotations composed or the
single ``rotate_so3`` (``equivalents``); a learner is judged on the naming its candidates use
(:meth:`Truth.matching`).

A transform's *scale* (``learned_invariances()``'s ``"scale"``) is the range at its full strength: a candidate's
physical scale, or for Augerino's generators their full range
(:data:`invlearn.families.augerino.FULL_RANGES`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Relative tolerance of "recovered" around the true half-range.
TOLERANCE = 0.3
#: For the full circle, the least effective rotation range that counts as recovered (rad).
FULL_CIRCLE_FLOOR = 0.8 * math.pi
#: The fraction of its scale above which a transform counts as chosen (see "selected").
SELECTION_FRACTION = 0.25
#: The fraction of its scale that a spurious ratio's ranges count as at least.
SPURIOUS_FLOOR = 0.01


@dataclass(frozen=True)
class Truth:
    """The transformation applied to a task's data: the transform names it acts on (``("translate_x",
    "translate_y")`` for a shift in both directions), its true half-range and unit; for a task that must not
    become invariant (``half_range`` 0), ``at_most``, the largest effective range that still counts as none;
    ``equivalents``, other sets of names for the same transformation (``(("rotate_so3",),)`` beside the three
    axis rotations)."""

    names: tuple[str, ...]
    half_range: float
    unit: str
    at_most: float = 0.0
    equivalents: tuple[tuple[str, ...], ...] = ()

    def matching(self, learned: Mapping[str, Mapping]) -> Truth:
        """This truth under the first of its namings (``names``, then ``equivalents``) whose transforms are all
        among a model's ``learned_invariances()``; itself where none is."""
        present = set(effective_ranges(learned))
        for names in (self.names, *self.equivalents):
            if set(names) <= present:
                return Truth(names, self.half_range, self.unit, self.at_most)
        return self

    def bounds(self) -> tuple[float, float]:
        """``(low, high)``: the effective ranges that count as recovered."""
        if self.half_range == 0:
            return 0.0, self.at_most
        high = (1.0 + TOLERANCE) * self.half_range
        if self.half_range >= math.pi - 1e-9 and self.unit == "rad":
            return FULL_CIRCLE_FLOOR, high
        return (1.0 - TOLERANCE) * self.half_range, high


def transform_name(key: str) -> str:
    """``"rotate"`` from a ``learned_invariances`` key: ``"1.rotate"`` (AugNet layer 1) or ``"rotate"``."""
    head, _, tail = key.partition(".")
    return tail if tail and head.isdigit() else key


def effective_ranges(learned: Mapping[str, Mapping]) -> dict[str, float]:
    """Effective half-range per transform name (see the module), from a model's ``learned_invariances()``."""
    ranges: dict[str, float] = {}
    for key, entry in learned.items():
        weight = 1.0 if entry.get("weight") is None else float(entry["weight"])
        half = max(abs(float(entry["low"])), abs(float(entry["high"])))
        name = transform_name(key)
        ranges[name] = ranges.get(name, 0.0) + weight * half
    return ranges


def scales(learned: Mapping[str, Mapping]) -> dict[str, float]:
    """Each transform's scale from ``learned_invariances()`` (entries without one, from runs of older versions,
    are left out)."""
    return {transform_name(key): float(entry["scale"]) for key, entry in learned.items() if entry.get("scale")}


def selected(learned: Mapping[str, Mapping], truth: Truth) -> bool | None:
    """Whether the true transforms are the only ones above :data:`SELECTION_FRACTION` of their scale, each at least
    ``1 - TOLERANCE`` of the truth; ``None`` where it cannot be told (a truth of no invariance, or entries without a
    scale)."""
    ranges, known, truth = effective_ranges(learned), scales(learned), truth.matching(learned)
    if truth.half_range == 0 or set(ranges) - set(known):
        return None
    right = all(ranges.get(name, 0.0) >= (1.0 - TOLERANCE) * truth.half_range for name in truth.names)
    others = [name for name in ranges if name not in truth.names]
    return right and all(ranges[name] <= SELECTION_FRACTION * known[name] for name in others)


def recovered(learned: Mapping[str, Mapping], truth: Truth) -> bool:
    """Whether every transform of ``truth`` has an effective range within :meth:`Truth.bounds`."""
    ranges, truth = effective_ranges(learned), truth.matching(learned)
    low, high = truth.bounds()
    return all(low <= ranges.get(name, 0.0) <= high for name in truth.names)


def spurious_ratios(
    transformed: Mapping[str, Mapping], untransformed: Mapping[str, Mapping], truth: Truth | None
) -> dict[str, float]:
    """Per transform not in ``truth``: effective range on the transformed task over that on the untransformed
    task, each counted as at least :data:`SPURIOUS_FLOOR` of the transform's scale (where the entries carry none:
    1 where both are 0, infinity where only the untransformed one is)."""
    on_task, on_plain = effective_ranges(transformed), effective_ranges(untransformed)
    known = {**scales(untransformed), **scales(transformed)}
    truth = None if truth is None else truth.matching(transformed)
    ratios = {}
    for name in sorted(set(on_task) | set(on_plain)):
        if truth is not None and name in truth.names:
            continue
        floor = SPURIOUS_FLOOR * known.get(name, 0.0)
        task, plain = max(on_task.get(name, 0.0), floor), max(on_plain.get(name, 0.0), floor)
        ratios[name] = task / plain if plain > 0 else (1.0 if task == 0 else math.inf)
    return ratios
