"""DADA's bilevel objective (Li et al., ECCV 2020): the one-step unrolled hypergradient on held-out data."""

from __future__ import annotations

import torch

from invlearn._validation import check_positive
from invlearn.objectives.base import checked_likelihood
from invlearn.objectives.hold_out import HoldOutObjective


class Unrolled(HoldOutObjective):
    """DADA's one-step unrolled hypergradient (Li et al., ECCV 2020), the bilevel search of DARTS (Liu et al.,
    ICLR 2019) applied to augmentation.

    The weights ``w`` train on the task loss of augmented training data. Before each weight step, the
    augmentation ``alpha`` takes a step of its own Adam down ``L_val(w - xi grad_w L_train(w, alpha))``: the
    clean task loss of a held-out batch after one unrolled gradient step of the weights on the augmented training
    batch. Its gradient is exact here (autograd through the unrolled step, a Hessian-vector product); DADA
    approximates the same term by finite differences. The held-out data are ``held_out_fraction`` of the
    training set (DADA: half), kept from the weights.

    Args:
        lr: Adam's learning rate of the augmentation (DADA: 5e-3, betas 0.5 and 0.999, no weight decay).
        step: ``xi``, the unrolled step's learning rate (DADA: the weights' current learning rate).
        batch_size: held-out examples per hyper-step.
        likelihood: the task's likelihood (default: categorical); its conventional loss is used.
    """

    held_out_fraction = 0.5
    hyper_betas = (0.5, 0.999)

    def __init__(self, lr: float = 5e-3, step: float = 0.1, batch_size: int = 128, likelihood=None) -> None:
        super().__init__(batch_size)
        self.likelihood = checked_likelihood(likelihood)
        self.lr = check_positive(lr, "lr")
        self.step = check_positive(step, "step")

    def weights_loss(self, model, output, target, n_data):
        return self.likelihood.loss(output, target)

    def hyper_parameters(self, model):
        return [p for p in model.augmentation.parameters() if p.requires_grad]

    def hyper_step_due(self, epoch, step):
        return True

    def hyper_loss(self, model, x, target, n_data, generator):
        output, moved = model.training_outputs(x, target, generator)
        names, weights = zip(*[(n, p) for n, p in model.trunk.named_parameters() if p.requires_grad], strict=True)
        grads = torch.autograd.grad(self.likelihood.loss(output, moved), weights, create_graph=True)
        unrolled = {name: w - self.step * g for name, w, g in zip(names, weights, grads, strict=True)}
        buffers = {name: b.clone() for name, b in model.trunk.named_buffers()}  # batch norm's stay untouched
        held_x, held_y = self.held_out_batch(x.device)
        clean = torch.func.functional_call(model.trunk, {**unrolled, **buffers}, (held_x,))
        return self.likelihood.loss(clean, held_y)

    def extra_repr(self) -> str:
        return f"lr={self.lr:g}, step={self.step:g}, batch_size={self.batch_size}"
