"""Facet sphere-grid mixing layer: linear up, values on the grid, one MLP over channels shared by every grid
point, back to coefficients, linear down.

``x [..., (L+1)**2, C] -> [..., (L_out+1)**2, C]``. The MLP acts on the ``H`` channel values at each point of the
sphere, so the layer is equivariant exactly when the MLP is a polynomial of degree ``d`` and the grid integrates
degree ``(d + 1) L`` exactly (for example ``activation=torch.square``), and up to the quadrature error otherwise
(the grid's ``resolution`` controls it; see :class:`~torch_gaunt.nn.SphereGridActivation`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_spherical_tensor
from ..products import pointwise_on_sphere
from .linear import SphericalLinear

__all__ = ["FacetMixing"]


class FacetMixing(torch.nn.Module):
    """Linear ``C -> H`` per degree, grid values, MLP ``H -> mlp_hidden -> H`` at each point, projection, linear ``H -> C``.

    Args:
        lmax: input degree; ``lmax_out`` the output degree (default ``lmax``).
        channels: ``C``; ``hidden``: ``H``; ``mlp_hidden``: width of the pointwise MLP (default ``H``).
        activation: of the MLP (default SiLU).
        resolution: total degree the grid integrates exactly (default ``3 lmax + lmax_out``).
    """

    def __init__(
        self,
        lmax: int,
        channels: int,
        hidden: int,
        mlp_hidden: int | None = None,
        activation: Callable | None = None,
        lmax_out: int | None = None,
        resolution: int | None = None,
    ):
        super().__init__()
        self.lmax, self.lmax_out = lmax, lmax if lmax_out is None else lmax_out
        self.channels, self.hidden = channels, hidden
        self.up = SphericalLinear(lmax, channels, hidden)
        width = hidden if mlp_hidden is None else mlp_hidden
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(hidden, width),
            _Lambda(activation or torch.nn.functional.silu),
            torch.nn.Linear(width, hidden),
        )
        self.down = SphericalLinear(self.lmax_out, hidden, channels)
        self.resolution = 3 * lmax + self.lmax_out if resolution is None else resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spherical_tensor("x", x, lmax=self.lmax, channels=self.channels)
        return self.down(pointwise_on_sphere(self.up(x), self.mlp, self.lmax_out, self.resolution))

    def extra_repr(self) -> str:
        return (
            f"lmax={self.lmax} -> {self.lmax_out}, channels={self.channels}, hidden={self.hidden}, "
            f"resolution={self.resolution}"
        )


class _Lambda(torch.nn.Module):
    def __init__(self, fn: Callable):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)
