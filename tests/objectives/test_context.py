"""The hyper-step's context: the virtual step is the optimizer's own step, exactly and differentiably; the
training loss is computed once; an objective's gradients reach its parameters through hyper_backward."""

from __future__ import annotations

import copy

import pytest
import torch

from invlearn import Independent
from invlearn.objectives import HeldOut, HyperStep, Unrolled, virtual_step
from tests.conftest import make_augmentation, make_input, seeded

OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd-momentum-decay": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=2e-4),
    "sgd-nesterov-dampening": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "adam-l2": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-2),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}


def _quadratic_grads(parameters):
    return [2 * p * torch.arange(1, p.numel() + 1, dtype=p.dtype).view_as(p) + 0.3 for p in parameters]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_virtual_step_is_the_optimizers_step_from_its_live_state(name):
    torch.manual_seed(0)
    parameters = [torch.randn(3, 2, dtype=torch.float64, requires_grad=True), torch.randn(4, dtype=torch.float64)]
    parameters[1].requires_grad_(True)
    optimizer = OPTIMIZERS[name](parameters)
    for _ in range(3):  # some state: momentum buffers, moments, a step count
        for p, g in zip(parameters, _quadratic_grads(parameters), strict=True):
            p.grad = g.detach()
        optimizer.step()
    grads = [g.detach() for g in _quadratic_grads(parameters)]
    before = copy.deepcopy(optimizer.state_dict())
    moved = virtual_step(optimizer, parameters, grads)
    assert str(optimizer.state_dict()) == str(before)  # its state untouched
    for p, g in zip(parameters, grads, strict=True):
        p.grad = g
    optimizer.step()
    for virtual, real in zip(moved, parameters, strict=True):
        assert torch.allclose(virtual, real, rtol=1e-12, atol=1e-14)


def test_the_virtual_step_follows_a_schedules_live_learning_rate():
    weight = torch.ones(2, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=1.0)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    optimizer.step()  # no gradient: nothing moves
    schedule.step()
    (moved,) = virtual_step(optimizer, [weight], [torch.ones(2)])
    assert torch.equal(moved, torch.full((2,), 0.5))


def test_the_virtual_step_refuses_what_it_cannot_step_exactly():
    weight = torch.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="steps SGD, Adam and AdamW, not RMSprop"):
        virtual_step(torch.optim.RMSprop([weight]), [weight], [torch.ones(2)])
    with pytest.raises(TypeError, match="amsgrad"):
        virtual_step(torch.optim.Adam([weight], amsgrad=True), [weight], [torch.ones(2)])
    with pytest.raises(ValueError, match="not in the optimizer"):
        virtual_step(torch.optim.SGD([torch.ones(1, requires_grad=True)]), [weight], [torch.ones(2)])


def _unrolled_case():
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 3)).double()
    model = Independent(trunk, [make_augmentation("brightness", 0.4)]).double()
    x, y = make_input("image", torch.float64, batch=6), torch.tensor([0, 1, 2, 0, 1, 2])
    objective = Unrolled(batch_size=4)  # step=None: the optimizer's own step
    objective.hold_out(make_input("image", torch.float64, batch=4, seed=1), torch.tensor([2, 1, 0, 1]), seed=0)
    weights = torch.optim.SGD(trunk.parameters(), lr=0.3, momentum=0.9, weight_decay=0.01)
    for _ in range(2):
        weights.zero_grad()
        objective.weights_loss(model, model(x, generator=seeded(3)), y, 6).backward()
        weights.step()
    return model, objective, weights, x, y


def test_the_unrolled_objective_steps_with_the_live_optimizer_and_its_gradient_is_exact():
    model, objective, weights, x, y = _unrolled_case()
    magnitude = model.augmentation.candidates[0].strength_parameter

    def loss() -> torch.Tensor:
        objective.hold_out(*objective._held_out, seed=0)  # the same held-out batch each time
        return objective.hyper_loss(HyperStep(model, x, y, 6, seeded(0), weights))

    (grad,) = torch.autograd.grad(loss(), [magnitude])
    eps, values = 1e-6, []
    for shift in (eps, -2 * eps, eps):
        with torch.no_grad():
            magnitude += shift
        values.append(float(loss().detach()))
    up, down = values[:2]
    assert float(grad) == pytest.approx(float((up - down) / (2 * eps)), rel=1e-5, abs=1e-9)
    stepped = copy.deepcopy(model)  # the loss is the held-out loss after the optimizer's real step
    real = torch.optim.SGD(stepped.trunk.parameters(), lr=0.3, momentum=0.9, weight_decay=0.01)
    real.load_state_dict(copy.deepcopy(weights.state_dict()))  # its buffers, not shared
    real.zero_grad()
    output, target = stepped.training_outputs(x, y, seeded(0))
    objective.weights_loss(stepped, output, target, 6).backward()
    real.step()
    (held_x, held_y), rows = objective._held_out, torch.randperm(4, generator=seeded(0))
    clean = torch.nn.functional.cross_entropy(stepped.trunk(held_x[rows]), held_y[rows])
    assert float(loss().detach()) == pytest.approx(float(clean.detach()), rel=1e-10)


def test_without_an_optimizer_the_unrolled_objective_says_what_it_needs():
    model, objective, _, x, y = _unrolled_case()
    with pytest.raises(RuntimeError, match=r"give HyperStep\(optimizer=\)"):
        objective.hyper_loss(HyperStep(model, x, y, 6, seeded(0)))


def test_the_training_loss_is_drawn_once():
    model, objective, _, x, y = _unrolled_case()
    step = HyperStep(model, x, y, 6, seeded(0))
    assert step.training_loss(objective.weights_loss) is step.training_loss(objective.weights_loss)


def test_hyper_backward_accumulates_the_gradients_of_the_hyper_loss():
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 2)).double()
    model = Independent(trunk, [make_augmentation("brightness", 0.4)]).double()
    objective = HeldOut(batch_size=2, copies=2, occam="none")
    objective.hold_out(make_input("image", torch.float64, batch=2, seed=1), torch.tensor([1, 0]), seed=0)
    x, y = make_input("image", torch.float64, batch=2), torch.tensor([0, 1])
    value = objective.hyper_backward(HyperStep(model, x, y, 10, seeded(0)))
    parameters = objective.hyper_parameters(model)
    objective.hold_out(*objective._held_out, seed=0)
    loss = objective.hyper_loss(HyperStep(model, x, y, 10, seeded(0)))
    assert value == pytest.approx(float(loss.detach()))
    for parameter, grad in zip(parameters, torch.autograd.grad(loss, parameters), strict=True):
        assert torch.allclose(parameter.grad, grad)
