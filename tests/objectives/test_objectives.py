"""The objectives: the published reward exactly as before, the marginal likelihood's two losses, DADA's unrolled
hypergradient."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from invlearn import Independent
from invlearn.objectives import OBJECTIVES, HeldOut, HyperStep, MarginalLikelihood, RewardPenalty, Unrolled, laplace
from invlearn.objectives.likelihoods import Gaussian
from invlearn.objectives.reward import regularized_loss
from tests.conftest import make_augmentation, make_input, seeded
from tests.learners import FAMILIES, TinyImageTrunk, family_model, hypergradient_and_finite_difference


def _model():
    torch.manual_seed(0)
    return Independent(TinyImageTrunk(), [make_augmentation("rotate", 0.3), make_augmentation("scale", 0.2)])


def test_the_reward_objective_is_the_published_regularised_loss():
    model = _model()
    x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    output = model(x, generator=seeded(0))
    objective = RewardPenalty(0.3)
    assert torch.equal(objective.weights_loss(model, output, y, 100), regularized_loss(output, y, model, 0.3))
    assert objective.augmentation_with_weights and objective.hyper_parameters(model) == []
    assert not any(objective.hyper_step_due(epoch, step) for epoch in range(3) for step in range(1, 5))


def test_marginal_likelihood_weights_train_on_the_map_loss():
    model, objective = _model(), MarginalLikelihood(prior_precision=3.0)
    x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    output = model(x, generator=seeded(0))
    norm = sum(p.square().sum() for m in (model.trunk.conv, model.trunk.head) for p in m.parameters())
    expected = F.cross_entropy(output, y) + 3.0 / (2 * 50) * norm
    assert torch.allclose(objective.weights_loss(model, output, y, 50), expected)


def test_marginal_likelihood_updates_the_augmentation_and_the_prior_apart_after_its_burn_in():
    model, objective = _model(), MarginalLikelihood(every_n_steps=3, burn_in_epochs=2)
    assert not objective.augmentation_with_weights
    hyper = objective.hyper_parameters(model)
    assert {id(p) for p in hyper} == {id(p) for p in model.augmentation.parameters()} | {
        id(objective.log_prior_precision)
    }
    assert [objective.hyper_step_due(1, s) for s in (3, 6)] == [False, False]
    assert [objective.hyper_step_due(2, s) for s in (1, 2, 3, 4, 5, 6)] == [False, False, True, False, False, True]


def test_the_hyper_loss_is_minus_the_log_marginal_likelihood_per_example():
    model, objective = _model(), MarginalLikelihood(prior_precision=2.0, copies=3, labels="exact")
    x, y = torch.rand(5, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1])
    loss = objective.hyper_loss(HyperStep(model, x, y, 40, seeded(1)))
    layers = laplace.kfac_layers(model.trunk)
    logits, factors = laplace.kfac_factors(
        model.trunk, lambda: model.predict(x, 3, seeded(1)), 3, layers, "exact", seeded(1)
    )
    delta = torch.tensor(2.0)
    expected = -laplace.log_marginal_likelihood(F.cross_entropy(logits, y), factors, layers, 40, delta) / 40
    assert torch.allclose(loss, expected)
    grads = torch.autograd.grad(loss, objective.hyper_parameters(model), allow_unused=True)
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert objective.hyper_values() == {"prior_precision": pytest.approx(2.0)}


def test_the_prior_terms_of_the_log_marginal_likelihood():
    """With zero curvature the Occam term is P log(delta), so the P/2 log(delta) of the prior cancels it."""
    layers = [torch.nn.Linear(2, 3)]
    factors = [laplace.Factors(torch.zeros(5, 3), torch.zeros(5, 3), 5)]  # 5 examples, no curvature
    delta = torch.tensor(4.0)
    value = laplace.log_marginal_likelihood(torch.tensor(0.5), factors, layers, 10, delta)
    theta = sum(p.square().sum() for p in layers[0].parameters())
    assert torch.allclose(value, -10 * 0.5 - 2.0 * theta + 9 / 2 * math.log(4.0) - 9 / 2 * math.log(4.0))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: RewardPenalty(-1.0), "lam"),
        (lambda: MarginalLikelihood(prior_precision=0.0), "prior_precision"),
        (lambda: MarginalLikelihood(copies=0), "copies"),
        (lambda: MarginalLikelihood(labels="all"), "labels"),
        (lambda: MarginalLikelihood(layers="first"), "layers"),
        (lambda: Unrolled(lr=0.0), "lr"),
        (lambda: Unrolled(step=-1.0), "step"),
        (lambda: Unrolled(batch_size=0), "batch_size"),
        (lambda: Unrolled().hold_out(torch.zeros(0, 3), torch.zeros(0), 0), "held-out"),
        (lambda: RewardPenalty().hold_out(torch.zeros(2, 3), torch.zeros(2), 0), "holds no examples"),
    ],
)
def test_bad_settings_are_refused(build, message):
    with pytest.raises((TypeError, ValueError), match=message):
        build()


def test_the_registry_holds_the_shipped_objectives_under_their_config_names():
    shipped = {"reward": RewardPenalty, "marglik": MarginalLikelihood, "heldout": HeldOut, "unrolled": Unrolled}
    assert shipped.items() <= OBJECTIVES.items()  # a new one is added, none renamed


@pytest.mark.parametrize("family", FAMILIES)
def test_the_marginal_likelihood_trains_every_family(family):
    """Each family's augmentation parameters (AugNet's weights and magnitudes, Augerino's widths, independent
    ranges) get a finite gradient from the hyper-step, and none is left to the weight optimiser."""
    model = family_model(family)
    objective = MarginalLikelihood(copies=2)
    x, y = torch.rand(6, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    parameters = objective.hyper_parameters(model)
    grads = torch.autograd.grad(objective.hyper_loss(HyperStep(model, x, y, 60, seeded(0))), parameters)
    assert all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads[:-1])  # the augmentation itself moves
    assert {id(p) for p in model.augmentation.parameters()} <= {id(p) for p in parameters}


def _unrolled_case():
    """A float64 linear trunk behind one brightness range, DADA's objective and its held-out batch."""
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 3)).double()
    model = Independent(trunk, [make_augmentation("brightness", 0.4)]).double()
    x, y = make_input("image", torch.float64, batch=6), torch.tensor([0, 1, 2, 0, 1, 2])
    held = make_input("image", torch.float64, batch=4, seed=1), torch.tensor([2, 1, 0, 1])
    return model, Unrolled(step=0.5, batch_size=4), x, y, held


def test_the_unrolled_loss_is_the_held_out_loss_after_one_gradient_step():
    model, objective, x, y, held = _unrolled_case()
    objective.hold_out(*held, seed=0)
    loss = objective.hyper_loss(HyperStep(model, x, y, 6, seeded(0)))
    stepped = copy.deepcopy(model)
    optimizer = torch.optim.SGD(stepped.trunk.parameters(), lr=0.5)
    F.nll_loss(stepped.training_outputs(x, y, seeded(0))[0], y).backward()
    optimizer.step()
    reference = F.cross_entropy(stepped.trunk(held[0]), held[1])
    assert float(loss.detach()) == pytest.approx(float(reference.detach()), rel=1e-10)


def test_the_unrolled_hypergradient_matches_finite_differences():
    model, objective, x, y, held = _unrolled_case()
    grad, numerical = hypergradient_and_finite_difference(model, objective, held, x, y, 6)
    assert abs(grad) > 1e-6 and grad == pytest.approx(numerical, rel=1e-5)
    assert objective.hyper_parameters(model) == [model.augmentation.candidates[0]._magnitude]


def test_the_held_out_batches_cover_the_set_once_per_epoch_then_reshuffle():
    objective = Unrolled(batch_size=3)
    inputs, targets = torch.arange(7.0)[:, None], torch.arange(7)
    with pytest.raises(RuntimeError, match="held-out"):
        objective.held_out_batch(torch.device("cpu"))
    objective.hold_out(inputs, targets, seed=0)
    first = torch.cat([objective.held_out_batch(torch.device("cpu"))[1] for _ in range(3)])
    second = torch.cat([objective.held_out_batch(torch.device("cpu"))[1] for _ in range(3)])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(7))
    assert not torch.equal(first, second)
    objective.hold_out(inputs, targets, seed=0)
    assert torch.equal(torch.cat([objective.held_out_batch(torch.device("cpu"))[1] for _ in range(3)]), first)


IMAGES, LABELS = torch.rand(4, 1, 6, 6), torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize(
    "objective, inputs, targets, extra, error, message",
    [
        (HeldOut, IMAGES.long(), LABELS, {}, TypeError, "held-out inputs must be a floating-point tensor"),
        (HeldOut, torch.rand(4), LABELS, {}, ValueError, r"held-out inputs must be \(N, ...\) examples"),
        (HeldOut, IMAGES.clone().fill_(math.nan), LABELS, {}, ValueError, "held-out inputs contains NaN"),
        (HeldOut, IMAGES, LABELS.tolist(), {}, TypeError, "held-out targets must be a torch.Tensor"),
        (HeldOut, IMAGES, LABELS.float(), {}, TypeError, "held-out targets must be class indices"),
        (HeldOut, IMAGES, LABELS[:, None], {}, ValueError, r"must be \(B,\) or \(B, H, W\) class indices"),
        (HeldOut, IMAGES, -LABELS, {}, ValueError, "must be class indices >= 0"),
        (HeldOut, IMAGES, LABELS, {"classes": 2}, ValueError, "must be class indices below 2, got 2"),
        (Unrolled, IMAGES, LABELS, {"classes": 2}, ValueError, "must be class indices below 2, got 2"),
        (HeldOut, IMAGES, LABELS, {"seed": 0.5}, TypeError, "seed must be an integer"),
        (
            lambda: HeldOut(likelihood=Gaussian()), IMAGES, LABELS, {}, TypeError,
            "held-out targets must be real-valued targets",
        ),
        (lambda: HeldOut(likelihood=Gaussian()), IMAGES, torch.full((4,), math.inf), {}, ValueError, "NaN or infinite"),
    ],
)  # fmt: skip
def test_held_out_data_is_checked_when_it_is_held_out(objective, inputs, targets, extra, error, message):
    with pytest.raises(error, match=message):
        objective().hold_out(inputs, targets, **{"seed": 0, **extra})


def test_restoring_a_state_and_holding_out_data_give_the_same_run_in_either_order():
    inputs, targets = torch.arange(7.0)[:, None], torch.arange(7)
    trained = Unrolled(batch_size=3)
    trained.hold_out(inputs, targets, seed=0)
    trained.held_out_batch(torch.device("cpu"))  # one batch into the pass
    state = trained.state_dict()
    expected = trained.held_out_batch(torch.device("cpu"))[1]
    first, second = Unrolled(batch_size=3), Unrolled(batch_size=3)
    first.load_state_dict(state)
    first.hold_out(inputs, targets, seed=0)
    second.hold_out(inputs, targets, seed=0)
    second.load_state_dict(state)
    for resumed in (first, second):
        assert torch.equal(resumed.held_out_batch(torch.device("cpu"))[1], expected)


@pytest.mark.parametrize("objective", [MarginalLikelihood, HeldOut])
@pytest.mark.parametrize("copies", [0, 10**12])
def test_copy_counts_are_bounded(objective, copies):
    with pytest.raises(ValueError, match="copies must be"):
        objective(copies=copies)
