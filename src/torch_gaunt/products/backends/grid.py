"""Sphere-grid executor (Xie et al., ICML 2025): synthesise both inputs on a Gauss-Legendre x equispaced grid
sized for the requested output degree, multiply pointwise, integrate back. O(L^3) per channel."""

from __future__ import annotations

import torch

from ...sphere.grid import sphere_grid
from ..description import GauntDescription


def gaunt_grid(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, channels: int) -> torch.Tensor:
    n_theta, n_phi = desc.grid_size
    grid1 = sphere_grid(desc.lmax1, n_theta, n_phi, x.dtype, x.device)
    grid_out = sphere_grid(desc.lmax_out, n_theta, n_phi, x.dtype, x.device)
    N = x.shape[1]
    if desc.lmax1 == desc.lmax2 and y.shape[1] == N:  # one fused transform of both inputs
        values = grid1.to_grid(torch.cat([x, y], dim=1))
        product = values[..., :N] * values[..., N:]
    else:
        values_x = grid1.to_grid(x)
        values_y = sphere_grid(desc.lmax2, n_theta, n_phi, x.dtype, x.device).to_grid(y)
        if y.shape[1] != N:
            shape = (n_phi, n_theta, N // channels, channels)
            product = (values_x.view(shape) * values_y[..., None]).view(n_phi, n_theta, N)
        else:
            product = values_x * values_y
    return grid_out.from_grid(product)
