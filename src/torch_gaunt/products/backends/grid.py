"""Sphere-grid executor (Xie et al., ICML 2025): synthesise the factors on a Gauss-Legendre x equispaced grid sized
for the requested output degree, multiply pointwise, integrate back. O(L^3) per channel.

The grid has an even number of φ nodes, so every transform runs on half of them (``φ_j`` and ``φ_j + π`` share
the work; see :mod:`torch_gaunt.sphere.grid`), and pointwise products are taken in that form:
``(E_x E_y + O_x O_y, E_x O_y + O_x E_y)``. :func:`synthesize`, :func:`multiply_halves` and :func:`project` are the
one pipeline that every grid product of the library (two factors here, ν factors in
:mod:`~torch_gaunt.products.many_body`) runs through.
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

__all__ = ["tables", "run", "half_grid", "order_major", "synthesize", "multiply_halves", "project", "spherical_layout"]


def half_grid(lmax: int, grid_size: tuple[int, int], dtype: torch.dtype, device: torch.device) -> dict:
    """Half-grid tables (:attr:`~torch_gaunt.sphere.grid.SphereGrid.halves`) of degree ``lmax`` on ``grid_size``."""
    return sphere_grid(lmax, *grid_size, dtype, device).halves


def order_major(coefficients: torch.Tensor, halves: dict[str, torch.Tensor]) -> torch.Tensor:
    """Coefficients ``[K, *cols]`` (any strides) -> the parity-ordered block ``[2(L+1), L+1, prod(cols)]``, where the
    degree ``l`` is an axis of its own (per-degree weights broadcast over it)."""
    return to_order_major(coefficients, halves["gather"], halves["legendre"].shape[-1] - 1)


def synthesize(block: torch.Tensor, halves: dict[str, torch.Tensor]) -> torch.Tensor:
    """Block ``[2(L+1), L+1, *cols]`` -> even/odd parts ``[2, n_phi/2, n_theta * prod(cols)]`` of the functions."""
    return synthesis_halves(block, halves)


def project(parts: torch.Tensor, halves: dict[str, torch.Tensor]) -> torch.Tensor:
    """Even/odd parts ``[2, n_phi/2, n_theta * N]`` -> block ``[2(L+1), L+1, N]`` of the projection on degree ``L``."""
    legendre_weighted = halves["legendre_weighted"]  # [2(L+1), L+1, n_theta]
    block = analysis_halves(parts, halves, legendre_weighted.shape[-1])
    return block.view(legendre_weighted.shape[0], legendre_weighted.shape[1], -1)


def spherical_layout(block: torch.Tensor, halves: dict[str, torch.Tensor], cols: tuple[int, int]) -> torch.Tensor:
    """Block ``[2(L+1), L+1, M * C]`` -> coefficients ``[M, (L+1)**2, C]`` (a transposed view)."""
    return from_order_major(block.reshape(-1, cols[0] * cols[1]), halves["scatter"], cols)


def tables(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> dict[str, dict[str, torch.Tensor]]:
    """Half-grid tables of both inputs (synthesis) and of the output (weighted analysis)."""
    size = desc.grid_size
    return {
        name: half_grid(L, size, dtype, device)
        for name, L in (("x", desc.lmax1), ("y", desc.lmax2), ("z", desc.lmax_out))
    }


def run(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, t: dict) -> torch.Tensor:
    n_theta, n_phi = desc.grid_size
    _, M, C = x.shape
    parts_x = synthesize(order_major(x, t["x"]), t["x"]).view(2, n_phi // 2, n_theta, M, C)
    parts_y = synthesize(order_major(y, t["y"]), t["y"]).view(2, n_phi // 2, n_theta, M, y.shape[-1])
    product = multiply_halves(parts_x, parts_y).view(2, n_phi // 2, -1)
    return spherical_layout(project(product, t["z"]), t["z"], (M, C))
