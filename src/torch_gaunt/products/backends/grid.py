"""Sphere-grid executor (Xie et al., ICML 2025): synthesise both inputs on a Gauss-Legendre x equispaced grid
sized for the requested output degree, multiply pointwise, integrate back. O(L^3) per channel."""

from __future__ import annotations

import torch

from ...sphere.grid import from_order_major, sphere_grid
from ..description import GauntDescription


def gaunt_grid(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription) -> torch.Tensor:
    n_theta, n_phi = desc.grid_size
    _, M, C = x.shape
    values_x = sphere_grid(desc.lmax1, n_theta, n_phi, x.dtype, x.device).to_grid(x)
    values_y = sphere_grid(desc.lmax2, n_theta, n_phi, x.dtype, x.device).to_grid(y)
    product = values_x.view(n_phi, n_theta, M, C) * values_y.view(n_phi, n_theta, M, y.shape[-1])
    grid_out = sphere_grid(desc.lmax_out, n_theta, n_phi, x.dtype, x.device)
    return from_order_major(grid_out.from_grid(product.view(n_phi, n_theta, M * C)), grid_out.scatter, (M, C))
