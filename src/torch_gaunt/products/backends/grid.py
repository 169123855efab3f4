"""Sphere-grid executor (Xie et al., ICML 2025): synthesise both inputs on a Gauss-Legendre x equispaced grid
sized for the requested output degree, multiply pointwise, integrate back. O(L^3) per channel.

The grid has an even number of φ nodes, so every transform runs on half of them (``φ_j`` and ``φ_j + π``
share the work; see :mod:`torch_gaunt.sphere.grid`), and the pointwise product is taken in that form:
``(E_x E_y + O_x O_y, E_x O_y + O_x E_y)``.
"""

from __future__ import annotations

import torch

from ...sphere.grid import (
    analysis_halves,
    from_order_major,
    multiply_halves,
    sphere_grid,
    synthesis_halves,
    to_order_major,
)
from ..description import GauntDescription


def _grid_size(desc: GauntDescription) -> tuple[int, int]:
    n_theta, n_phi = desc.grid_size
    return n_theta, n_phi + n_phi % 2  # even, for the half-grid transforms


# the half-grid tables each side reads
SYNTHESIS = ("gather", "legendre", "fourier")
ANALYSIS = ("fourier_weighted", "legendre_weighted", "scatter")


def tables(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    """Half-grid tables of both inputs (synthesis) and of the output (weighted analysis)."""
    n_theta, n_phi = _grid_size(desc)
    out = {}
    for name, lmax, keys in (
        ("1", desc.lmax1, SYNTHESIS),
        ("2", desc.lmax2, SYNTHESIS),
        ("_out", desc.lmax_out, ANALYSIS),
    ):
        halves = sphere_grid(lmax, n_theta, n_phi, dtype, device).halves
        out.update({f"{key}{name}": halves[key] for key in keys})
    return out


def _halves(t: dict[str, torch.Tensor], name: str, keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
    return {key: t[f"{key}{name}"] for key in keys}


def run(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, t: dict[str, torch.Tensor]) -> torch.Tensor:
    n_theta, n_phi = _grid_size(desc)
    _, M, C = x.shape
    parts_x = synthesis_halves(to_order_major(x, t["gather1"], desc.lmax1), _halves(t, "1", SYNTHESIS))
    parts_y = synthesis_halves(to_order_major(y, t["gather2"], desc.lmax2), _halves(t, "2", SYNTHESIS))
    parts_x = parts_x.view(2, n_phi // 2, n_theta, M, C)
    parts_y = parts_y.view(2, n_phi // 2, n_theta, M, y.shape[-1])
    product = multiply_halves(parts_x, parts_y).view(2, n_phi // 2, -1)
    block = analysis_halves(product, _halves(t, "_out", ANALYSIS), n_theta)
    return from_order_major(block, t["scatter_out"], (M, C))
