"""The one-standard-error rule: the paired gap and its error, the best ranges and the dual variable, and the held-out
objective's constrained step against an exact reference."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import Independent
from invlearn.objectives import HeldOut, HyperStep
from invlearn.objectives.tolerance import Tolerance, paired_gap
from tests.conftest import make_augmentation, make_input, seeded


def test_the_gap_is_the_mean_paired_difference_and_its_standard_error():
    current, reference = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0.5, 2.0, 3.0])
    gap, se = paired_gap(current, reference)
    assert gap == pytest.approx(0.5) and se == pytest.approx(float(torch.tensor([0.5, 0.0, 1.0]).std()) / math.sqrt(3))
    assert paired_gap(current + 7, reference + 7) == pytest.approx((gap, se))  # each unit's level cancels
    assert paired_gap(torch.tensor([1.0]), torch.tensor([0.0])) == (1.0, 0.0)


def _model(magnitude: float = 0.4) -> Independent:
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 3)).double()
    return Independent(trunk, [make_augmentation("brightness", magnitude)]).double()


def test_the_best_ranges_move_only_to_better_ones_and_the_dual_follows_the_violation():
    model, tolerance = _model(), Tolerance(dual_lr=0.5, floor=0.0, memory=1.0)
    magnitude = model.augmentation.candidates[0]._magnitude
    assert tolerance.update(model, gap=0.0, se=0.0, best_nll=1.0) == 0.0 and float(
        tolerance.best["candidates.0._magnitude"]
    ) == pytest.approx(0.4)
    with torch.no_grad():
        magnitude.fill_(0.7)
    assert tolerance.update(model, gap=0.3, se=0.1, best_nll=1.0) == 0.5  # over by 2 standard errors: clipped to 1
    assert float(tolerance.best["candidates.0._magnitude"]) == pytest.approx(0.4)  # worse ranges never become the best
    assert tolerance.update(model, gap=0.15, se=0.1, best_nll=1.0) == 0.75  # half a standard error over
    assert tolerance.update(model, gap=0.05, se=0.1, best_nll=1.0) == 0.5  # within: it falls
    with tolerance.at_best(model):
        assert float(magnitude.detach()) == pytest.approx(0.4)
    assert float(magnitude.detach()) == pytest.approx(0.7)  # restored
    assert tolerance.update(model, gap=-0.01, se=0.1, best_nll=1.0) == 0.0  # better: the new best, never below 0
    assert float(tolerance.best["candidates.0._magnitude"]) == pytest.approx(0.7)
    again = Tolerance(dual_lr=0.5)
    again.load(tolerance.state())
    assert again.dual == tolerance.dual and torch.equal(again.best["candidates.0._magnitude"], magnitude.detach())


def test_the_tolerance_has_a_floor_relative_to_the_best_score_and_the_dual_forgets():
    model = _model()
    floored = Tolerance(dual_lr=1.0, floor=0.05, memory=1.0)
    floored.update(model, gap=0.0, se=0.0, best_nll=2.0)
    # a saturated score: the paired error is tiny, the floor (5 % of the best NLL, 0.1) decides
    assert floored.update(model, gap=0.15, se=1e-6, best_nll=2.0) == pytest.approx(0.5)
    assert floored.update(model, gap=0.15, se=0.3, best_nll=2.0) == pytest.approx(0.0)  # a larger error wins
    forgetting = Tolerance(dual_lr=1.0, floor=0.0, memory=0.9)
    forgetting.update(model, gap=0.0, se=0.0, best_nll=1.0)
    assert forgetting.update(model, gap=0.3, se=0.1, best_nll=1.0) == pytest.approx(1.0)
    assert forgetting.update(model, gap=0.1, se=0.1, best_nll=1.0) == pytest.approx(0.9)  # on the edge: it decays


def _objective(model):
    objective = HeldOut(copies=3, batch_size=4, occam="tolerance")
    objective.hold_out(make_input("image", torch.float64, batch=6, seed=1), torch.tensor([2, 1, 0, 1, 0, 2]), seed=0)
    return objective


def test_the_constrained_step_is_the_gradient_of_dual_times_the_fixed_parts_nll_minus_the_extent():
    model = _model()
    objective = _objective(model)
    x, y = make_input("image", torch.float64, batch=2), torch.tensor([0, 1])
    objective._tolerance.dual = 2.0  # as after a violated constraint
    objective._tolerance.best = {"candidates.0._magnitude": torch.tensor(0.2, dtype=torch.float64)}
    value, (grad,) = objective.hyper_gradients(HyperStep(model, x, y, 10, seeded(3)))
    dual = objective.hyper_values()["dual"]
    rows = torch.randperm(6, generator=seeded(0))[:4]  # the fixed part: the first batch_size of the seed's order
    units_x, units_y = objective._held_out[0][rows], objective._held_out[1][rows]
    magnitude = model.augmentation.candidates[0]._magnitude

    def lagrangian():
        draw = model.draw(units_x, 3, seeded(3))
        log_p = torch.log_softmax(model.predict(units_x, 3, draw=draw), dim=1)
        fit = -log_p[torch.arange(4), units_y].mean()
        return dual * fit - model.extent(), fit

    reference, fit = lagrangian()
    assert value == pytest.approx(float(fit.detach()), rel=1e-12)
    assert float(grad) == pytest.approx(float(torch.autograd.grad(reference, [magnitude])[0]), rel=1e-10)
    eps = 1e-6
    with torch.no_grad():
        magnitude += eps
    up = float(lagrangian()[0].detach())
    with torch.no_grad():
        magnitude -= 2 * eps
    down = float(lagrangian()[0].detach())
    assert float(grad) == pytest.approx((up - down) / (2 * eps), rel=1e-6)


def test_with_the_constraint_met_every_range_widens_and_the_state_survives_a_checkpoint():
    model = _model()
    objective = _objective(model)
    x, y = make_input("image", torch.float64, batch=2), torch.tensor([0, 1])
    _, (grad,) = objective.hyper_gradients(HyperStep(model, x, y, 10, seeded(3)))
    assert objective.hyper_values()["dual"] == 0.0 and float(grad) == pytest.approx(-1.0)  # -d extent / d magnitude
    restored = _objective(_model())
    restored.load_state_dict(objective.state_dict())
    assert restored._tolerance.state()["dual"] == 0.0
    assert torch.equal(
        restored._tolerance.best["candidates.0._magnitude"], objective._tolerance.best["candidates.0._magnitude"]
    )
    with pytest.raises(TypeError, match="constrained step"):
        objective.hyper_loss(HyperStep(model, x, y, 10, seeded(3)))


def test_with_groups_the_units_are_the_groups():
    current, reference = torch.tensor([1.0, 3.0, 0.0, 0.0, 2.0]), torch.zeros(5)
    gap, se = paired_gap(current, reference, groups=torch.tensor([7, 7, 2, 2, 9]))
    means = torch.tensor([0.0, 2.0, 2.0], dtype=torch.float64)  # groups 2, 7, 9
    assert gap == pytest.approx(float(means.mean())) and se == pytest.approx(float(means.std() / math.sqrt(3)))
