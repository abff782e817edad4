"""DADA's bilevel objective (Li et al., ECCV 2020): the one-step unrolled hypergradient on held-out data."""

from __future__ import annotations

import torch

from invlearn._validation import check_positive
from invlearn.objectives.base import checked_likelihood
from invlearn.objectives.bilevel import BilevelObjective
from invlearn.objectives.likelihoods import Likelihood


class Unrolled(BilevelObjective):
    """DADA's one-step unrolled hypergradient (Li et al., ECCV 2020), the bilevel search of DARTS (Liu et al.,
    ICLR 2019) applied to augmentation.

    The weights ``w`` train on the task loss of augmented training data. Before each weight step, the
    augmentation ``alpha`` takes a step of its own Adam down ``L_val(w')``: the clean task loss of a held-out batch
    after one unrolled step ``w'`` of the weights on the augmented training batch. By default ``w'`` is the step the
    weights' optimizer would take now (:func:`~invlearn.objectives.virtual_step`: its live learning rate,
    momentum and weight decay, as DARTS unrolls SGD); with ``step`` set, the plain gradient step
    ``w - step * grad_w L_train(w, alpha)``. Its gradient is exact here (autograd through the unrolled step, a
    Hessian-vector product); DADA approximates the same term by finite differences. The held-out data are
    ``held_out_fraction`` of the training set (DADA: half), kept from the weights.

    Args:
        lr: Adam's learning rate of the augmentation (DADA: 5e-3, betas 0.5 and 0.999, no weight decay).
        step: ``xi``, the size of a plain unrolled gradient step; ``None``: the step of the weights' optimizer,
            with its live state (DADA: the weights' current learning rate, momentum and weight decay).
        batch_size: held-out examples per hyper-step.
        likelihood: the task's likelihood (default: categorical); its conventional loss is used.
    """

    held_out_fraction = 0.5
    hyper_betas = (0.5, 0.999)
    config_defaults = {"batch_size": "trainer.batch_size"}
    families = ("dada",)

    def __init__(
        self, lr: float = 5e-3, step: float | None = None, batch_size: int = 128, likelihood: Likelihood | None = None
    ) -> None:
        super().__init__(batch_size)
        self.likelihood = checked_likelihood(likelihood)
        self.lr = check_positive(lr, "lr")
        self.step = None if step is None else check_positive(step, "step")

    def weights_loss(self, model, output, target, n_data):
        return self.likelihood.loss(output, target)

    def hyper_parameters(self, model):
        return [p for p in model.augmentation.parameters() if p.requires_grad]

    def hyper_step_due(self, epoch, step):
        return True

    def hyper_loss(self, step):
        trunk = step.model.trunk
        moved = step.stepped_weights(self.weights_loss, self.step)
        buffers = {name: b.clone() for name, b in trunk.named_buffers()}  # batch norm's stay untouched
        held_x, held_y = self.held_out_batch(step.x.device)
        clean = torch.func.functional_call(trunk, {**moved, **buffers}, (held_x,))
        return self.likelihood.loss(clean, held_y)

    def extra_repr(self) -> str:
        step = "the optimizer's" if self.step is None else f"{self.step:g}"
        return f"lr={self.lr:g}, step={step}, batch_size={self.batch_size}"
