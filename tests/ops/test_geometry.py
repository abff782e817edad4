"""Analytic checks of the geometric image ops."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn import ops


@pytest.mark.parametrize("size", [8, 9])
def test_rotate_quarter_turn_equals_rot90(size):
    x = torch.rand(3, 2, size, size, generator=torch.Generator().manual_seed(0))
    out = ops.rotate(x, torch.full((3,), math.pi / 2))
    expected = torch.rot90(x, 1, dims=(-2, -1))
    assert torch.allclose(out[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-5)


def test_rotate_keeps_angles_on_non_square_images():
    # A point right of the centre, rotated by +90 degrees, lands above it (counter-clockwise as displayed).
    x = torch.zeros(1, 1, 21, 41)
    x[0, 0, 10, 30] = 1.0  # 10 pixels right of the centre (10, 20)
    out = ops.rotate(x, torch.tensor([math.pi / 2]))
    assert out[0, 0].argmax().item() == 0 * 41 + 20  # row 0 = 10 pixels above the centre, column 20


@pytest.mark.parametrize("shift_px", [1, 2, -3])
def test_whole_pixel_translate_equals_roll_in_interior(shift_px):
    x = torch.rand(2, 3, 10, 12, generator=torch.Generator().manual_seed(1))
    out_x = ops.translate(x, torch.tensor([[shift_px / 12, 0.0]] * 2))
    out_y = ops.translate(x, torch.tensor([[0.0, shift_px / 10]] * 2))
    k = abs(shift_px)
    assert torch.allclose(out_x[..., k:-k], torch.roll(x, shift_px, dims=-1)[..., k:-k], atol=1e-5)
    assert torch.allclose(out_y[..., k:-k, :], torch.roll(x, shift_px, dims=-2)[..., k:-k, :], atol=1e-5)


def test_scale_above_one_zooms_in():
    ramp = torch.arange(9.0).view(1, 1, 1, 9).expand(1, 1, 9, 9).contiguous()
    out = ops.scale(ramp, torch.tensor([2.0]))
    assert torch.allclose(out[0, 0, 4], 4.0 + (torch.arange(9.0) - 4.0) / 2.0, atol=1e-5)


def test_shear_x_moves_rows_in_proportion_to_their_height():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 6, 4] = 1.0  # 2 rows below the centre
    out = ops.shear(x, torch.tensor([[1.0, 0.0]]))
    assert out[0, 0, 6].argmax().item() == 6  # x' = x + 1 * y moves it 2 columns right


def test_lie_affine_matrix_pure_rotation_equals_rotation_matrix():
    angles = torch.tensor([0.3, -1.2, math.pi])
    coefficients = torch.zeros(3, 6)
    coefficients[:, ops.GENERATOR_NAMES.index("rotate")] = angles
    out = ops.lie_affine_matrix(coefficients)
    cos, sin = torch.cos(angles), torch.sin(angles)
    expected = torch.zeros(3, 3, 3)
    expected[:, 0, 0], expected[:, 0, 1], expected[:, 1, 0], expected[:, 1, 1] = cos, -sin, sin, cos
    expected[:, 2, 2] = 1.0
    assert torch.allclose(out, expected, atol=1e-6)


def test_lie_affine_matrix_translation_and_scale():
    coefficients = torch.tensor([[0.2, -0.1, 0.0, math.log(1.5), 0.0, 0.0]])
    out = ops.lie_affine_matrix(coefficients)[0]
    assert torch.allclose(out[:2, :2], 1.5 * torch.eye(2), atol=1e-6)
    assert out[0, 2] > 0 and out[1, 2] < 0  # translations, scaled by exp of the (commuting) scale part


def test_affine_accepts_2x3_and_3x3_identically():
    x = torch.rand(2, 3, 7, 5, generator=torch.Generator().manual_seed(2))
    m = ops.rotation_matrix(torch.tensor([0.4, -0.2]), 7, 5)
    assert torch.equal(ops.affine(x, m), ops.affine(x, m[:, :2]))


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_modes_selectable_and_identity_at_zero(mode, padding_mode):
    x = torch.rand(2, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    out = ops.rotate(x, torch.zeros(2), mode=mode, padding_mode=padding_mode)
    assert torch.allclose(out, x, atol=1e-5)


def test_soft_flip_blends():
    x = torch.rand(2, 1, 4, 4)
    out = ops.hflip(x, torch.tensor([1.0, 0.25]))
    assert torch.equal(out[0], x[0].flip(-1))
    assert torch.allclose(out[1], 0.75 * x[1] + 0.25 * x[1].flip(-1))
    assert torch.equal(ops.vflip(x, torch.ones(2)), x.flip(-2))


@pytest.mark.parametrize("align_corners", [True, False])
def test_sampling_grid_matches_affine_grid(align_corners):
    from invlearn.ops.geometry import _affine_grid

    theta = torch.randn(4, 2, 3, dtype=torch.float64)
    expected = torch.nn.functional.affine_grid(theta, [4, 1, 7, 5], align_corners=align_corners)
    assert torch.allclose(_affine_grid(theta, 7, 5, align_corners), expected, atol=1e-12)


def test_affine_stack_equals_separate_warps():
    x = torch.rand(3, 2, 7, 5, generator=torch.Generator().manual_seed(4))
    matrices = torch.stack(
        [ops.rotation_matrix(torch.tensor([0.3, -0.5, 1.0]), 7, 5), ops.translation_matrix(torch.rand(3, 2), 7, 5)],
        dim=1,
    )
    out = ops.affine_stack(x, matrices)
    assert out.shape == (3, 2, 2, 7, 5)
    for k in range(2):
        assert torch.allclose(out[:, k], ops.affine(x, matrices[:, k]), atol=1e-6)
