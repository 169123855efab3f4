"""Equivariant normalisation of spherical tensors ``[..., (L+1)**2, C]`` (as in EquiformerV2).

- :class:`EquivariantLayerNorm`: degree 0 gets a layer norm over channels (centred, scaled, affine with bias);
  each degree ``l > 0`` is divided by its RMS over ``m`` and channels and scaled per channel. No mean is
  subtracted for ``l > 0``, so every degree stays equivariant.
- :class:`EquivariantRMSNorm`: one RMS over all degrees (each degree weighted equally, whatever ``2l + 1``),
  optional centring of degree 0, per-degree-and-channel scale.
"""

from __future__ import annotations

import torch

from .._checks import check_spherical_tensor
from ..so3.spherical_tensor import degree_index

__all__ = ["EquivariantLayerNorm", "EquivariantRMSNorm"]


class EquivariantLayerNorm(torch.nn.Module):
    """Per-degree layer norm of ``[..., (L+1)**2, C]`` spherical tensors (shape kept)."""

    def __init__(self, lmax: int, channels: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.lmax, self.channels, self.eps = lmax, channels, eps
        self.weight = torch.nn.Parameter(torch.ones(lmax + 1, channels)) if affine else None
        self.bias = torch.nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spherical_tensor("x", x, lmax=self.lmax, channels=self.channels)
        parts = []
        for l in range(self.lmax + 1):
            block = x[..., l * l : (l + 1) ** 2, :]
            if l == 0:
                block = block - block.mean(-1, keepdim=True)
            block = block * torch.rsqrt(block.pow(2).mean((-2, -1), keepdim=True) + self.eps)
            if self.weight is not None:
                block = block * self.weight[l].to(x.dtype)
                if l == 0:
                    block = block + self.bias.to(x.dtype)
            parts.append(block)
        return torch.cat(parts, dim=-2)


class EquivariantRMSNorm(torch.nn.Module):
    """Degree-balanced RMS norm of ``[..., (L+1)**2, C]`` spherical tensors (shape kept)."""

    def __init__(self, lmax: int, channels: int, eps: float = 1e-5, affine: bool = True, centre: bool = True):
        super().__init__()
        self.lmax, self.channels, self.eps, self.centre = lmax, channels, eps, centre
        self.weight = torch.nn.Parameter(torch.ones(lmax + 1, channels)) if affine else None
        balance = torch.cat([torch.full((2 * l + 1,), 1.0 / ((2 * l + 1) * (lmax + 1))) for l in range(lmax + 1)])
        self.register_buffer("balance", balance, persistent=False)
        self.register_buffer("degree_index", degree_index(lmax).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spherical_tensor("x", x, lmax=self.lmax, channels=self.channels)
        if self.centre:
            x = torch.cat([x[..., :1, :] - x[..., :1, :].mean(-1, keepdim=True), x[..., 1:, :]], dim=-2)
        mean_square = (x.pow(2).mean(-1) * self.balance.to(x.dtype)).sum(-1)[..., None, None]
        y = x * torch.rsqrt(mean_square + self.eps)
        if self.weight is not None:
            y = y * self.weight.to(x.dtype)[self.degree_index]
        return y
