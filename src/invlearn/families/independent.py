"""Independent candidates: every augmentation applied to every example, each with its own learnable range.

Where an :class:`~invlearn.families.augnet.AugmentationLayer` makes its candidates compete through a softmax (one is
picked per example), :class:`IndependentCandidates` composes them all: each example is rotated *and* shifted
*and* scaled..., each by a value drawn within that candidate's own range, so a range is learned without
competing with the others (LILA's parameterisation, extended to any candidate of the catalogue). Affine
candidates compose into one warp (the product of their sampling matrices, in the given order, so the image is
resampled once); the others follow one after another, in the given order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from invlearn import ops
from invlearn.augmentations import AffineAugmentation, Augmentation
from invlearn.families.composite import CompositeTransform, candidate_list, common_modality, unprefixed


class IndependentCandidates(CompositeTransform):
    """All candidates applied to every example, each with its own learnable magnitude (or probability).

    Args:
        augmentations: the ``Q >= 1`` candidates: :class:`~invlearn.augmentations.Augmentation` instances or
            registry names; one modality, no name twice. Affine candidates must share their warp options.
    """

    def __init__(self, augmentations: Sequence[Augmentation | str]) -> None:
        super().__init__()
        candidates = candidate_list(augmentations)
        self.modality = common_modality(candidates, "augmentations")
        warps = {(c.mode, c.padding_mode, c.align_corners) for c in candidates if isinstance(c, AffineAugmentation)}
        if len(warps) > 1:
            raise ValueError(f"the affine candidates must share mode, padding_mode and align_corners, got {warps}")
        self.candidates = nn.ModuleList(candidates)

    @property
    def parts(self) -> nn.ModuleList:
        return self.candidates

    def _affine(self) -> list[int]:
        return [q for q, c in enumerate(self.candidates) if isinstance(c, AffineAugmentation)]

    @property
    def align_corners(self) -> bool:
        """The affine candidates' ``align_corners`` (True where there are none)."""
        affine = self._affine()
        return self.candidates[affine[0]].align_corners if affine else True

    def _composed(self, params: Mapping[str, Tensor], height: int, width: int) -> Tensor:
        """``(B, 3, 3)``: the product of the affine candidates' sampling matrices, in the given order."""
        matrices = [self.candidates[q].matrix(unprefixed(q, params), height, width) for q in self._affine()]
        composed = matrices[0]
        for matrix in matrices[1:]:
            composed = torch.bmm(composed, matrix)
        return composed

    def apply_transform(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        affine = self._affine()
        if affine:
            first = self.candidates[affine[0]]
            composed = self._composed(params, x.shape[-2], x.shape[-1])
            x = ops.affine(x, composed.to(x.dtype), first.mode, first.padding_mode, first.align_corners)
        for q, candidate in enumerate(self.candidates):
            if q not in affine:
                x = candidate.apply_transform(x, unprefixed(q, params))
        return x

    def warp_matrix(self, params, height, width) -> Tensor:
        """The composed warp of the affine candidates; a non-affine candidate (whose pixel motion, if any, is not
        an invertible warp) is refused."""
        others = [c.name for c in self.candidates if not isinstance(c, AffineAugmentation)]
        if others:
            raise ValueError(f"the candidates {others} are not affine warps: a dense target cannot move with them")
        return self._composed(params, height, width)
