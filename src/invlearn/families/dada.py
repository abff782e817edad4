"""DADA's searched policy (Li, Zhou, Chen, Shen, Yang, ECCV 2020, "Differentiable Automatic Data Augmentation").

The search space is AutoAugment's: ``S`` sub-policies of two ops (every pair of distinct ops of the given list:
15 ops give DADA's 105), each op with an apply-probability and a magnitude, and a weight per sub-policy.
:class:`DADAPolicy` relaxes the three: each example's sub-policy is drawn by Gumbel-max from ``softmax(logits)``
with a straight-through Gumbel-softmax gradient (temperature ``tau``), each op's application is a relaxed
Bernoulli mask, and the magnitudes reach the ops directly (ours are differentiable; DADA's PIL ops needed a
straight-through estimator). They are learned by :class:`invlearn.objectives.Unrolled`'s one-step unrolled
hypergradient on held-out data; :meth:`~invlearn.families.DADAPolicy.searched` then keeps the ``top`` sub-policies by
weight, as a :class:`~invlearn.families.policies.SubPolicies` to train the final model with from scratch, as DADA's
authors do.

Where we simplify DADA (the docs say so where they report it: results/search-vs-learned.md): the sub-policy weight's
gradient is the straight-through one through the drawn sub-policy only (DADA adds RELAX's control variate), measured as
the change the sub-policy makes to the example (so a sub-policy that hurts loses weight).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from invlearn._validation import check_count, check_positive
from invlearn.augmentations import Augmentation
from invlearn.augmentations.noise import uniform
from invlearn.families.policies import SubPolicies
from invlearn.ops.relax import bernoulli_mask

#: DADA's initial sub-policy logit, apply-probability and magnitude.
INITIAL_LOGIT, INITIAL_PROBABILITY, INITIAL_MAGNITUDE = 1e-3, 0.5, 0.5


def all_pairs(augmentations: Sequence[Augmentation | str]) -> list[list[int]]:
    """DADA's sub-policies: every pair ``(i, j)``, ``i < j``, of distinct ops (``K (K - 1) / 2`` of them)."""
    return [list(pair) for pair in itertools.combinations(range(len(augmentations)), 2)]


class DADAPolicy(SubPolicies):
    """The relaxed, learnable policy of DADA's search (see the module).

    Args:
        augmentations: the ops (instances or registry names), one modality, at least two.
        sub_policies: lists of op names or indices (default: every pair of distinct ops).
        temperature: ``tau > 0`` of the Gumbel-softmax (DADA: 0.5).
        sharpness: ``k`` of the relaxed apply-mask (:func:`invlearn.ops.bernoulli_mask`).
    """

    def __init__(
        self,
        augmentations: Sequence[Augmentation | str],
        sub_policies: Sequence[Sequence[int | str]] | None = None,
        temperature: float = 0.5,
        sharpness: float = 20.0,
    ) -> None:
        pairs = all_pairs(augmentations) if sub_policies is None else sub_policies
        super().__init__(augmentations, pairs, INITIAL_PROBABILITY, INITIAL_MAGNITUDE)
        self.probability_table.requires_grad_(True)
        self.magnitude_table.requires_grad_(True)
        self.logits = nn.Parameter(torch.full((self.sub_policies.shape[0],), INITIAL_LOGIT))
        self.temperature = check_positive(temperature, "temperature")
        self.sharpness = check_positive(sharpness, "sharpness")

    @property
    def weights(self) -> Tensor:
        """``(S,)`` sub-policy weights ``softmax(logits)``, differentiable."""
        return torch.softmax(self.logits, dim=0)

    def choice_parameters(self, batch_size, generator, device) -> Tensor:
        """``(B, S)`` uniform noise, turned into Gumbel noise ``-log(-log u)`` per sub-policy."""
        return uniform((batch_size, self.sub_policies.shape[0]), generator, device)

    def chosen(self, noise: Tensor) -> tuple[Tensor, Tensor]:
        """Gumbel-max: ``argmax(log w + g)`` with ``g = -log(-log u)`` from the ``(B, S)`` uniform ``noise``; the
        factor is 1 in value with the gradient of the drawn sub-policy's Gumbel-softmax probability
        ``softmax((log w + g) / tau)``."""
        u = noise.clamp(1e-6, 1.0 - 1e-6).to(self.logits.dtype)
        scores = torch.log_softmax(self.logits, dim=0) - torch.log(-torch.log(u))
        index = scores.argmax(dim=1)
        soft = torch.softmax(scores / self.temperature, dim=1).gather(1, index[:, None]).squeeze(1)
        return index, (soft - soft.detach()) + 1.0  # exactly 1 in value

    def mask(self, probability: Tensor, uniform_noise: Tensor) -> Tensor:
        """The relaxed apply-mask in training mode (gradients reach the probability), the hard one in eval mode."""
        return bernoulli_mask(probability, uniform_noise, self.sharpness if self.training else None)

    def searched(self, top: int) -> SubPolicies:
        """The ``top`` sub-policies of largest weight with their probabilities and magnitudes, as a fixed
        :class:`~invlearn.families.policies.SubPolicies` (each drawn uniformly, as DADA's final training does)."""
        top = min(check_count(top, "top"), self.sub_policies.shape[0])
        with torch.no_grad():
            keep = torch.argsort(self.weights, descending=True)[:top]
            return SubPolicies(
                list(self.ops),  # the same frozen shells
                self.sub_policies[keep].tolist(),
                self.probabilities[keep].tolist(),
                self.magnitudes[keep].tolist(),
            )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, temperature={self.temperature:g}"
