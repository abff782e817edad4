"""float64 gradient checks of the differentiable ops that no single augmentation module covers: the general
affine warp, the Lie exponential (Augerino's path), two-sided shear, per-channel Fourier phases, time masks
w.r.t. their start, and the relaxed Bernoulli mask."""

from __future__ import annotations

import math

import torch
from torch.autograd import gradcheck

from invlearn import ops

DOUBLE = {"dtype": torch.float64}


def test_affine_wrt_input_and_matrix():
    x = torch.rand(2, 2, 5, 6, **DOUBLE, requires_grad=True)
    matrix = (torch.eye(3, **DOUBLE)[:2] + 0.1 * torch.randn(2, 2, 3, **DOUBLE)).requires_grad_(True)
    assert gradcheck(ops.affine, (x, matrix))


def test_lie_affine_matrix_and_warp_wrt_coefficients():
    coefficients = (0.3 * torch.randn(3, 6, **DOUBLE)).requires_grad_(True)
    assert gradcheck(ops.lie_affine_matrix, (coefficients,))
    x = torch.rand(3, 1, 6, 6, **DOUBLE)
    assert gradcheck(lambda c: ops.affine(x, ops.lie_affine_matrix(c)), (coefficients,))


def test_shear_with_both_factors():
    x = torch.rand(2, 1, 6, 6, **DOUBLE, requires_grad=True)
    factors = (0.2 * torch.randn(2, 2, **DOUBLE)).requires_grad_(True)
    assert gradcheck(ops.shear, (x, factors))


def test_ft_surrogate_with_per_channel_phases():
    x = torch.randn(2, 3, 16, **DOUBLE, requires_grad=True)
    magnitude = torch.tensor([0.3, 0.8], **DOUBLE, requires_grad=True)
    phases = 2 * math.pi * torch.rand(2, 3, 9, **DOUBLE)
    assert gradcheck(lambda a, m: ops.ft_surrogate(a, m, phases), (x, magnitude))


def test_time_mask_wrt_start_and_length():
    x = torch.randn(2, 2, 30, **DOUBLE)
    start = torch.tensor([3.3, 10.7], **DOUBLE, requires_grad=True)
    length = torch.tensor([5.2, 0.5], **DOUBLE, requires_grad=True)
    assert gradcheck(lambda s, n: ops.time_mask(x, s, n), (start, length))


def test_relaxed_bernoulli_mask_wrt_probability():
    uniform = torch.rand(4, 5, **DOUBLE)
    probability = torch.tensor([[0.0], [0.2], [0.5], [0.9]], **DOUBLE, requires_grad=True)
    assert gradcheck(lambda p: ops.bernoulli_mask(p, uniform, sharpness=20.0), (probability,))
    soft = ops.bernoulli_mask(probability, uniform, sharpness=20.0)
    assert torch.equal(soft[0], torch.zeros(5, **DOUBLE))  # p = 0 is exactly "never"
    (grad,) = torch.autograd.grad(soft[0].sum(), probability)
    assert grad[0, 0] > 0  # ... yet p = 0 still receives a gradient, so it can grow


def test_affine_stack_wrt_input_and_matrices():
    x = torch.rand(2, 1, 5, 4, **DOUBLE, requires_grad=True)
    matrices = (torch.eye(3, **DOUBLE)[:2] + 0.1 * torch.randn(2, 3, 2, 3, **DOUBLE)).requires_grad_(True)
    assert gradcheck(ops.affine_stack, (x, matrices))
