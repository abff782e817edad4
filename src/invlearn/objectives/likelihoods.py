"""What a learner's outputs mean: the likelihood ``p(target | output)``, one per kind of task (which task takes
which: :data:`invlearn.training.tasks.LIKELIHOODS`).

* :class:`Categorical`: class scores in dimension 1, ``(B, K)`` for classification or
  ``(B, K, H, W)`` for one class per pixel (segmentation); targets ``(B,)`` or ``(B, H, W)`` int64.
* :class:`Gaussian`: real outputs ``(B, D)`` with targets ``(B, D)`` (or ``(B,)`` where
  ``D = 1``) and a homoscedastic noise standard deviation ``sigma`` (learned by the marginal likelihood, in the
  target's unit).

A likelihood gives the two losses the objectives need: :meth:`~invlearn.objectives.Likelihood.loss`, the conventional
training loss (cross-entropy averaged over examples and pixels, mean squared error) of the published objectives, and
:meth:`~invlearn.objectives.Likelihood.nll`, the negative log-likelihood of one example (summed over its pixels or
output dimensions), averaged over the batch, which the marginal likelihood multiplies by the data-set size. It also
gives :meth:`~invlearn.objectives.Likelihood.curvature_terms`, from which
:func:`invlearn.objectives.laplace.kfac_factors` builds the output-gradient Kronecker factor of the generalised
Gauss-Newton.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invlearn._validation import check_finite, check_positive

#: How the output-gradient factor is formed: one sampled label per example, or the exact expectation.
LABELS = ("sampled", "exact")


class Likelihood(nn.Module):
    """Base of the likelihoods. Subclasses set ``aggregate`` (how an :class:`~invlearn.models.InvariantModel`
    averages its copies' outputs) and implement the three methods."""

    aggregate: ClassVar[str]

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        """The conventional scalar training loss of ``output`` against ``target`` (the published objectives')."""
        raise NotImplementedError

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        """The negative log-likelihood of one example (summed over its pixels or outputs), mean over the batch."""
        raise NotImplementedError

    def nll_per_example(self, output: Tensor, target: Tensor) -> Tensor:
        """``(B,)``: the negative log-likelihood of each example (summed over its pixels or outputs)."""
        raise NotImplementedError

    def curvature_terms(self, output: Tensor, labels: str, generator: torch.Generator | None) -> list[tuple]:
        """``[(scalar, root), ...]``: the gradient of each ``scalar`` w.r.t. a layer's outputs, scaled per example by
        ``root`` ``(B,)``, is one row of that layer's output-gradient factor; the factor's expectation is the
        output Hessian of :meth:`nll` (the Gauss-Newton's middle term). ``labels`` is one of
        :data:`~invlearn.objectives.likelihoods.LABELS`."""
        raise NotImplementedError

    def hyper_values(self) -> dict[str, float]:
        """The likelihood's own learned values, for ``metrics.json`` (none)."""
        return {}

    def check_targets(self, targets: Tensor, name: str, classes: int | None = None) -> None:
        """Raise ``TypeError`` or ``ValueError`` (naming ``name``) where ``targets`` ``(B, ...)`` cannot be this
        likelihood's targets (``classes``: the number of classes, where known)."""
        raise NotImplementedError


class Categorical(Likelihood):
    """A categorical distribution over the classes in dimension 1 of the output, independently at every position
    of a dense output (one class per pixel)."""

    aggregate = "log_softmax"

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(output, target)

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        positions = math.prod(target.shape[1:])
        return F.cross_entropy(output, target) * positions

    def nll_per_example(self, output, target):
        return F.cross_entropy(output, target, reduction="none").reshape(len(target), -1).sum(dim=1)

    def check_targets(self, targets, name, classes=None):
        if targets.dtype in (torch.bool, torch.uint8) or targets.is_floating_point() or targets.is_complex():
            raise TypeError(f"{name} must be class indices (an int64 tensor), got dtype {targets.dtype}")
        if targets.ndim not in (1, 3):
            raise ValueError(f"{name} must be (B,) or (B, H, W) class indices, got shape {tuple(targets.shape)}")
        if targets.numel() and int(targets.min()) < 0:
            raise ValueError(f"{name} must be class indices >= 0, got {int(targets.min())}")
        if classes is not None and targets.numel() and int(targets.max()) >= classes:
            raise ValueError(f"{name} must be class indices below {classes}, got {int(targets.max())}")

    def curvature_terms(self, output, labels, generator):
        log_p = torch.log_softmax(output, dim=1)
        if labels == "exact":
            if output.ndim != 2:
                raise ValueError("labels='exact' needs one class per example; dense outputs use labels='sampled'")
            return [(-log_p[:, k].sum(), (log_p[:, k] / 2).exp()) for k in range(log_p.shape[1])]
        # one label per position, drawn from the model's predictive; the draw is weighted by p / p.detach() (value
        # 1, the gradient of its expectation), as sqrt(weight) on each row: exp((log p - detached) / 2)
        classes = log_p.detach().exp().movedim(1, -1).reshape(-1, log_p.shape[1])
        chosen = torch.multinomial(classes, 1, generator=generator).view(log_p.shape[:1] + log_p.shape[2:])
        picked = log_p.gather(1, chosen.unsqueeze(1)).reshape(log_p.shape[0], -1).sum(dim=1)
        return [(-picked.sum(), ((picked - picked.detach()) / 2).exp())]


class Gaussian(Likelihood):
    """``target ~ N(output, sigma^2 I)``, ``sigma`` learned by the marginal likelihood.

    Args:
        noise_std: the initial ``sigma > 0``, in the target's unit.
    """

    aggregate = "mean"

    def __init__(self, noise_std: float = 1.0) -> None:
        super().__init__()
        self.log_noise_std = nn.Parameter(torch.tensor(math.log(check_positive(noise_std, "noise_std"))))

    @property
    def noise_std(self) -> Tensor:
        """``sigma = exp(log_noise_std)``, differentiable."""
        return self.log_noise_std.exp()

    @staticmethod
    def _residual(output: Tensor, target: Tensor) -> Tensor:
        return target.reshape(output.shape).to(output.dtype) - output

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        return self._residual(output, target).square().mean()

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        return self._nll(output, self._squared(output, target).mean())

    def nll_per_example(self, output, target):
        return self._nll(output, self._squared(output, target))

    def _squared(self, output: Tensor, target: Tensor) -> Tensor:
        """``(B,)`` squared residuals, summed over each example's outputs."""
        return self._residual(output, target).square().flatten(1).sum(dim=1)

    def _nll(self, output: Tensor, squared: Tensor) -> Tensor:
        sigma = self.noise_std.to(output.device, output.dtype)
        dims = math.prod(output.shape[1:])
        return squared / (2 * sigma**2) + dims * (torch.log(sigma) + 0.5 * math.log(2 * math.pi))

    def check_targets(self, targets, name, classes=None):
        if not targets.is_floating_point():
            raise TypeError(f"{name} must be real-valued targets (a floating-point tensor), got dtype {targets.dtype}")
        check_finite(targets, name)

    def curvature_terms(self, output, labels, generator):
        root = (1 / self.noise_std).to(output.device, output.dtype).expand(output.shape[0])
        flat = output.flatten(1)
        if labels == "exact":
            return [(flat[:, d].sum(), root) for d in range(flat.shape[1])]
        noise = torch.randn(flat.shape, generator=generator, dtype=flat.dtype).to(flat.device)
        return [((flat * noise).sum(), root)]

    def hyper_values(self) -> dict[str, float]:
        return {"noise_std": float(self.noise_std.detach())}


#: A regression's noise standard deviations an evidence score tries (the target's unit).
NOISE_GRID = torch.logspace(-2, 1, 31, dtype=torch.float64)


def at_each_noise(likelihood: Likelihood) -> Iterator[tuple[int, Tensor]]:
    """``(index, noise)`` for every noise an evidence score tries, ``likelihood`` set to it: each of
    :data:`NOISE_GRID` for a :class:`Gaussian` (its ``log_noise_std`` overwritten), one pass (noise 1) otherwise."""
    if not isinstance(likelihood, Gaussian):
        yield 0, torch.ones((), dtype=torch.float64)
        return
    for i, noise in enumerate(NOISE_GRID):
        likelihood.log_noise_std.data.fill_(float(noise.log()))
        yield i, noise


def n_noises(likelihood: Likelihood) -> int:
    """How many noises :func:`at_each_noise` tries for ``likelihood``."""
    return len(NOISE_GRID) if isinstance(likelihood, Gaussian) else 1
