"""The objectives: the published reward exactly as before, and the marginal likelihood's two losses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from invlearn import Independent, laplace
from invlearn.losses import regularized_loss
from invlearn.objectives import OBJECTIVES, MarginalLikelihood, RewardPenalty
from tests.conftest import make_augmentation, seeded
from tests.learners import TinyImageTrunk


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
    loss = objective.hyper_loss(model, x, y, 40, seeded(1))
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
    ],
)
def test_bad_settings_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_the_registry_names_both():
    assert OBJECTIVES == {"reward": RewardPenalty, "marglik": MarginalLikelihood}


@pytest.mark.parametrize("family", ["augnet", "augerino", "independent"])
def test_the_marginal_likelihood_trains_every_family(family):
    """Each family's augmentation parameters (AugNet's weights and magnitudes, Augerino's widths, independent
    ranges) get a finite gradient from the hyper-step, and none is left to the weight optimiser."""
    from invlearn import Augerino, AugmentationLayer, AugNet, UniformLieAffine

    torch.manual_seed(0)
    trunk = TinyImageTrunk()
    candidates = [make_augmentation("rotate", 0.3), make_augmentation("translate_x", 0.2)]
    model = {
        "augnet": lambda: AugNet(trunk, AugmentationLayer(candidates)),
        "augerino": lambda: Augerino(trunk, UniformLieAffine(init_width=0.3)),
        "independent": lambda: Independent(trunk, candidates),
    }[family]()
    objective = MarginalLikelihood(copies=2)
    x, y = torch.rand(6, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    parameters = objective.hyper_parameters(model)
    grads = torch.autograd.grad(objective.hyper_loss(model, x, y, 60, seeded(0)), parameters)
    assert all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads[:-1])  # the augmentation itself moves
    assert {id(p) for p in model.augmentation.parameters()} <= {id(p) for p in parameters}
