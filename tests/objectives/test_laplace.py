"""The KFAC Laplace marginal likelihood against exact computations, in float64.

Where KFAC is exact (one layer, one example, exact labels), its log-determinant and the gradient of that
log-determinant w.r.t. an augmentation magnitude equal those of the full GGN built from explicit Jacobians; the
whole objective's gradient passes a finite-difference check on a two-layer MLP and on a small CNN.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from invlearn import augmentations
from invlearn.families.independent import IndependentCandidates
from invlearn.models import Independent
from invlearn.objectives import HyperStep, MarginalLikelihood, laplace


def _model(trunk: nn.Module, names=("rotate",), magnitude=0.4) -> Independent:
    candidates = IndependentCandidates([augmentations.create(n, magnitude=magnitude) for n in names])
    return Independent(trunk, candidates, n_copies_train=3, aggregate="mean").double()


def _exact_log_det(model: Independent, x, generator_seed: int, copies: int, n_data: int, delta: float):
    """``log det(N J^T Lambda J + delta I)`` of the full GGN from explicit Jacobians (one example)."""
    params = [p for layer in laplace.kfac_layers(model.trunk) for p in layer.parameters(recurse=False)]

    def logits_of(*flat):
        offsets, values = 0, {}
        for p in params:
            values[p] = flat[0][offsets : offsets + p.numel()].view_as(p)
            offsets += p.numel()
        names = {id(p): n for n, p in model.trunk.named_parameters()}
        state = {names[id(p)]: v for p, v in values.items()}
        generator = torch.Generator().manual_seed(generator_seed)
        x_aug = model.augment(x, copies, generator)
        out = torch.func.functional_call(model.trunk, state, (x_aug,))
        return out.view(copies, x.shape[0], -1).mean(dim=0)[0]

    theta = torch.cat([p.detach().reshape(-1) for p in params])
    jac = torch.autograd.functional.jacobian(logits_of, (theta,), create_graph=True)[0]  # (K, P)
    logits = logits_of(theta)
    p = torch.softmax(logits, dim=-1)
    hessian = torch.diag(p) - torch.outer(p, p)
    ggn = jac.T @ hessian @ jac
    return torch.logdet(n_data * ggn + delta * torch.eye(ggn.shape[0], dtype=ggn.dtype))


def _kfac_log_det(model: Independent, x, generator_seed: int, copies: int, n_data: int, delta: float):
    layers = laplace.kfac_layers(model.trunk)
    generator = torch.Generator().manual_seed(generator_seed)
    _, factors = laplace.kfac_factors(
        model.trunk, lambda: model.predict(x, copies, generator), copies, layers, labels="exact"
    )
    delta = torch.tensor(delta, dtype=torch.float64)
    return sum(laplace.kfac_log_det(f, n_data, delta) for f in factors)


@pytest.mark.parametrize("bias", [True, False])
def test_one_linear_layer_and_one_example_kfac_is_the_exact_ggn_log_det_and_gradient(bias):
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 5, 3, bias=bias))
    model = _model(trunk)
    x = torch.rand(1, 2, 5, 5, dtype=torch.float64)
    magnitude = model.augmentation.candidates[0]._magnitude
    exact = _exact_log_det(model, x, 7, 3, 50, 0.5)
    (exact_grad,) = torch.autograd.grad(exact, magnitude)
    kfac = _kfac_log_det(model, x, 7, 3, 50, 0.5)
    (kfac_grad,) = torch.autograd.grad(kfac, magnitude)
    assert torch.allclose(kfac, exact, rtol=1e-9, atol=1e-9)
    assert torch.allclose(kfac_grad, exact_grad, rtol=1e-7, atol=1e-9)
    assert exact_grad.abs() > 1e-6  # the curvature depends on the augmentation


def test_one_conv_layer_at_one_position_is_exact_too():
    """A convolution whose kernel covers the whole image has one output position: KFAC is exact there."""
    torch.manual_seed(1)
    trunk = nn.Sequential(nn.Conv2d(1, 3, 4), nn.Flatten())
    model = _model(trunk, names=("rotate", "scale"))
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    magnitude = model.augmentation.candidates[1]._magnitude
    exact = _exact_log_det(model, x, 3, 2, 20, 1.5)
    kfac = _kfac_log_det(model, x, 3, 2, 20, 1.5)
    assert torch.allclose(kfac, exact, rtol=1e-9)
    (exact_grad,) = torch.autograd.grad(exact, magnitude)
    (kfac_grad,) = torch.autograd.grad(kfac, magnitude)
    assert torch.allclose(kfac_grad, exact_grad, rtol=1e-7, atol=1e-9)


def _gradients_and_finite_differences(model: Independent, x, y, labels: str):
    """Per hyper-parameter: ``(autograd gradient, central finite difference)`` of the objective."""
    objective = MarginalLikelihood(prior_precision=0.7, copies=2, labels=labels).double()
    parameters = objective.hyper_parameters(model)

    def loss():
        return objective.hyper_loss(HyperStep(model, x, y, 100, torch.Generator().manual_seed(5)))

    grads = torch.autograd.grad(loss(), parameters)
    pairs = []
    for parameter, grad in zip(parameters, grads, strict=True):
        with torch.no_grad():
            step = 1e-6
            parameter += step
            up = loss()
            parameter -= 2 * step
            down = loss()
            parameter += step
        pairs.append((grad, (up - down) / (2 * step)))
    return pairs


def test_the_objective_gradient_matches_finite_differences_on_a_two_layer_mlp():
    torch.manual_seed(2)
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(36, 5), nn.Tanh(), nn.Linear(5, 3))
    model = _model(trunk, names=("rotate", "translate_x"))
    x = torch.rand(4, 1, 6, 6, dtype=torch.float64)
    pairs = _gradients_and_finite_differences(model, x, torch.tensor([0, 1, 2, 1]), "exact")
    assert len(pairs) > 1 and all(torch.allclose(g, fd, rtol=1e-5, atol=1e-7) for g, fd in pairs)


def test_sampled_labels_give_the_exact_factor_and_its_gradient_in_expectation():
    """The sampled-label factor is an unbiased estimate of the exact one, value and gradient: over 4,000
    copies of one example (one label drawn for each) both agree with the exact expectation within 5 %."""
    torch.manual_seed(5)
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Tanh(), nn.Linear(4, 3))
    model = _model(trunk, names=("rotate",))
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64).repeat(4000, 1, 1, 1)
    magnitude = model.augmentation.candidates[0]._magnitude
    layers = laplace.kfac_layers(model.trunk)
    traces = {}
    for labels in ("sampled", "exact"):
        generator = torch.Generator().manual_seed(0)
        _, factors = laplace.kfac_factors(
            model.trunk, lambda g=generator: model.predict(x, 1, g), 1, layers, labels, generator
        )
        trace = factors[0].G.trace()
        traces[labels] = (trace.detach(), torch.autograd.grad(trace, magnitude)[0])
    assert torch.allclose(traces["sampled"][0], traces["exact"][0], rtol=0.05)
    assert torch.allclose(traces["sampled"][1], traces["exact"][1], rtol=0.05)


def test_the_objective_gradient_matches_finite_differences_on_a_small_cnn():
    torch.manual_seed(3)
    trunk = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    model = _model(trunk, names=("rotate",))
    x = torch.rand(3, 1, 6, 6, dtype=torch.float64)
    pairs = _gradients_and_finite_differences(model, x, torch.tensor([0, 2, 1]), "exact")
    assert len(pairs) > 1 and all(torch.allclose(g, fd, rtol=1e-5, atol=1e-7) for g, fd in pairs)


def test_the_objective_gradient_on_signals_matches_finite_differences():
    torch.manual_seed(4)
    trunk = nn.Sequential(nn.Conv1d(2, 3, 5), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 28, 2))

    candidates = IndependentCandidates(
        [
            augmentations.create("frequency_shift", magnitude=0.3, sfreq=10.0),
            augmentations.create("time_shift", magnitude=0.2, sfreq=10.0),
        ]
    )
    model = Independent(trunk, candidates, aggregate="mean").double()
    x = torch.randn(3, 2, 32, dtype=torch.float64)
    pairs = _gradients_and_finite_differences(model, x, torch.tensor([0, 1, 1]), "exact")
    assert len(pairs) > 1 and all(torch.allclose(g, fd, rtol=1e-5, atol=1e-7) for g, fd in pairs)


def test_a_trunk_without_linear_or_conv_layers_is_refused():
    with pytest.raises(ValueError, match="no Linear or Conv layer"):
        laplace.kfac_layers(nn.Sequential(nn.Flatten()))


def test_grouped_convolutions_are_refused():
    with pytest.raises(ValueError, match="groups=1"):
        laplace.kfac_layers(nn.Conv2d(2, 2, 3, groups=2))


def test_the_last_layer_subset_keeps_only_the_head():
    trunk = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    assert laplace.kfac_layers(trunk, "last") == [trunk[2]]
    assert laplace.n_weights(laplace.kfac_layers(trunk)) == 3 * 4 + 4 + 4 * 2 + 2


@pytest.mark.parametrize(
    "layer, shape",
    [
        (nn.Conv2d(2, 3, 3, padding=1), (4, 2, 7, 6)),
        (nn.Conv2d(2, 3, (3, 2), stride=2, dilation=(1, 2), padding=(2, 1), bias=False), (4, 2, 9, 8)),
        (nn.Conv2d(2, 3, 3, padding="valid"), (4, 2, 5, 5)),
        (nn.Conv1d(2, 3, 11, padding=5), (4, 2, 40)),
        (nn.Conv1d(2, 3, 4, stride=3, dilation=2), (4, 2, 30)),
    ],
)
def test_mean_patches_equal_the_unfolded_patches_mean(layer, shape):
    """The windowed sums give what F.unfold's patches averaged over positions give (the weight's order)."""
    x = torch.randn(shape, dtype=torch.float64)
    layer = layer.double()
    outputs = layer(x)
    conv2d = layer.weight.ndim == 4
    x2 = x if conv2d else x.unsqueeze(2)
    k, d, s = (
        (layer.kernel_size, layer.dilation, layer.stride)
        if conv2d
        else [(1, *v) for v in (layer.kernel_size, layer.dilation, layer.stride)]
    )
    p = (0, 0) if layer.padding == "valid" else layer.padding if conv2d else (0, *layer.padding)
    expected = torch.nn.functional.unfold(x2, k, dilation=d, padding=p, stride=s).mean(dim=-1)
    if layer.bias is not None:
        expected = torch.cat([expected, torch.ones(shape[0], 1, dtype=torch.float64)], dim=1)
    assert torch.allclose(laplace._mean_patches(layer, x, outputs), expected, atol=1e-12)


def test_same_padding_is_refused():
    with pytest.raises(ValueError, match="numeric zero padding"):
        laplace.kfac_layers(nn.Conv2d(2, 2, 3, padding="same"))


def test_a_layer_run_twice_is_refused():
    layer = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="ran a layer twice"):
        laplace.kfac_factors(layer, lambda: layer(layer(torch.rand(2, 3))), 1, [layer])


@pytest.mark.parametrize("rows_a, fan_in, rows_g, fan_out", [(4, 30, 6, 5), (40, 3, 9, 2), (3, 3, 3, 3)])
def test_the_log_det_from_the_factors_rows_equals_the_explicit_kronecker_log_det(rows_a, fan_in, rows_g, fan_out):
    """Wide factors (fewer rows than columns: the eigenvalues come from the small Gram matrix, the rest are 0)
    and tall ones give log det(N A (x) G + delta I) of the explicit matrix, and its gradient."""
    generator = torch.Generator().manual_seed(rows_a + fan_in)
    a = torch.randn(rows_a, fan_in, generator=generator, dtype=torch.float64, requires_grad=True)
    g = torch.randn(rows_g, fan_out, generator=generator, dtype=torch.float64)
    delta, n_data = torch.tensor(0.7, dtype=torch.float64), 50
    factors = laplace.Factors(a, g, rows_a)
    value = laplace.kfac_log_det(factors, n_data, delta)
    matrix = n_data * torch.kron(factors.A, factors.G) + delta * torch.eye(fan_in * fan_out, dtype=torch.float64)
    explicit = torch.linalg.slogdet(matrix).logabsdet
    assert torch.allclose(value, explicit, rtol=1e-10, atol=1e-9)
    (grad,) = torch.autograd.grad(value, a)
    (explicit_grad,) = torch.autograd.grad(explicit, a)
    assert torch.allclose(grad, explicit_grad, rtol=1e-8, atol=1e-9)


def test_a_wide_layer_with_mostly_zero_eigenvalues_is_handled():
    """An MLP on 3x64x64 images: 12,289 inputs and 128 examples. The 12,289-square factor (most eigenvalues 0,
    where a float32 eigensolver failed to converge) is never formed."""
    a = torch.rand(128, 12289, generator=torch.Generator().manual_seed(0))
    g = torch.randn(128, 16, generator=torch.Generator().manual_seed(1))
    value = laplace.kfac_log_det(laplace.Factors(a, g, 128), 1250, torch.tensor(1.0))
    assert torch.isfinite(value) and value > 0
