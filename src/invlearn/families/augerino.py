"""Augerino's augmentation distribution (Benton, Finzi, Izmailov, Wilson, 2020).

:class:`UniformLieAffine` draws, for every example, coefficients ``a_k = eps_k * w_k`` with
``eps ~ U(-1/2, 1/2)`` and learnable widths ``w = softplus(width_raw)``, and warps the image by
``expm(sum_k a_k G_k)`` over a subset of the six affine generators (see :mod:`invlearn.ops.geometry`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from invlearn import ops
from invlearn._validation import check_choice, check_positive, checking
from invlearn.augmentations.base import Params, RandomTransform
from invlearn.augmentations.noise import uniform
from invlearn.ops.geometry import GENERATOR_NAMES, INTERPOLATIONS, PADDINGS

#: Scale of the two translation generators, as in the reference code.
TRANSLATION_SCALE = 0.1

#: Physical reading of a coefficient of each generator: (unit, factor from the coefficient to that unit).
#: Translations: the coefficient (times 0.1) is in normalised coordinates, where the width spans 2.
GENERATOR_UNITS = {
    "translate_x": ("fraction of width", TRANSLATION_SCALE / 2),
    "translate_y": ("fraction of height", TRANSLATION_SCALE / 2),
    "rotate": ("rad", 1.0),
    "scale": ("log of the zoom factor", 1.0),
    "stretch": ("log of the x stretch (y by its inverse)", 1.0),
    "shear": ("symmetric shear coefficient", 1.0),
}

#: The half-range of each generator counted as its full extent (:meth:`~invlearn.families.UniformLieAffine.extent`), in
#: the units of :data:`GENERATOR_UNITS`: the full circle, half the image, a zoom or stretch by 2, a shear of 1.
FULL_RANGES = {
    "translate_x": 0.5,
    "translate_y": 0.5,
    "rotate": math.pi,
    "scale": math.log(2.0),
    "stretch": math.log(2.0),
    "shear": 1.0,
}


def _inverse_softplus(value: Tensor) -> Tensor:
    return value + torch.log(-torch.expm1(-value))


class UniformLieAffine(RandomTransform):
    """Per-example affine warps drawn uniformly over a box in the affine Lie algebra.

    Args:
        init_width: initial width ``w_k > 0`` of every generator, or one per generator. The default,
            ``ln 2 = softplus(0)``, is the reference code's initialisation. A rotation width ``w`` samples
            rotations in ``[-w / 2, w / 2]`` radians.
        generators: names from ``("translate_x", "translate_y", "rotate", "scale", "stretch", "shear")``.
        mode, padding_mode, align_corners: warp options of :func:`invlearn.ops.affine` (the reference uses
            bilinear, zeros, True).
    """

    modality = "image"

    def __init__(
        self,
        init_width: float | Sequence[float] = math.log(2.0),
        generators: Sequence[str] = GENERATOR_NAMES,
        mode: str = "bilinear",
        padding_mode: str = "zeros",
        align_corners: bool = True,
    ) -> None:
        super().__init__()
        names = tuple(generators)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"generators must be distinct names from {GENERATOR_NAMES}, got {names}")
        for name in names:
            check_choice(name, "generators", GENERATOR_NAMES)
        widths = [init_width] * len(names) if isinstance(init_width, (int, float)) else list(init_width)
        if len(widths) != len(names):
            raise ValueError(f"init_width must be one number or {len(names)} numbers, got {len(widths)}")
        widths = [check_positive(w, "init_width") for w in widths]
        self.generator_names = names
        index = [GENERATOR_NAMES.index(n) for n in names]
        gen_scale = torch.tensor([TRANSLATION_SCALE if n.startswith("translate") else 1.0 for n in names])
        self.register_buffer("generators", ops.AFFINE_GENERATORS[index].float() * gen_scale.view(-1, 1, 1), False)
        self.width_raw = nn.Parameter(_inverse_softplus(torch.tensor(widths, dtype=torch.float64)).float())
        self.mode = check_choice(mode, "mode", INTERPOLATIONS)
        self.padding_mode = check_choice(padding_mode, "padding_mode", PADDINGS)
        self.align_corners = bool(align_corners)

    @property
    def widths(self) -> Tensor:
        """``(K,)`` learnable widths ``softplus(width_raw)``, differentiable."""
        return F.softplus(self.width_raw)

    def set_widths(self, widths: float | Sequence[float]) -> None:
        """Set the widths (in place, no gradient); one number for all generators or one per generator."""
        values = [widths] * len(self.generator_names) if isinstance(widths, (int, float)) else list(widths)
        if len(values) != len(self.generator_names):
            raise ValueError(f"widths must be one number or {len(self.generator_names)} numbers")
        target = torch.tensor([check_positive(v, "widths") for v in values], dtype=torch.float64)
        with torch.no_grad():
            self.width_raw.copy_(_inverse_softplus(target))

    def generate_parameters(self, batch_size, generator, device, shape) -> Params:
        return {"eps": uniform((batch_size, len(self.generator_names)), generator, device, -0.5, 0.5)}

    def matrix(self, params: Mapping[str, Tensor]) -> Tensor:
        """``(B, 3, 3)`` sampling matrices ``expm(sum_k eps_k w_k G_k)`` of a draw (``params`` from
        :meth:`~invlearn.augmentations.RandomTransform.sample`)."""
        if checking():
            self.check_params(params, None, None)
        eps = params["eps"]
        widths = self.widths
        return ops.lie_affine_matrix(eps.to(widths.dtype) * widths, generators=self.generators.to(widths.dtype))

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        return ops.affine(x, self.matrix(params).to(x.dtype), self.mode, self.padding_mode, self.align_corners)

    def warp_matrix(self, params, height, width) -> Tensor:
        return self.matrix(params)

    def extent(self) -> Tensor:
        """The sum over generators of the half-range sampled now over its full range
        (:data:`~invlearn.families.augerino.FULL_RANGES`), differentiable."""
        factors = [GENERATOR_UNITS[name][1] / (2 * FULL_RANGES[name]) for name in self.generator_names]
        return (self.widths * torch.tensor(factors, dtype=self.widths.dtype, device=self.widths.device)).sum()

    def ranges(self) -> dict[str, dict]:
        """Per generator: ``{"low", "high", "unit", "width"}``, the physical interval currently sampled."""
        out = {}
        for name, width in zip(self.generator_names, self.widths.detach().tolist(), strict=True):
            unit, factor = GENERATOR_UNITS[name]
            out[name] = {"low": -width / 2 * factor, "high": width / 2 * factor, "unit": unit, "width": width}
        return out
