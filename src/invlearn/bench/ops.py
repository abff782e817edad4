"""``invlearn bench ops``: forward+backward time of every registered augmentation, against kornia's
equivalent where it has one, and of the Augerino augmentation against the ODE matrix exponential of the
original code.

Each row times one call ``aug(x)`` followed by a backward pass of ``out.sum()`` into the learnable strength,
on a 128x3x32x32 image batch or a 64x2x3000 signal batch. A baseline is timed in the same process,
interleaved with ours, on the same input with the same reparameterisation (per-example value
``u * magnitude * scale``, magnitude a leaf requiring grad).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from invlearn import augmentations, ops
from invlearn.bench.timing import interleaved_medians, machine, pin_allocator, result_row
from invlearn.families.augerino import UniformLieAffine

IMAGE_SHAPE = (128, 3, 32, 32)
SIGNAL_SHAPE = (64, 2, 3000)
#: Point sets: 128 molecules of at most 29 atoms, coordinates + 5 one-hot elements + the mask (QM9's layout).
POINTS_SHAPE = (128, 29, 9)
SFREQ = 100.0


def _kornia_baselines(height: int, width: int) -> dict[str, tuple[str, Callable]]:
    """kornia functions with the same operation, as ``name -> (label, f(x, value))``; ``value`` is the
    per-example physical value in our augmentation's unit."""
    import kornia.enhance as ke
    import kornia.geometry.transform as kt

    zeros = torch.zeros_like
    return {
        "rotate": ("kornia.geometry.transform.rotate", lambda x, v: kt.rotate(x, torch.rad2deg(v))),
        "translate_x": (
            "kornia.geometry.transform.translate",
            lambda x, v: kt.translate(x, torch.stack([v * width, zeros(v)], -1)),
        ),
        "translate_y": (
            "kornia.geometry.transform.translate",
            lambda x, v: kt.translate(x, torch.stack([zeros(v), v * height], -1)),
        ),
        "scale": ("kornia.geometry.transform.scale", lambda x, v: kt.scale(x, torch.exp(v)[:, None].expand(-1, 2))),
        "shear_x": (
            "kornia.geometry.transform.shear",
            lambda x, v: kt.shear(x, torch.stack([v, zeros(v)], -1), align_corners=True),
        ),
        "shear_y": (
            "kornia.geometry.transform.shear",
            lambda x, v: kt.shear(x, torch.stack([zeros(v), v], -1), align_corners=True),
        ),
        "brightness": ("kornia.enhance.adjust_contrast (multiplicative)", lambda x, v: ke.adjust_contrast(x, 1 + v)),
        "contrast": (
            "kornia.enhance.adjust_contrast_with_mean_subtraction",
            lambda x, v: ke.adjust_contrast_with_mean_subtraction(x, 1 + v),
        ),
        "saturation": (
            "kornia.enhance.adjust_saturation_with_gray_subtraction",
            lambda x, v: ke.adjust_saturation_with_gray_subtraction(x, 1 + v),
        ),
        "hue": ("kornia.enhance.adjust_hue (HSV)", lambda x, v: ke.adjust_hue(x, 2 * math.pi * v)),
        "sharpness": ("kornia.enhance.sharpness", lambda x, v: ke.sharpness(x, 1 + v)),
    }


def _input(modality: str, generator: torch.Generator) -> torch.Tensor:
    if modality == "image":
        return torch.rand(IMAGE_SHAPE, generator=generator)
    if modality == "points":
        batch, atoms, channels = POINTS_SHAPE
        elements = torch.randint(0, channels - 4, (batch, atoms), generator=generator)
        coordinates = torch.randn(batch, atoms, 3, generator=generator)
        return torch.cat([coordinates, torch.eye(channels - 4)[elements], torch.ones(batch, atoms, 1)], dim=-1)
    return torch.randn(SIGNAL_SHAPE, generator=generator)


def _augmentation_step(aug: augmentations.Augmentation, x: torch.Tensor, generator) -> Callable[[], None]:
    def step() -> None:
        aug.zero_grad(set_to_none=True)
        aug(x, generator=generator).sum().backward()

    return step


def _baseline_step(aug, fn, x, generator) -> Callable[[], None]:
    magnitude = torch.tensor(float(aug.magnitude.detach()), requires_grad=True)

    def step() -> None:
        magnitude.grad = None
        u = 2 * torch.rand(x.shape[0], generator=generator) - 1
        fn(x, u * magnitude * aug.scale).sum().backward()

    return step


def augmentation_rows(repeats: int, names: list[str] | None = None) -> list[dict]:
    """One row per registered augmentation (all of them by default)."""
    generator = torch.Generator().manual_seed(0)
    baselines = _kornia_baselines(*IMAGE_SHAPE[-2:])
    rows = []
    for name in names or augmentations.available():
        cls = augmentations.get(name)
        kwargs = {"sfreq": SFREQ} if cls.needs_sfreq else {}
        aug = cls(**kwargs).train()
        x = _input(aug.modality, generator)
        steps = {"ours": _augmentation_step(aug, x, generator)}
        if name in baselines:
            label, fn = baselines[name]
            steps["baseline"] = _baseline_step(aug, fn, x, generator)
        medians = interleaved_medians(steps, repeats)
        label = baselines[name][0] if name in baselines else None
        rows.append(result_row(name, medians["ours"], label, medians.get("baseline")))
    return rows


def ode_matrix_exp(algebra: torch.Tensor) -> torch.Tensor:
    """``exp(A)`` for ``(B, d, d)`` matrices by integrating ``dX/dt = A X`` from ``I`` over ``[0, 1]`` with
    torchdiffeq's dopri5 at rtol 1e-4: the method of the original Augerino code (benchmark baseline)."""
    from torchdiffeq import odeint

    eye = torch.eye(algebra.shape[-1], dtype=algebra.dtype).expand_as(algebra).contiguous()
    times = torch.tensor([0.0, 1.0], dtype=algebra.dtype)
    return odeint(lambda t, state: algebra @ state, eye, times, method="dopri5", rtol=1e-4)[-1]


def _original_warp(x: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """The warp of the original Augerino code: ``affine_grid`` + ``grid_sample``, bilinear, zero padding."""
    grid = F.affine_grid(matrices[:, :2, :], list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def augerino_rows(repeats: int) -> list[dict]:
    """Forward+backward of the matrix exponential of 128 3x3 algebra elements, and of the whole Augerino
    augmentation (:class:`~invlearn.families.augerino.UniformLieAffine`: sample, exponential, one warp) on
    128x3x32x32, against the original code's ODE exponential (and its ``affine_grid`` warp) on the same draws."""
    generator = torch.Generator().manual_seed(0)
    augmentation = UniformLieAffine()
    x = torch.rand(IMAGE_SHAPE, generator=generator)
    batch = IMAGE_SHAPE[0]

    def ode_exponential(coefficients: torch.Tensor) -> torch.Tensor:
        return ode_matrix_exp(torch.einsum("bk,kij->bij", coefficients, augmentation.generators))

    def original_augmentation() -> torch.Tensor:
        eps = augmentation.sample(batch, generator)["eps"]
        return _original_warp(x, ode_exponential(eps * augmentation.widths))

    def step(loss: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run_once() -> None:
            augmentation.zero_grad(set_to_none=True)
            loss().backward()

        return run_once

    # The exponential alone: fixed coefficients (a leaf), forward+backward, as in the yardstick.
    fixed = (augmentation.sample(batch, generator)["eps"] * augmentation.widths).detach().requires_grad_(True)

    def exponential(fn) -> Callable[[], None]:
        def run_once() -> None:
            fixed.grad = None
            fn(fixed).sum().backward()

        return run_once

    label = "torchdiffeq.odeint dopri5 rtol=1e-4 (original Augerino)"
    exp = interleaved_medians(
        {
            "ours": exponential(lambda c: ops.lie_affine_matrix(c, generators=augmentation.generators)),
            "baseline": exponential(ode_exponential),
        },
        repeats,
    )
    aug = interleaved_medians(
        {
            "ours": step(lambda: augmentation(x, generator).sum()),
            "baseline": step(lambda: original_augmentation().sum()),
        },
        repeats,
    )
    return [
        result_row("lie_matrix_exp", exp["ours"], label, exp["baseline"]),
        result_row("augerino_augmentation", aug["ours"], label + " + affine_grid/grid_sample", aug["baseline"]),
    ]


def run(repeats: int = 30, names: list[str] | None = None) -> dict:
    """The ``ops`` suite as a JSON-serialisable dict (schema in the docs: results/benchmarks.md)."""
    pin_allocator()
    rows = augmentation_rows(repeats, names)
    if names is None:
        rows += augerino_rows(repeats)
    return {"suite": "ops", "machine": machine(), "torch": torch.__version__, "results": rows}
