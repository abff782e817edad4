"""The implicit response of the weights to the ranges: exact on quadratic training losses, guarded where its Neumann
series diverges, and added to the held-out objective's hyper-gradient."""

from __future__ import annotations

import pytest
import torch

from invlearn.objectives import HeldOut, HyperStep
from invlearn.objectives.implicit import implicit_response
from tests.conftest import make_input, seeded
from tests.objectives.test_heldout import _case


def _quadratic(curvatures: list[float]):
    """``L_T(w, a) = 1/2 w' A w - w' B a`` (``A`` diagonal), weights at their optimum ``w* = A^-1 B a``, and the
    held-out loss ``L_V = 1/2 |w - t|^2``: ``dL_V(w*(a))/da = B' A^-1 (w* - t)``, the reference."""
    generator = seeded(0)
    hessian = torch.diag(torch.tensor(curvatures, dtype=torch.float64))
    mixing = torch.randn(len(curvatures), 2, generator=generator, dtype=torch.float64)
    ranges = torch.randn(2, generator=generator, dtype=torch.float64).requires_grad_()
    optimum = torch.linalg.solve(hessian, mixing @ ranges.detach())
    weights = optimum.clone().requires_grad_()
    training_loss = 0.5 * weights @ hessian @ weights - weights @ mixing @ ranges
    held_out_gradient = optimum - torch.randn(len(curvatures), generator=generator, dtype=torch.float64)
    reference = mixing.T @ torch.linalg.solve(hessian, held_out_gradient)
    return training_loss, weights, held_out_gradient, ranges, reference


def test_isotropic_curvature_is_inverted_exactly_by_one_term():
    loss, weights, gradient, ranges, reference = _quadratic([2.5, 2.5, 2.5])
    (response,) = implicit_response(loss, [weights], [gradient], [ranges], terms=1)
    torch.testing.assert_close(response, reference, rtol=1e-12, atol=1e-12)


def test_the_series_converges_to_the_implicit_function_theorems_response():
    loss, weights, gradient, ranges, reference = _quadratic([1.0, 1.3, 1.6, 1.9])
    (few,) = implicit_response(loss, [weights], [gradient], [ranges], terms=2)
    (many,) = implicit_response(loss, [weights], [gradient], [ranges], terms=60)
    torch.testing.assert_close(many, reference, rtol=1e-9, atol=1e-9)
    assert float((few - reference).norm()) > 1e-4  # two terms are a truncation


def test_a_diverging_series_stops_before_its_terms_grow():
    """Curvatures 1 and 30 with the held-out gradient mostly along the flat one: the step (0.55) is far above 2/30
    along the steep direction, where the second term grows 16-fold; 50 terms stop there, as 1 term does."""
    loss, weights, gradient, ranges, _ = _quadratic([1.0, 30.0])
    gradient = torch.tensor([1.0, 0.05], dtype=torch.float64)
    (stopped,) = implicit_response(loss, [weights], [gradient], [ranges], terms=50)
    (one,) = implicit_response(loss, [weights], [gradient], [ranges], terms=1)
    assert torch.isfinite(stopped).all()
    torch.testing.assert_close(stopped, one, rtol=0, atol=0)


def test_a_flat_training_loss_or_held_out_gradient_has_no_response():
    loss, weights, gradient, ranges, _ = _quadratic([1.0, 2.0])
    assert implicit_response(loss, [weights], [torch.zeros(2, dtype=torch.float64)], [ranges], terms=3) == [None]


def test_the_held_out_gradient_adds_the_implicit_response_to_its_direct_term():
    model, objective, held = _case("none")
    objective.implicit = 3
    x, y = make_input("image", torch.float64, batch=4), torch.tensor([0, 1, 2, 0])
    magnitude = model.augmentation.candidates[0]._magnitude
    weights = [w for w in model.trunk.parameters() if w.requires_grad]
    _, (grad,) = objective.hyper_gradients(HyperStep(model, x, y, 10, seeded(2)))

    _, reference, _ = _case("none")  # the same held-out batch and generator, drawn in the same order
    step = HyperStep(model, x, y, 10, seeded(2))
    direct, *held_out = torch.autograd.grad(reference.hyper_loss(step), [magnitude, *weights])
    (indirect,) = implicit_response(step.training_loss(reference.weights_loss), weights, held_out, [magnitude], 3)
    torch.testing.assert_close(grad, direct + indirect, rtol=1e-12, atol=1e-15)
    assert abs(float(indirect)) > 1e-6 * abs(float(direct))  # the response is there, not a rounding


def test_the_one_standard_error_rule_takes_the_implicit_response_too():
    """Its ranges descend ``dual * fit - extent``: the response of the fit is added at the dual's weight."""
    x, y = make_input("image", torch.float64, batch=4), torch.tensor([0, 1, 2, 0])
    grads = []
    for implicit in (0, 2):
        model, objective, _ = _case("tolerance")
        objective.implicit = implicit
        objective._tolerance.load({"dual": 2.0, "best": None})  # a constraint that binds: the fit weighs
        grads.append(objective.hyper_gradients(HyperStep(model, x, y, 10, seeded(2)))[1][0])
    assert torch.isfinite(grads[1]) and float(grads[1]) != pytest.approx(float(grads[0]), rel=1e-9)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"implicit": -1}, "implicit must be an integer >= 0"), ({"implicit": 2, "response": True}, "choose one")],
)
def test_bad_implicit_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        HeldOut(**settings)
