"""A trunk for 3-D point sets ``(B, N, 3 + C)`` (see :mod:`invlearn.ops.points`) that is not rotation invariant."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class _Attention(nn.Module):
    """Multi-head self-attention over the real points (padding is never attended to), with its own ``Linear``
    projections so every weight is a ``Linear`` layer run once (as the Laplace approximation needs)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width must be a multiple of heads, got width={width}, heads={heads}")
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, n, width = x.shape

        def split(t: Tensor) -> Tensor:
            return t.view(b, n, self.heads, width // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(width // self.heads)
        scores = scores.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
        attended = torch.softmax(scores, dim=-1) @ v
        return self.out(attended.transpose(1, 2).reshape(b, n, width))


class PointTransformer(nn.Module):
    """A small transformer on raw coordinates: each real point's ``x, y, z`` and features (the mask excluded) are
    embedded by a linear layer, ``depth`` pre-norm blocks of self-attention and a two-layer feed-forward network
    follow, the points are averaged (mask-weighted) and a two-layer head gives the outputs. Coordinates enter
    linearly, so nothing in it is invariant to rotations: an invariance has to be learned.

    Args:
        point_channels: ``3 + C`` values per point (coordinates, features, the mask last).
        n_classes: outputs ``(B, n_classes)``.
        width: the embedding's size.
        depth: transformer blocks.
        heads: attention heads (dividing ``width``).
    """

    def __init__(self, point_channels: int = 9, n_classes: int = 1, width: int = 64, depth: int = 2, heads: int = 4):
        super().__init__()
        if point_channels < 4 or depth < 1:
            raise ValueError(f"point_channels must be >= 4 and depth >= 1, got {point_channels} and {depth}")
        self.embed = nn.Linear(point_channels - 1, width)
        self.blocks = nn.ModuleList(
            nn.ModuleDict(
                {
                    "norm1": nn.LayerNorm(width),
                    "attention": _Attention(width, heads),
                    "norm2": nn.LayerNorm(width),
                    "expand": nn.Linear(width, 2 * width),
                    "contract": nn.Linear(2 * width, width),
                }
            )
            for _ in range(depth)
        )
        self.hidden = nn.Linear(width, width)
        self.head = nn.Linear(width, n_classes)

    def forward(self, points: Tensor) -> Tensor:
        mask = points[..., -1]
        x = self.embed(points[..., :-1])
        for block in self.blocks:
            x = x + block["attention"](block["norm1"](x), mask)
            x = x + block["contract"](torch.relu(block["expand"](block["norm2"](x))))
        pooled = (x * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        return self.head(torch.relu(self.hidden(pooled)))
