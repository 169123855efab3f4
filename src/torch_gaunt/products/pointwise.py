"""Pointwise functions of spherical functions: evaluate on a sphere grid, apply, project back.

The product of two functions is the bilinear case (:func:`~torch_gaunt.products.gaunt_tensor_product`); here the
function is any ``fn`` of the values at each grid point (an activation, an MLP over channels). It is exactly
equivariant when ``fn`` is a polynomial of degree ``d`` and the grid integrates degree ``(d + 1) L`` exactly,
and equivariant up to the quadrature error otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_degree, check_spherical_tensor
from ..so3.quadrature import exact_grid_size
from ..sphere.grid import from_order_major, sphere_grid

__all__ = ["pointwise_on_sphere"]


def pointwise_on_sphere(
    x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor], lmax_out: int, resolution: int
) -> torch.Tensor:
    """Project ``fn`` of the functions ``x`` describes: ``[..., (L+1)**2, C] -> [..., (L_out+1)**2, C']``.

    Args:
        x: ``[..., (L+1)**2, C]``.
        fn: receives the grid values ``[n_phi, n_theta, M, C]`` (``M`` the flattened batch) and returns values
            ``[n_phi, n_theta, M, C']``; it may mix channels at each point.
        lmax_out: degree of the projection.
        resolution: total polynomial degree the grid integrates exactly
            (:func:`~torch_gaunt.so3.exact_grid_size`).
    """
    L = check_spherical_tensor("x", x)
    check_degree("lmax_out", lmax_out)
    check_degree("resolution", resolution)
    batch, K, C = x.shape[:-2], x.shape[-2], x.shape[-1]
    x = x.reshape(-1, K, C)
    M = x.shape[0]
    n_theta, n_phi = exact_grid_size(resolution, max_order=max(L, lmax_out))
    grid_in = sphere_grid(L, n_theta, n_phi, x.dtype, x.device)
    grid_out = sphere_grid(lmax_out, n_theta, n_phi, x.dtype, x.device)
    values = fn(grid_in.to_grid(x.transpose(0, 1)).view(n_phi, n_theta, M, C))
    C_out = values.shape[-1]
    out = from_order_major(grid_out.from_grid(values.reshape(n_phi, n_theta, M * C_out)), grid_out.scatter, (M, C_out))
    return out.reshape(batch + ((lmax_out + 1) ** 2, C_out))
