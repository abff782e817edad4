"""A Laplace approximation of the log marginal likelihood that stays differentiable in the augmentation.

LILA (Immer, van der Ouderaa, Rätsch, Fortuin, van der Wilk, NeurIPS 2022) learns invariances by maximising

    log p(D | eta) ~= log p(D | theta*, eta) + log p(theta* | delta) - 1/2 log det(P / (2 pi)),

with ``P = GGN + delta I`` the posterior precision of the weights ``theta*`` of a model whose output is averaged
over augmented copies, and ``eta`` the augmentation's parameters. The fit term rewards a model that explains the
data; the log-determinant (the Occam term) rewards an augmentation that makes the model *simpler* (flatter in
its weights) for the same fit, so an invariance wins only where the data have it.

Here the generalised Gauss-Newton is Kronecker-factored per ``Linear`` / ``Conv1d`` / ``Conv2d`` layer ("KFAC
reduce", as LILA does for averaged outputs): for the ``n``-th example, ``a_n`` is the layer's input (a ``1``
appended for the bias) averaged over augmented copies and positions, ``g_n`` the gradient of the loss with a
label drawn from the model's predictive w.r.t. the layer's output, summed over copies and positions (for a
regression's Gaussian likelihood, the output's gradient over the noise's standard deviation; see
:mod:`invlearn.objectives.likelihoods`); then

    GGN_layer ~= N (mean_n a_n a_n^T) (x) (mean_n g_n g_n^T)

on a batch of ``B`` of the ``N`` training examples, and ``log det(N A (x) G + delta I) = sum_ij log(N lambda_i
mu_j + delta)`` from the factors' eigenvalues. The output gradients come from a ``create_graph=True`` backward,
so the log-determinant carries gradients to the augmentation (the curvature is computed on augmented inputs).
``labels="exact"`` replaces the sampled label by the expectation over all ``K`` classes (``K`` backward
passes; ``D`` for a regression's ``D`` outputs): then ``G`` is the exact GGN factor, and for one layer and one
example KFAC is the exact GGN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invlearn.objectives.likelihoods import Categorical, Likelihood

#: The layers whose weights are in the Laplace approximation (everything else, e.g. batch norm, is not).
KFAC_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
#: Which layers are covered: all of them, or the last one (a cheaper last-layer Laplace).
SUBSETS = ("all", "last")
#: Prior precisions an evidence score tries (:meth:`MarginalLikelihood.evidence
#: <invlearn.objectives.MarginalLikelihood.evidence>`).
PRIOR_GRID = torch.logspace(-3, 3, 61, dtype=torch.float64)


def kfac_layers(trunk: nn.Module, subset: str = "all") -> list[nn.Module]:
    """The trunk's ``Linear`` / ``Conv1d`` / ``Conv2d`` layers in registration order (``subset="last"``: the last
    one only, a cheaper last-layer Laplace). Convolutions must pad with zeros and have one group."""
    layers = [m for m in trunk.modules() if isinstance(m, KFAC_LAYERS)]
    if not layers:
        raise ValueError("the trunk has no Linear or Conv layer: the Laplace approximation has no weights to cover")
    for layer in layers:
        if isinstance(layer, nn.Conv1d | nn.Conv2d) and (
            layer.groups != 1 or layer.padding_mode != "zeros" or layer.padding == "same"
        ):
            raise ValueError(f"KFAC supports convolutions with groups=1 and numeric zero padding, got {layer}")
    return layers[-1:] if subset == "last" else layers


def _window_sums(x: Tensor, kernel: int, dilation: int, padding: int, stride: int, length: int) -> Tensor:
    """``(..., kernel)``: for each kernel tap along ``x``'s last dimension, the sum of the inputs it meets over
    the ``length`` output positions (zero padding); a cumulative sum for stride 1, strided slices otherwise."""
    x = F.pad(x, (padding, padding))
    starts = torch.arange(kernel, device=x.device) * dilation
    if stride == 1:
        cumulative = F.pad(x.cumsum(dim=-1), (1, 0))
        return cumulative[..., starts + length] - cumulative[..., starts]
    span = (length - 1) * stride + 1
    return torch.stack([x[..., int(s) : int(s) + span : stride].sum(dim=-1) for s in starts], dim=-1)


def _mean_patches(layer: nn.Module, inputs: Tensor, outputs: Tensor) -> Tensor:
    """``(M, fan_in)``: each example's layer input averaged over output positions (for a convolution, the
    patch each output position sees, in the weight's ``(in_channels, *kernel)`` order), a ``1`` appended where
    the layer has a bias. Equals ``F.unfold(...).mean(-1)`` without building the patches."""
    if isinstance(layer, nn.Linear):
        a = inputs.flatten(1, -2).mean(dim=1) if inputs.ndim > 2 else inputs
    else:
        sums, spatial = inputs, inputs.ndim - 2
        padding = (0,) * spatial if layer.padding == "valid" else layer.padding
        for axis in range(spatial):  # the next spatial axis moves to the end and is replaced by its taps
            sums = _window_sums(
                sums.movedim(2, -1),
                layer.kernel_size[axis],
                layer.dilation[axis],
                padding[axis],
                layer.stride[axis],
                outputs.shape[2 + axis],
            )
        positions = math.prod(outputs.shape[2:])
        a = sums.flatten(1) / positions
    if layer.bias is not None:
        a = torch.cat([a, a.new_ones(a.shape[0], 1)], dim=1)
    return a


def _summed_gradients(layer: nn.Module, grad: Tensor) -> Tensor:
    """``(M, fan_out)``: the gradient w.r.t. the layer's output, summed over positions."""
    if grad.ndim == 2:
        return grad
    return grad.flatten(1, -2).sum(dim=1) if isinstance(layer, nn.Linear) else grad.flatten(2).sum(dim=-1)


@dataclass
class Factors:
    """Kronecker factors of one layer, kept as their rows: ``A = a^T a / n`` ``(fan_in, fan_in)`` and ``G = g^T g
    / n`` ``(fan_out, fan_out)``, means over a batch of ``n`` examples (so the data set's GGN block is ``n_data *
    A (x) G``). ``a`` is ``(n, fan_in)``; ``g`` is ``(R, fan_out)`` (one row per example and label used). Kept as
    rows so a wide layer (the 12,289 inputs of an MLP on 3x64x64 images) never needs its ``fan_in``-square
    factor: its non-zero eigenvalues are those of the ``n x n`` Gram matrix."""

    a: Tensor
    g: Tensor
    n: int

    @property
    def A(self) -> Tensor:
        """``(fan_in, fan_in)``: the input factor."""
        return self.a.T @ self.a / self.n

    @property
    def G(self) -> Tensor:
        """``(fan_out, fan_out)``: the output-gradient factor."""
        return self.g.T @ self.g / self.n


def kfac_factors(
    trunk: nn.Module,
    forward: Callable[[], Tensor],
    copies: int,
    layers: list[nn.Module],
    labels: str = "sampled",
    generator: torch.Generator | None = None,
    likelihood: Likelihood | None = None,
) -> tuple[Tensor, list[Factors]]:
    """Run ``forward`` and return its output with the KFAC factors of ``layers`` (each must run once in it).

    Args:
        trunk: the network whose layers are hooked while ``forward`` runs.
        forward: computes the aggregated output (logits ``(B, K)``, ``(B, K, H, W)`` per pixel, or a regression's
            ``(B, D)``), running ``trunk`` once on ``(copies * B, ...)`` copy-major augmented inputs.
        copies: the number of augmented copies ``S`` per example.
        layers: from :func:`kfac_layers`.
        labels: ``"sampled"`` (one label per example from the model's predictive; the sample is weighted by
            ``p_y / p_y.detach()`` so the factor's gradient is that of its expectation) or ``"exact"``.
        generator: source of the sampled labels.
        likelihood: what the output means (:mod:`invlearn.objectives.likelihoods`; default: a categorical over
            dimension 1).

    Returns:
        ``(logits, factors)``; both are in the autograd graph.
    """
    inputs: dict[nn.Module, Tensor] = {}
    outputs: dict[nn.Module, Tensor] = {}

    repeated: list[nn.Module] = []

    def hook(module, args, output):
        if module in outputs:
            repeated.append(module)
        inputs[module], outputs[module] = args[0], output

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.enable_grad():  # the output gradients need a graph, also when called under no_grad
            logits = forward()
    finally:
        for handle in handles:
            handle.remove()
    missing = [layer for layer in layers if layer not in outputs]
    if missing:
        raise ValueError(f"the forward pass did not run {len(missing)} of the trunk's layers (e.g. {missing[0]})")
    if repeated:
        raise ValueError(f"the forward pass ran a layer twice ({repeated[0]}); KFAC needs each layer once")
    batch = logits.shape[0]
    with torch.enable_grad():
        likelihood = Categorical() if likelihood is None else likelihood
        terms = likelihood.curvature_terms(logits, labels, generator)
    means = {
        layer: _mean_patches(layer, inputs[layer], outputs[layer]).view(copies, batch, -1).mean(dim=0)
        for layer in layers
    }
    g_rows: dict[nn.Module, list[Tensor]] = {layer: [] for layer in layers}
    for scalar, root in terms:
        targets = [outputs[layer] for layer in layers]
        grads = torch.autograd.grad(scalar, targets, retain_graph=True, create_graph=torch.is_grad_enabled())
        for layer, grad in zip(layers, grads, strict=True):
            g = _summed_gradients(layer, grad).view(copies, batch, -1).sum(dim=0)
            g_rows[layer].append(g * root[:, None])
    factors = [Factors(means[layer], torch.cat(g_rows[layer]), batch) for layer in layers]
    return logits, factors


def _spectrum(rows: Tensor, n: int) -> Tensor:
    """The eigenvalues of ``rows^T rows / n`` that can be non-zero (clamped at 0), in float64: those of the
    smaller of the two Gram matrices (at most ``min(R, d)`` of ``d``; the others are exactly 0)."""
    rows = rows.double()
    gram = rows @ rows.T if rows.shape[0] < rows.shape[1] else rows.T @ rows
    return torch.linalg.eigvalsh(gram / n).clamp(min=0)


def kfac_spectra(factors: Factors) -> tuple[Tensor, Tensor, int]:
    """``(eigenvalues of A, eigenvalues of G, weights)`` of one layer's factors: all that :func:`kfac_log_det`
    needs of them (float64; the eigenvalues that can be non-zero, and the number of weights ``d_A * d_G``)."""
    return _spectrum(factors.a, factors.n), _spectrum(factors.g, factors.n), factors.a.shape[1] * factors.g.shape[1]


def spectra_log_det(spectra: tuple[Tensor, Tensor, int], n_data: int, prior_precision: Tensor) -> Tensor:
    """``log det(n_data * A (x) G + delta I)`` in float64 from :func:`kfac_spectra` (each pair with a zero
    eigenvalue adds ``log delta``): one eigendecomposition serves every prior precision tried."""
    a, g, pairs = spectra
    delta = prior_precision.double()
    paired = torch.log(n_data * torch.outer(a, g) + delta).sum()
    return paired + (pairs - a.numel() * g.numel()) * torch.log(delta)


def kfac_log_det(factors: Factors, n_data: int, prior_precision: Tensor) -> Tensor:
    """``log det(n_data * A (x) G + delta I)`` from the eigenvalues of ``A`` and ``G`` (float64, computed from
    the factors' rows; each pair with a zero eigenvalue adds ``log delta``)."""
    return spectra_log_det(kfac_spectra(factors), n_data, prior_precision).to(factors.a.dtype)


def n_weights(layers: list[nn.Module]) -> int:
    """The number of weights (and biases) the approximation covers."""
    return sum(p.numel() for layer in layers for p in layer.parameters(recurse=False))


def squared_norm(layers: list[nn.Module]) -> Tensor:
    """``||theta||^2`` of the covered weights (in the graph, for the prior's weight decay)."""
    return sum((p.square().sum() for layer in layers for p in layer.parameters(recurse=False)), torch.zeros(()))


def log_marginal_likelihood(
    mean_loss: Tensor,
    factors: list[Factors],
    layers: list[nn.Module],
    n_data: int,
    prior_precision: Tensor,
    spectra: list[tuple[Tensor, Tensor, int]] | None = None,
) -> Tensor:
    """LILA's Laplace-KFAC log marginal likelihood, up to constants that depend on nothing learned:

    ``-N mean_loss - delta/2 ||theta||^2 + P/2 log delta - 1/2 sum_layers log det(N A (x) G + delta I)``,

    with ``mean_loss`` the negative log-likelihood per example on the batch, ``N = n_data``, ``P`` the number of
    covered weights and ``delta`` the (scalar) prior precision. ``spectra`` (the factors' :func:`kfac_spectra`,
    computed once) spares the eigendecompositions where many precisions are tried on the same factors; its
    log-determinants stay in float64.
    """
    theta = squared_norm(layers).to(mean_loss.device)
    if spectra is None:
        occam = sum(kfac_log_det(f, n_data, prior_precision) for f in factors)
    else:
        occam = sum(spectra_log_det(s, n_data, prior_precision) for s in spectra)
    return (
        -n_data * mean_loss
        - prior_precision / 2 * theta
        + n_weights(layers) / 2 * torch.log(prior_precision)
        - occam / 2
    )
