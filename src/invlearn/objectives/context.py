"""What a hyper-step receives: the training batch, the model, the weights' optimizer, in one object.

A trainer (invlearn's Lightning module, or your own loop) builds one :class:`~invlearn.objectives.HyperStep` per
hyper-step and hands it to :meth:`Objective.hyper_gradients <invlearn.objectives.Objective.hyper_gradients>` (or
:meth:`~invlearn.objectives.Objective.hyper_backward`). Besides the batch it carries what a bilevel objective needs:
the weights' loss on that batch (:meth:`~invlearn.objectives.HyperStep.training_loss`, computed once, with its
graph) and the weights' optimizer, whose live state (learning rate, momentum, weight decay, Adam's moments)
:func:`~invlearn.objectives.virtual_step` reads to take the step the optimizer would take, differentiably. To
compare the model at two weights or two ranges on the same augmented copies, draw them once
(:meth:`InvariantModel.draw <invlearn.models.InvariantModel.draw>`) and give the draw to
:meth:`~invlearn.models.InvariantModel.predict` (``draw=``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from invlearn.models.invariant import InvariantModel


@dataclass
class HyperStep:
    """The inputs of one hyper-step.

    Attributes:
        model: the invariant model being trained.
        x: the training batch ``(B, ...)`` the weights step on next.
        target: its targets.
        n_data: the number of training examples (the data-set size ``N`` of an objective).
        generator: the augmentation's generator of the run (a hyper-step that draws from it moves it on).
        optimizer: the weights' optimizer (``None`` in a loop that has none to give): its live learning rate,
            momentum buffers and weight decay are what :func:`~invlearn.objectives.virtual_step` steps with.
    """

    model: InvariantModel
    x: Tensor
    target: Tensor
    n_data: int
    generator: torch.Generator | None = None
    optimizer: torch.optim.Optimizer | None = None
    _training_loss: Tensor | None = field(default=None, repr=False)

    def training_loss(self, weights_loss: Callable[..., Tensor]) -> Tensor:
        """The weights' loss on this batch, with its graph: ``weights_loss(model, output, target, n_data)`` (an
        objective's :meth:`~invlearn.objectives.Objective.weights_loss`) of the model's training outputs, one draw
        from :attr:`generator` made at the first call; the same tensor at every later call."""
        if self._training_loss is None:
            output, moved = self.model.training_outputs(self.x, self.target, self.generator)
            self._training_loss = weights_loss(self.model, output, moved, self.n_data)
        return self._training_loss

    def stepped_weights(self, weights_loss: Callable[..., Tensor], step_size: float | None = None) -> dict[str, Tensor]:
        """The trunk's trainable weights ``{name: tensor}`` after one step on :meth:`training_loss`, differentiable
        in the ranges (through a double backward): the step the weights' :attr:`optimizer` would take now
        (:func:`~invlearn.objectives.virtual_step`) or, with ``step_size``, a plain gradient step of that size.

        Raises:
            RuntimeError: no ``step_size`` and no optimizer to step as.
        """
        named = [(name, w) for name, w in self.model.trunk.named_parameters() if w.requires_grad]
        names, weights = zip(*named, strict=True)
        grads = torch.autograd.grad(self.training_loss(weights_loss), weights, create_graph=True)
        if step_size is not None:
            moved = [w - step_size * g for w, g in zip(weights, grads, strict=True)]
        elif self.optimizer is None:
            raise RuntimeError("a step as the weights' optimizer would take needs one: give HyperStep(optimizer=)")
        else:
            moved = virtual_step(self.optimizer, weights, grads)
        return dict(zip(names, moved, strict=True))


def virtual_step(
    optimizer: torch.optim.Optimizer, parameters: Sequence[Tensor], grads: Sequence[Tensor]
) -> list[Tensor]:
    """The parameters after the step ``optimizer`` would take with ``grads``, as differentiable tensors, its state
    untouched (the unrolled step of DARTS, Liu et al., ICLR 2019, and DADA, Li et al., ECCV 2020, with the live
    learning rate, momentum and weight decay rather than ones frozen at the start).

    SGD (momentum, dampening, Nesterov, L2 decay), Adam and AdamW (their moments and step count, L2 or decoupled
    decay) are stepped exactly as torch steps them; ``maximize`` and ``amsgrad`` are refused.

    Args:
        optimizer: a :class:`torch.optim.SGD`, :class:`~torch.optim.Adam` or :class:`~torch.optim.AdamW` holding
            every one of ``parameters``.
        parameters: the tensors the step moves (``requires_grad``).
        grads: their gradients (with a graph where the step must be differentiated).

    Raises:
        TypeError: another optimizer, or an option it cannot step exactly.
        ValueError: a parameter the optimizer does not hold.
    """
    groups = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    moved = []
    for parameter, grad in zip(parameters, grads, strict=True):
        if id(parameter) not in groups:
            raise ValueError("virtual_step: a parameter is not in the optimizer")
        group, state = groups[id(parameter)], optimizer.state.get(parameter, {})
        if group.get("maximize") or group.get("amsgrad"):
            raise TypeError("virtual_step: maximize and amsgrad are not supported")
        if type(optimizer) is torch.optim.SGD:
            moved.append(_sgd(parameter, grad, group, state))
        elif type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
            decoupled = type(optimizer) is torch.optim.AdamW or group.get("decoupled_weight_decay", False)
            moved.append(_adam(parameter, grad, group, state, decoupled))
        else:
            raise TypeError(f"virtual_step: steps SGD, Adam and AdamW, not {type(optimizer).__name__}")
    return moved


def _sgd(parameter: Tensor, grad: Tensor, group: dict, state: dict) -> Tensor:
    direction = grad + group["weight_decay"] * parameter if group["weight_decay"] else grad
    momentum = group["momentum"]
    if momentum:
        buffer = state.get("momentum_buffer")
        buffer = direction if buffer is None else momentum * buffer + (1 - group["dampening"]) * direction
        direction = direction + momentum * buffer if group["nesterov"] else buffer
    return parameter - _value(group["lr"]) * direction


def _adam(parameter: Tensor, grad: Tensor, group: dict, state: dict, decoupled: bool) -> Tensor:
    lr, (beta1, beta2), decay = _value(group["lr"]), group["betas"], group["weight_decay"]
    if decay and decoupled:
        parameter = parameter * (1 - lr * decay)
    elif decay:
        grad = grad + decay * parameter
    step = float(state["step"]) + 1 if "step" in state else 1.0
    first = state.get("exp_avg", torch.zeros_like(parameter)) * beta1 + (1 - beta1) * grad
    second = state.get("exp_avg_sq", torch.zeros_like(parameter)) * beta2 + (1 - beta2) * grad * grad
    first_hat, second_hat = first / (1 - beta1**step), second / (1 - beta2**step)
    return parameter - lr * first_hat / (second_hat.clamp_min(1e-30).sqrt() + group["eps"])  # sqrt' finite at 0


def _value(rate) -> float:
    """A learning rate that may be held as a tensor."""
    value = float(rate)
    if not math.isfinite(value):
        raise ValueError(f"virtual_step: the learning rate is {value}")
    return value
