"""The likelihoods of regression and segmentation, and the marginal likelihood built on them, against exact
computations in float64: negative log-likelihoods against torch.distributions, the Gaussian's KFAC log-det
against the explicit Gauss-Newton, sampled output-gradient factors against their exact expectation, and the
objective's gradient (augmentation, prior precision, noise) against finite differences."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invlearn import augmentations
from invlearn.families.independent import IndependentCandidates
from invlearn.models import Independent
from invlearn.objectives import HyperStep, MarginalLikelihood, RewardPenalty, laplace
from invlearn.objectives.likelihoods import Categorical, Gaussian


def _model(trunk: nn.Module, names=("rotate",), equivariant=False, aggregate="mean") -> Independent:
    candidates = IndependentCandidates([augmentations.create(n, magnitude=0.4) for n in names])
    return Independent(trunk, candidates, n_copies_train=1, aggregate=aggregate, equivariant=equivariant).double()


def test_the_gaussian_nll_is_the_normal_log_density_per_example():
    output, target = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    likelihood = Gaussian(noise_std=0.7).double()
    expected = -torch.distributions.Normal(output, 0.7).log_prob(target).sum() / 5
    assert torch.allclose(likelihood.nll(output, target), expected)
    one = Gaussian(0.7).double().nll(output[:, :1], target[:, 0])  # (B,) targets of a single output
    assert torch.allclose(one, -torch.distributions.Normal(output[:, 0], 0.7).log_prob(target[:, 0]).mean())
    assert torch.allclose(likelihood.loss(output, target), (output - target).square().mean())


def test_the_dense_categorical_nll_sums_over_pixels():
    logits, target = torch.randn(3, 4, 5, 6), torch.randint(0, 4, (3, 5, 6))
    per_pixel = -torch.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    assert torch.allclose(Categorical().nll(logits, target), per_pixel.sum() / 3)
    assert torch.allclose(Categorical().loss(logits, target), per_pixel.mean())
    with pytest.raises(ValueError, match="labels='exact' needs one class per example"):
        Categorical().curvature_terms(logits, "exact", None)


def test_one_linear_layer_and_one_example_gaussian_kfac_is_the_exact_ggn():
    """For a regression the Gauss-Newton is J^T J / sigma^2; KFAC with exact labels equals it for one layer and one
    example, and so does the gradient of its log-det w.r.t. a magnitude and the noise."""
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    model = _model(trunk)
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    likelihood = Gaussian(0.6).double()
    layer = trunk[1]
    n_data, delta = 30, torch.tensor(0.5, dtype=torch.float64)

    def output_of(weight, bias):
        inputs = model.augment(x, 3, torch.Generator().manual_seed(7))
        out = torch.func.functional_call(trunk, {"1.weight": weight, "1.bias": bias}, (inputs,))
        return out.view(3, 1, -1).mean(dim=0)[0]

    jac = torch.autograd.functional.jacobian(output_of, (layer.weight, layer.bias), create_graph=True)
    jac = torch.cat([j.flatten(1) for j in jac], dim=1)  # (2, P), weights row-major then bias
    ggn = jac.T @ jac / likelihood.noise_std**2
    exact = torch.logdet(n_data * ggn + delta * torch.eye(ggn.shape[0], dtype=torch.float64))
    _, factors = laplace.kfac_factors(
        trunk, lambda: model.predict(x, 3, torch.Generator().manual_seed(7)), 3, [layer], "exact", None, likelihood
    )
    kfac = laplace.kfac_log_det(factors[0], n_data, delta)
    assert torch.allclose(kfac, exact, rtol=1e-9)
    hyper = [model.augmentation.candidates[0]._magnitude, likelihood.log_noise_std]
    for got, want in zip(torch.autograd.grad(kfac, hyper), torch.autograd.grad(exact, hyper), strict=True):
        assert torch.allclose(got, want, rtol=1e-7, atol=1e-10) and want.abs() > 1e-6


def _finite_differences(objective, model, x, y, seed=5):
    parameters = objective.hyper_parameters(model)

    def loss():
        return objective.hyper_loss(HyperStep(model, x, y, 100, torch.Generator().manual_seed(seed)))

    pairs = []
    for parameter, grad in zip(parameters, torch.autograd.grad(loss(), parameters), strict=True):
        with torch.no_grad():
            parameter += 1e-6
            up = loss()
            parameter -= 2e-6
            down = loss()
            parameter += 1e-6
        pairs.append((grad, (up - down) / 2e-6))
    return pairs


def test_the_regression_objective_gradient_matches_finite_differences():
    torch.manual_seed(1)
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(36, 5), nn.Tanh(), nn.Linear(5, 1))
    model = _model(trunk, names=("rotate", "translate_x"))
    objective = MarginalLikelihood(prior_precision=0.7, copies=2, labels="exact", likelihood=Gaussian(0.8)).double()
    x, y = torch.rand(4, 1, 6, 6, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    pairs = _finite_differences(objective, model, x, y)
    assert len(pairs) == 4  # two magnitudes, the prior precision, the noise
    assert all(torch.allclose(g, fd, rtol=1e-5, atol=1e-7) for g, fd in pairs)
    assert objective.hyper_values()["noise_std"] == pytest.approx(0.8)


class PixelwiseExpectation(Categorical):
    """The exact expectation of the per-pixel sampled factor, ``sum_p sum_k p_pk g_pk g_pk^T`` (one backward pass
    per pixel and class: for tiny outputs only). A sampled label's gradient estimate is unbiased but differs from
    the derivative of one draw, so finite differences need this deterministic factor."""

    def curvature_terms(self, output, labels, generator):
        log_p = torch.log_softmax(output, dim=1).flatten(2)
        return [
            (-log_p[:, k, i].sum(), (log_p[:, k, i] / 2).exp())
            for i in range(log_p.shape[2])
            for k in range(log_p.shape[1])
        ]


def test_the_equivariant_segmentation_objective_gradient_matches_finite_differences():
    """Per-pixel classes, each copy's log-probabilities moved back by the inverse of its warp before averaging."""
    torch.manual_seed(2)
    trunk = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh(), nn.Conv2d(3, 3, 1))
    model = _model(trunk, names=("rotate", "scale"), equivariant=True, aggregate="log_softmax")
    objective = MarginalLikelihood(prior_precision=0.7, copies=2, likelihood=PixelwiseExpectation()).double()
    x, y = torch.rand(2, 1, 6, 6, dtype=torch.float64), torch.randint(0, 3, (2, 6, 6))
    pairs = _finite_differences(objective, model, x, y)
    assert len(pairs) == 3 and all(torch.allclose(g, fd, rtol=1e-5, atol=1e-7) for g, fd in pairs)


def _trace_and_gradient(factors, magnitude):
    trace = factors[0].G.trace()
    return trace.detach(), torch.autograd.grad(trace, magnitude)[0]


def test_sampled_gaussian_factors_are_the_exact_ones_in_expectation():
    torch.manual_seed(3)
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Tanh(), nn.Linear(4, 3))
    model = _model(trunk)
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64).repeat(20000, 1, 1, 1)
    magnitude = model.augmentation.candidates[0]._magnitude
    likelihood = Gaussian(0.5).double()
    traces = {}
    for labels in ("sampled", "exact"):
        generator = torch.Generator().manual_seed(0)
        _, factors = laplace.kfac_factors(
            trunk, lambda g=generator: model.predict(x, 1, g), 1, laplace.kfac_layers(trunk), labels, generator,
            likelihood,
        )  # fmt: skip
        traces[labels] = _trace_and_gradient(factors, magnitude)
    for sampled, exact in zip(traces["sampled"], traces["exact"], strict=True):
        assert torch.allclose(sampled, exact, rtol=0.05)


def test_sampled_labels_per_pixel_give_the_summed_pixel_factor_in_expectation():
    """With one label drawn per pixel, independently, the expected output-gradient factor of an example is
    ``sum_p sum_k p_pk g_pk g_pk^T`` (cross terms between pixels vanish): :class:`PixelwiseExpectation`, against
    the average of 4,000 draws (the same rotation in each)."""
    torch.manual_seed(4)
    trunk = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.Conv2d(2, 3, 1))
    model = _model(trunk, equivariant=True, aggregate="log_softmax")
    x = torch.rand(1, 1, 3, 3, dtype=torch.float64)
    head = trunk[2]
    generator = torch.Generator().manual_seed(0)
    rows = []
    for _ in range(4000):
        forward = lambda: model.predict(x, 1, torch.Generator().manual_seed(0))  # noqa: E731  (one rotation)
        _, factors = laplace.kfac_factors(trunk, forward, 1, [head], "sampled", generator)
        rows.append(factors[0].g.detach())
    sampled = torch.cat(rows).T @ torch.cat(rows) / 4000

    _, factors = laplace.kfac_factors(
        trunk, lambda: model.predict(x, 1, torch.Generator().manual_seed(0)), 1, [head], "exact", None,
        PixelwiseExpectation(),
    )  # fmt: skip
    exact = factors[0].G.detach()
    assert torch.allclose(sampled, exact, rtol=0.05, atol=1e-3 * exact.abs().max())


def test_the_reward_objective_uses_the_likelihoods_conventional_loss():
    model = _model(nn.Sequential(nn.Flatten(), nn.Linear(16, 1)))
    output, target = torch.randn(4, 1, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    objective = RewardPenalty(0.0, likelihood=Gaussian())
    assert torch.allclose(objective.weights_loss(model, output, target, 10), (output[:, 0] - target).square().mean())
    with pytest.raises(TypeError, match="likelihood must be"):
        MarginalLikelihood(likelihood="gaussian")
