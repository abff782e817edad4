"""The identification metric on synthetic ``learned_invariances()``: a right pick passes, a wrong pick fails,
a learner that grows every range without bound fails."""

from __future__ import annotations

import math

import pytest

from invlearn.metrics.identification import Truth, effective_ranges, recovered, selected, spurious_ratios

ROTATION = Truth(("rotate",), math.pi / 4, "rad")
CIRCLE = Truth(("rotate",), math.pi, "rad")
SHIFT = Truth(("translate_x", "translate_y"), 8 / 28, "fraction of the size")


def entry(high: float, weight: float | None = None, low: float | None = None) -> dict:
    return {"weight": weight, "magnitude": None, "low": -high if low is None else low, "high": high, "unit": ""}


def augnet(**ranges: tuple[float, float]) -> dict:
    """One AugNet layer: ``name=(high, weight)``."""
    return {f"0.{name}": entry(high, weight) for name, (high, weight) in ranges.items()}


def test_the_right_pick_is_recovered():
    learned = augnet(rotate=(0.80, 0.99), shear_x=(0.10, 0.005), translate_x=(0.10, 0.005))
    assert effective_ranges(learned)["rotate"] == pytest.approx(0.792)
    assert recovered(learned, ROTATION)


def test_a_wrong_pick_is_not_recovered():
    learned = augnet(rotate=(0.80, 0.0), shear_y=(0.18, 1.0))  # the weight went to shear
    assert not recovered(learned, ROTATION)


def test_growing_every_range_without_bound_is_not_recovered():
    augerino = {name: entry(50.0) for name in ("translate_x", "translate_y", "rotate", "scale", "stretch", "shear")}
    assert not recovered(augerino, ROTATION) and not recovered(augerino, CIRCLE) and not recovered(augerino, SHIFT)


@pytest.mark.parametrize("high, expected", [(0.85 * math.pi, True), (0.75 * math.pi, False), (1.35 * math.pi, False)])
def test_the_full_circle_needs_at_least_0_8_pi(high, expected):
    assert recovered({"rotate": entry(high)}, CIRCLE) is expected


def test_stacked_layers_compose():
    stacked = {"0.rotate": entry(math.pi / 2, 1.0), "1.rotate": entry(math.pi / 2, 0.99), "1.shear_x": entry(0.3, 0.01)}
    assert effective_ranges(stacked)["rotate"] == pytest.approx(math.pi / 2 * 1.99)
    assert recovered(stacked, CIRCLE)


def test_a_shift_in_both_directions_needs_both():
    both = {"translate_x": entry(0.30), "translate_y": entry(0.27)}
    assert recovered(both, SHIFT)
    assert not recovered({"translate_x": entry(0.30), "translate_y": entry(0.05)}, SHIFT)


def test_one_sided_ranges_count_their_upper_bound():
    assert effective_ranges({"0.gaussian_noise": entry(0.1, 0.5, low=0.0)}) == {"gaussian_noise": 0.05}


def test_spurious_ratios_compare_with_the_untransformed_task():
    on_rotated = augnet(rotate=(0.8, 0.9), shear_x=(0.2, 0.1), scale=(0.0, 0.0))
    on_plain = augnet(rotate=(0.1, 0.5), shear_x=(0.1, 0.2), scale=(0.0, 0.0))
    ratios = spurious_ratios(on_rotated, on_plain, ROTATION)
    assert ratios == {"scale": 1.0, "shear_x": pytest.approx(1.0)}  # 0.02 / 0.02; rotate is the truth
    assert spurious_ratios(augnet(scale=(0.1, 1.0)), augnet(scale=(0.0, 1.0)), None) == {"scale": math.inf}


def scaled(high: float, scale: float) -> dict:
    return {**entry(high), "scale": scale}


def test_selected_needs_the_true_transform_alone_above_a_quarter_of_its_scale_at_0_7_of_the_truth():
    right = {"rotate": scaled(1.2, math.pi), "shear_x": scaled(0.07, 0.3), "translate_x": scaled(0.1, 0.45)}
    assert selected(right, ROTATION) and not recovered(right, ROTATION)  # picked, at 1.53x the truth
    assert not selected({**right, "shear_x": scaled(0.08, 0.3)}, ROTATION)  # a second one above a quarter
    assert not selected({**right, "rotate": scaled(0.5, math.pi)}, ROTATION)  # below 0.7 of the truth
    assert selected({"0.rotate": {**scaled(0.8, math.pi), "weight": 0.99}}, ROTATION)
    assert selected(right, Truth(("rotate",), 0.0, "rad", at_most=0.1)) is None  # a truth of no invariance
    assert selected({"rotate": entry(0.8)}, ROTATION) is None  # entries of older runs carry no scale


def test_spurious_ratios_count_each_range_as_at_least_a_hundredth_of_its_scale():
    ratios = spurious_ratios({"scale": scaled(0.5, 1.0)}, {"scale": scaled(0.0, 1.0)}, None)
    assert ratios == {"scale": pytest.approx(50.0)}
    assert spurious_ratios({"scale": scaled(0.001, 1.0)}, {"scale": scaled(0.0, 1.0)}, None) == {"scale": 1.0}


def test_a_truth_is_judged_under_the_naming_the_learner_uses():
    from invlearn.data.registry import get

    every_rotation = get("qm9").truth  # the three axes composed, or the one so(3) candidate
    one = {"rotate_so3": {**scaled(0.9 * math.pi, math.pi), "low": 0.0}, "translate_3d": scaled(0.05, 1.0)}
    assert every_rotation.matching(one).names == ("rotate_so3",)
    assert recovered(one, every_rotation) and selected(one, every_rotation)
    short = {**one, "rotate_so3": {**scaled(0.6 * math.pi, math.pi), "low": 0.0}}
    assert not recovered(short, every_rotation) and not selected(short, every_rotation)
    axes = {f"rotate_about_{a}": scaled(math.pi, math.pi) for a in "xyz"}
    assert every_rotation.matching(axes).names == every_rotation.names and recovered(axes, every_rotation)
    assert not recovered({**axes, "rotate_about_z": scaled(0.0, math.pi)}, every_rotation)
    assert spurious_ratios(one, {"translate_3d": scaled(0.05, 1.0)}, every_rotation) == {"translate_3d": 1.0}
