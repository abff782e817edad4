"""DADA's relaxed policy: the search space, its gradients, its Gumbel-max draws and the searched policy."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from invlearn.families.dada import DADAPolicy, all_pairs
from invlearn.families.policies import SubPolicies
from tests.conftest import make_input, seeded

OPS = ["rotate", "translate_x", "brightness", "hflip"]


def test_the_search_space_is_every_pair_of_distinct_ops():
    assert len(all_pairs(list(range(15)))) == 105  # DADA's 105 sub-policies
    policy = DADAPolicy(OPS)
    assert policy.sub_policies.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert torch.allclose(policy.weights, torch.full((6,), 1 / 6))
    assert torch.equal(policy.probabilities, torch.full((6, 2), 0.5))


def test_probabilities_and_magnitudes_get_a_float64_gradient():
    policy = DADAPolicy(OPS).double()
    x = make_input("image", torch.float64, batch=12)
    params = policy.sample(12, seeded(0), shape=tuple(x.shape[1:]))

    def apply(probabilities, magnitudes):
        state = {"probability_table": probabilities, "magnitude_table": magnitudes}
        return torch.func.functional_call(policy, state, (x,), {"params": params})

    leaves = (torch.full((6, 2), 0.4, dtype=torch.float64), torch.full((6, 2), 0.3, dtype=torch.float64))
    assert gradcheck(apply, tuple(leaf.requires_grad_(True) for leaf in leaves))


def test_the_choice_is_gumbel_max_with_a_straight_through_gradient():
    policy = DADAPolicy(OPS, temperature=0.5).double()
    with torch.no_grad():
        policy.logits.copy_(torch.tensor([0.0, 1.0, 2.0, 0.5, -1.0, 0.0]))
    params = policy.sample(20000, seeded(1), shape=(3, 6, 6))
    index, factor = policy.chosen(params["choice"])
    frequencies = torch.bincount(index, minlength=6).double() / 20000
    assert torch.allclose(frequencies, policy.weights.detach(), atol=0.01)  # drawn by their weights
    assert torch.equal(factor.detach(), torch.ones_like(factor))  # 1 in value
    x = make_input("image", torch.float64, batch=8)
    params = policy.sample(8, seeded(2), shape=tuple(x.shape[1:]))
    out = policy(x, params=params)
    (grad,) = torch.autograd.grad(out.sum(), policy.logits)
    index, _ = policy.chosen(params["choice"])
    with torch.no_grad():
        change = (out - x).flatten(1).sum(dim=1)  # what each drawn sub-policy changed

    def soft(logits):
        u = params["choice"].double().clamp(1e-6, 1 - 1e-6)
        scores = torch.log_softmax(logits, dim=0) - torch.log(-torch.log(u))
        return torch.softmax(scores / 0.5, dim=1).gather(1, index[:, None]).squeeze(1)

    expected = torch.autograd.functional.vjp(soft, policy.logits.detach(), change)[1]
    assert torch.allclose(grad, expected, atol=1e-10)


def test_the_searched_policy_keeps_the_top_sub_policies_with_their_values():
    policy = DADAPolicy(OPS)
    with torch.no_grad():
        policy.logits.copy_(torch.tensor([0.0, 3.0, 0.0, 2.0, 0.0, 1.0]))
        policy.probability_table.copy_(torch.linspace(0.1, 0.9, 12).view(6, 2))
        policy.magnitude_table.fill_(0.7)
    searched = policy.searched(top=2)
    assert isinstance(searched, SubPolicies) and not any(p.requires_grad for p in searched.parameters())
    entries = searched.entries()
    assert [[op["name"] for op in sub] for sub in entries] == [["rotate", "brightness"], ["translate_x", "brightness"]]
    assert entries[0][0]["probability"] == pytest.approx(float(policy.probabilities[1, 0].detach()))
    assert entries[1][1]["magnitude"] == pytest.approx(0.7)
    assert len(policy.searched(top=100).entries()) == 6


def test_eval_mode_draws_hard_masks():
    policy = DADAPolicy(OPS).eval()
    x = make_input("image", batch=64)
    out, params = policy(x, seeded(3), return_params=True)
    index, _ = policy.chosen(params["choice"])
    untouched = (params["apply"] >= 0.5).all(dim=1)
    assert torch.equal(out[untouched], x[untouched])
    assert policy.train()(x, params=params).ne(out).any()  # relaxed masks in training


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: DADAPolicy(["rotate"]), "sub_policies"),
        (lambda: DADAPolicy(OPS, temperature=0.0), "temperature"),
        (lambda: DADAPolicy(OPS).searched(top=0), "top"),
    ],
)
def test_bad_settings_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()
