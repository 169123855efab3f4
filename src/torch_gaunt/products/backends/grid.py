"""Sphere-grid executor (Xie et al., ICML 2025): synthesise both inputs on a Gauss-Legendre x equispaced grid
sized for the requested output degree, multiply pointwise, integrate back. O(L^3) per channel."""

from __future__ import annotations

import torch

from ...sphere.grid import analysis, from_order_major, sphere_grid, synthesis
from ..description import GauntDescription


def tables(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    """Legendre and φ tables of both inputs (synthesis) and of the output (weighted analysis)."""
    n_theta, n_phi = desc.grid_size
    out = {}
    for name, lmax in (("1", desc.lmax1), ("2", desc.lmax2)):
        g = sphere_grid(lmax, n_theta, n_phi, dtype, device)
        out.update({f"legendre{name}": g.legendre, f"fourier{name}": g.fourier, f"gather{name}": g.gather})
    g = sphere_grid(desc.lmax_out, n_theta, n_phi, dtype, device)
    out.update({"legendre_out": g.legendre_weighted, "fourier_out": g.fourier_weighted, "scatter_out": g.scatter})
    return out


def run(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, t: dict[str, torch.Tensor]) -> torch.Tensor:
    n_theta, n_phi = desc.grid_size
    _, M, C = x.shape
    values_x = synthesis(x, t["legendre1"], t["fourier1"], t["gather1"]).view(n_phi, n_theta, M, C)
    values_y = synthesis(y, t["legendre2"], t["fourier2"], t["gather2"]).view(n_phi, n_theta, M, y.shape[-1])
    product = (values_x * values_y).view(n_phi, n_theta, M * C)
    return from_order_major(analysis(product, t["legendre_out"], t["fourier_out"]), t["scatter_out"], (M, C))
