"""Augmentation policies a user would otherwise pick: ops of the catalogue drawn at random, nothing learned.

* :class:`RandAugment` (Cubuk, Zoph, Shlens, Le, NeurIPS 2020): ``N`` ops drawn uniformly (with replacement) for
  each example, each at one global magnitude ``M`` with a random sign where the op has one.
* :class:`TrivialAugment` (Müller, Hutter, ICCV 2021, "wide"): one op drawn uniformly for each example, at a
  magnitude drawn uniformly in ``[0, 1]`` of its scale.
* :class:`SubPolicies` (AutoAugment's form, Cubuk et al., CVPR 2019): a list of sub-policies, each a sequence of
  ``(op, probability, magnitude)``; one sub-policy drawn uniformly for each example, each of its ops applied with
  its probability at its magnitude. A searched policy (DADA's, :mod:`invlearn.families.dada`) is one.
* :class:`TrainingOnly`: a transform applied in training mode and the identity in eval mode, as a policy is: it
  augments the training set, and the test set is seen as it is.

Ops are :class:`~invlearn.augmentations.Augmentation` instances used as op shells: a policy sets each one's value,
``amount * scale`` for an op with a magnitude (``amount`` in ``[-1, 1]``, in ``[0, 1]`` for one-sided ops), the
apply-mask ``amount`` in ``[0, 1]`` for an op without one; their own strengths are ignored. Sampling is per
example from the given generator; ops that mix examples (sample pairing) are refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from invlearn._validation import check_count, check_unit_interval
from invlearn.augmentations import Augmentation, MagnitudeAugmentation, Params, RandomTransform
from invlearn.augmentations.noise import uniform
from invlearn.families.composite import candidate_list, common_modality, prefixed, unprefixed
from invlearn.ops.relax import bernoulli_mask


def policy_ops(augmentations: Sequence[Augmentation | str]) -> nn.ModuleList:
    """Checked ops of a policy (instances or registry names, one modality, no name twice), frozen: a policy sets
    their values itself. Ops that mix the examples of a batch are refused (a policy transforms each alone)."""
    ops = candidate_list(augmentations)
    common_modality(ops, "augmentations")
    mixing = [op.name for op in ops if op.batch_index_keys]
    if mixing:
        raise ValueError(f"{mixing} mix the examples of a batch; a policy transforms each example alone")
    return nn.ModuleList(ops).requires_grad_(False)


def apply_op(op: Augmentation, x: Tensor, amount: Tensor, params: Mapping[str, Tensor]) -> Tensor:
    """``op`` applied to ``x`` ``(B, ...)`` at the per-example ``amount`` ``(B,)``: the value ``amount * scale``
    for an op with a magnitude, the apply-mask ``amount`` for one without; ``params`` holds the op's other noise
    (from its ``generate_parameters``). Differentiable with respect to ``amount``."""
    if isinstance(op, MagnitudeAugmentation):
        return op.apply_values(x, amount.to(x.dtype) * op.scale, params)
    return type(op).op(x, amount.to(x.dtype))


def rows_of(params: Mapping[str, Tensor], rows: Tensor) -> Params:
    """The per-example ``params`` of the examples ``rows`` (every tensor indexed along its first dimension)."""
    return {key: value.index_select(0, rows) for key, value in params.items()}


def apply_chosen(
    ops: nn.ModuleList, x: Tensor, choice: Tensor, amount: Tensor, params: Sequence[Mapping[str, Tensor]]
) -> Tensor:
    """Each example ``b`` of ``x`` transformed by its own op ``ops[choice[b]]`` at ``amount[b]`` (``params[k]``:
    op ``k``'s noise for the whole batch). Each op runs once, on the examples that chose it."""
    out = x
    for k, op in enumerate(ops):
        rows = (choice == k).nonzero().squeeze(1)
        if rows.numel():
            moved = apply_op(op, x.index_select(0, rows), amount.index_select(0, rows), rows_of(params[k], rows))
            out = out.index_copy(0, rows, moved)
    return out


def slot_noise(ops: nn.ModuleList, slots: int, batch_size, generator, device, shape) -> Params:
    """Every op's own noise (all but ``"u"``, which a policy replaces by its amounts) for each of ``slots`` draws
    or positions, under ``"{slot}.{op}."``."""
    params: Params = {}
    for slot in range(slots):
        for k, op in enumerate(ops):
            noise = op.generate_parameters(batch_size, generator, device, shape)
            params.update(prefixed(slot, prefixed(k, {key: v for key, v in noise.items() if key != "u"})))
    return params


def slot_permutation_keys(ops: nn.ModuleList, slots: int) -> tuple[str, ...]:
    """The permutation keys of :func:`slot_noise`'s parameters."""
    keys = [f"{k}.{key}" for k, op in enumerate(ops) for key in op.permutation_keys]
    return tuple(f"{slot}.{key}" for slot in range(slots) for key in keys)


class OpPolicy(RandomTransform):
    """Base of the policies that draw ``n_ops`` ops per example from ``ops`` (see the module): parameters
    ``"op"`` ``(B, n_ops)`` (indices, drawn uniformly), ``"u"`` ``(B, n_ops)`` (uniform in ``[-1, 1]``) and every
    op's own noise for each of the ``n_ops`` draws under ``"{draw}.{op}."``. Subclasses turn ``u`` into amounts
    (:meth:`amounts`)."""

    def __init__(self, augmentations: Sequence[Augmentation | str], n_ops: int) -> None:
        super().__init__()
        self.ops = policy_ops(augmentations)
        self.modality = self.ops[0].modality
        self.n_ops = check_count(n_ops, "n_ops")
        kinds = torch.tensor(
            [(isinstance(op, MagnitudeAugmentation), getattr(op, "symmetric", False)) for op in self.ops]
        )
        self.register_buffer("has_magnitude", kinds[:, 0], persistent=False)  # (n,) an op with an amount
        self.register_buffer("signed", kinds[:, 1], persistent=False)  # (n,) an op whose amount has a sign

    @property
    def permutation_keys(self) -> tuple[str, ...]:
        return slot_permutation_keys(self.ops, self.n_ops)

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        choice = uniform((batch_size, self.n_ops), generator, device) * len(self.ops)
        return {
            "op": choice.long().clamp(max=len(self.ops) - 1),
            "u": uniform((batch_size, self.n_ops), generator, device, -1.0, 1.0),
            **slot_noise(self.ops, self.n_ops, batch_size, generator, device, shape),
        }

    def amounts(self, u: Tensor, signed: Tensor) -> Tensor:
        """Hook: per-example amounts ``(B,)`` of the ops with a magnitude, from one draw's noise ``u`` ``(B,)`` in
        ``[-1, 1]``; ``signed`` ``(B,)`` marks the examples whose op has a sign (an angle, a shift)."""
        raise NotImplementedError

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        has_magnitude, signed = self.has_magnitude.to(x.device), self.signed.to(x.device)
        for draw in range(self.n_ops):
            choice = params["op"][:, draw].to(x.device)
            amount = self.amounts(params["u"][:, draw].to(x.device), signed[choice])
            amount = torch.where(has_magnitude[choice], amount, torch.ones_like(amount))  # a flip: applied
            per_op = [unprefixed(k, unprefixed(draw, params)) for k in range(len(self.ops))]
            x = apply_chosen(self.ops, x, choice, amount, per_op)
        return x


class RandAugment(OpPolicy):
    """RandAugment: ``n_ops`` ops drawn uniformly per example (with replacement), each at ``magnitude`` of its
    scale, with a random sign where the op has one; an op without a magnitude (a flip) is applied.

    Args:
        augmentations: the ops (instances or registry names), one modality.
        n_ops: ``N``, ops applied one after another to each example.
        magnitude: ``M`` in ``[0, 1]``, the fraction of every op's scale (RandAugment's ``M / 30``).
    """

    def __init__(self, augmentations: Sequence[Augmentation | str], n_ops: int = 2, magnitude: float = 0.5) -> None:
        super().__init__(augmentations, n_ops)
        self.magnitude = check_unit_interval(magnitude, "magnitude")

    def amounts(self, u, signed):
        sign = torch.where(signed & (u < 0), -1.0, 1.0)
        return sign * self.magnitude

    def extra_repr(self) -> str:
        return f"n_ops={self.n_ops}, magnitude={self.magnitude:g}, ops={[op.name for op in self.ops]}"


class TrivialAugment(OpPolicy):
    """TrivialAugment ("wide"): one op drawn uniformly per example, at a magnitude drawn uniformly in ``[0, 1]`` of
    its scale, with a random sign where the op has one; an op without a magnitude (a flip) is applied.

    Args:
        augmentations: the ops (instances or registry names), one modality.
    """

    def __init__(self, augmentations: Sequence[Augmentation | str]) -> None:
        super().__init__(augmentations, n_ops=1)

    def amounts(self, u, signed):
        return torch.where(signed, u, u.abs())

    def extra_repr(self) -> str:
        return f"ops={[op.name for op in self.ops]}"


class TrainingOnly(RandomTransform):
    """``transform`` in training mode, the identity in eval mode: a policy augments the training set, and the test
    set is seen as it is (one copy suffices there).

    Args:
        transform: any :class:`~invlearn.augmentations.RandomTransform` (a policy, fixed candidates...).
    """

    def __init__(self, transform: RandomTransform) -> None:
        super().__init__()
        if not isinstance(transform, RandomTransform):
            raise TypeError(f"transform must be a RandomTransform, got {type(transform).__name__}")
        self.transform = transform
        self.modality = transform.modality

    @property
    def batch_index_keys(self) -> tuple[str, ...]:
        return self.transform.batch_index_keys

    @property
    def permutation_keys(self) -> tuple[str, ...]:
        return self.transform.permutation_keys

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        return self.transform.generate_parameters(batch_size, generator, device, shape)

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        return self.transform.apply_transform(x, params) if self.training else x


def _per_example(values: Tensor, like: Tensor) -> Tensor:
    """``(B,)`` per-example ``values`` shaped to broadcast against the batch ``like`` ``(B, ...)``, in its dtype."""
    return values.to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


def _table(values: object, shape: tuple[int, int], what: str) -> Tensor:
    """``values`` (a number or an ``(S, L)`` nesting) as a float tensor of ``shape``, every entry in ``[0, 1]``."""
    try:
        tensor = torch.as_tensor(values, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        tensor = None
    if tensor is None or tensor.ndim not in (0, 2) or (tensor.ndim == 2 and tuple(tensor.shape) != shape):
        raise ValueError(f"{what} must be one number or {shape[0]} x {shape[1]} numbers, got {values!r}")
    if not bool(((tensor >= 0) & (tensor <= 1)).all()):
        raise ValueError(f"{what} must lie in [0, 1], got {values!r}")
    return tensor.expand(shape).clone()


class SubPolicies(RandomTransform):
    """AutoAugment's form of policy: ``S`` sub-policies of ``L`` ops each; every example is given one sub-policy,
    drawn uniformly, and each of its ops is applied with its probability at its magnitude (with a random sign
    where the op has one; an op without a magnitude is applied with its probability).

    Parameters ``"choice"`` ``(B,)`` (uniform), ``"apply"`` ``(B, L)`` (uniform, against the probabilities),
    ``"u"`` ``(B, L)`` (uniform in ``[-1, 1]``: the signs) and every op's own noise for each position under
    ``"{position}.{op}."``.

    Args:
        augmentations: the ops the sub-policies index (instances or registry names), one modality.
        sub_policies: ``S`` lists of ``L`` op names (or indices) of ``augmentations``.
        probabilities: apply-probabilities in ``[0, 1]``, one number or ``(S, L)`` (default 0.5).
        magnitudes: fractions of each op's scale in ``[0, 1]``, one number or ``(S, L)`` (default 0.5).
    """

    def __init__(
        self,
        augmentations: Sequence[Augmentation | str],
        sub_policies: Sequence[Sequence[int | str]],
        probabilities: object = 0.5,
        magnitudes: object = 0.5,
    ) -> None:
        super().__init__()
        self.ops = policy_ops(augmentations)
        self.modality = self.ops[0].modality
        names = [op.name for op in self.ops]
        indices = [[names.index(k) if k in names else k for k in sub] for sub in sub_policies]
        known = all(type(k) is int and 0 <= k < len(names) for sub in indices for k in sub)
        if not indices or len({len(sub) for sub in indices}) != 1 or not indices[0] or not known:
            raise ValueError(f"sub_policies must be lists of one length of op names (or indices) among {names}")
        self.register_buffer("sub_policies", torch.tensor(indices))
        shape = tuple(self.sub_policies.shape)
        self.probability_table = nn.Parameter(_table(probabilities, shape, "probabilities"), requires_grad=False)
        self.magnitude_table = nn.Parameter(_table(magnitudes, shape, "magnitudes"), requires_grad=False)

    @property
    def length(self) -> int:
        """``L``, the ops of one sub-policy."""
        return self.sub_policies.shape[1]

    @property
    def probabilities(self) -> Tensor:
        """``(S, L)`` apply-probabilities, in ``[0, 1]``."""
        return self.probability_table.clamp(0.0, 1.0)

    @property
    def magnitudes(self) -> Tensor:
        """``(S, L)`` magnitudes (fractions of each op's scale), in ``[0, 1]``."""
        return self.magnitude_table.clamp(0.0, 1.0)

    @property
    def permutation_keys(self) -> tuple[str, ...]:
        return slot_permutation_keys(self.ops, self.length)

    def choice_parameters(self, batch_size, generator, device) -> Tensor:
        """Hook: the noise that picks each example's sub-policy: ``(B,)`` uniform."""
        return uniform((batch_size,), generator, device)

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        return {
            "choice": self.choice_parameters(batch_size, generator, device),
            "apply": uniform((batch_size, self.length), generator, device),
            "u": uniform((batch_size, self.length), generator, device, -1.0, 1.0),
            **slot_noise(self.ops, self.length, batch_size, generator, device, shape),
        }

    def chosen(self, noise: Tensor) -> tuple[Tensor, Tensor]:
        """Hook: ``(index, factor)``, each ``(B,)``, from the ``"choice"`` noise: every example's sub-policy and the
        factor its change is scaled by (1 here; a straight-through estimator's where the choice is learned)."""
        n = self.sub_policies.shape[0]
        return (noise * n).long().clamp(max=n - 1), torch.ones_like(noise)

    def mask(self, probability: Tensor, uniform_noise: Tensor) -> Tensor:
        """Hook: the apply-mask ``(B,)`` of one op of the examples' sub-policies (hard here)."""
        return bernoulli_mask(probability, uniform_noise)

    def _run(self, y: Tensor, policy: int, params: Mapping[str, Tensor], rows: Tensor) -> Tensor:
        """Sub-policy ``policy`` applied to ``y``, the examples ``rows`` of the batch."""
        apply_noise, u = (params[key].index_select(0, rows).to(y.device) for key in ("apply", "u"))
        for position in range(self.length):
            k = int(self.sub_policies[policy, position])
            op, noise = self.ops[k], rows_of(unprefixed(k, unprefixed(position, params)), rows)
            mask = self.mask(self.probabilities[policy, position], apply_noise[:, position].to(y.dtype))
            if not isinstance(op, MagnitudeAugmentation):
                y = apply_op(op, y, mask, noise)
                continue
            sign = torch.where((u[:, position] < 0) & op.symmetric, -1.0, 1.0).to(y.dtype)
            moved = apply_op(op, y, sign * self.magnitudes[policy, position], noise)
            y = y + _per_example(mask, y) * (moved - y)
        return y

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        index, factor = self.chosen(params["choice"].to(x.device))
        out = x
        for policy in torch.unique(index).tolist():
            rows = (index == policy).nonzero().squeeze(1)
            picked = x.index_select(0, rows)
            change = self._run(picked, policy, params, rows) - picked
            out = out.index_copy(0, rows, picked + _per_example(factor.index_select(0, rows), x) * change)
        return out

    def entries(self) -> list[list[dict]]:
        """The sub-policies as JSON-serialisable ``[[{"name", "probability", "magnitude"}, ...], ...]``."""
        probabilities, magnitudes = self.probabilities.tolist(), self.magnitudes.tolist()
        return [
            [
                {"name": self.ops[k].name, "probability": probabilities[s][j], "magnitude": magnitudes[s][j]}
                for j, k in enumerate(sub)
            ]
            for s, sub in enumerate(self.sub_policies.tolist())
        ]

    def extra_repr(self) -> str:
        return f"sub_policies={self.sub_policies.shape[0]}, length={self.length}"
