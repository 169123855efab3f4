"""Sphere-grid executor (Xie et al., ICML 2025): synthesise the factors on a Gauss-Legendre x equispaced grid sized
for the requested output degree, multiply pointwise, integrate back. O(L^3) per channel.

The grid has an even number of φ nodes. On large grids the transforms run on half of them (``φ_j`` and ``φ_j + π``
share the work, see :mod:`torch_gaunt.sphere.grid`) and products are taken on even and odd parts,
``(E_x E_y + O_x O_y, E_x O_y + O_x E_y)``: half the φ flops, four half-passes per product. On small grids the φ
GEMMs are so skinny that halving their flops saves no time, and the full grid's single multiply wins (see
:data:`HALF_GRID_FROM`). :func:`order_major`, :func:`synthesize`, :func:`multiply`, :func:`project` and
:func:`spherical_layout` are the one pipeline that every grid product of the library (two factors here, ν factors
in :mod:`~torch_gaunt.products.many_body`) runs through, in either form; values on the grid are always
``[n_phi, n_theta * N]`` (in the half form the first axis holds the even, then the odd part).
"""

from __future__ import annotations

import torch

from ..._cache import cached_table
from ...sphere.grid import (
    analysis,
    analysis_halves,
    from_order_major,
    multiply_halves,
    sphere_grid,
    synthesis,
    synthesis_halves,
    to_order_major,
)
from ..description import GauntDescription

__all__ = [
    "HALF_GRID_FROM",
    "GridTables",
    "grid_tables",
    "tables",
    "run",
    "order_major",
    "synthesize",
    "multiply",
    "project",
    "spherical_layout",
]

HALF_GRID_FROM = 32
"""Half grids from this many φ nodes on: measured on a 2-core Intel Xeon (256 x 16 and 256 x 128 channels), full
grids are 1.1-1.5x faster for products up to L = 8 (``n_phi <= 26``) and for the many-body product up to L = 4,
even at L = 10 (``n_phi = 32``), and half grids faster above. (On a 2-core AMD EPYC half grids were already
1.2-1.35x faster at L = 6: the crossover depends on the CPU.)"""


class GridTables:
    """The tables of one degree ``L`` on one grid, in the form the pipeline runs (``half`` or full).

    Attributes: ``lmax, n_theta, n_phi, half`` and the tensors of :class:`~torch_gaunt.sphere.grid.SphereGrid` in
    that form (``tables``: its ``halves`` dict, or the full grid's ``gather``, ``legendre``, ``fourier``,
    ``legendre_weighted``, ``fourier_weighted``, ``scatter``).
    """

    def __init__(self, lmax: int, n_theta: int, n_phi: int, half: bool, dtype: torch.dtype, device: torch.device):
        grid = sphere_grid(lmax, n_theta, n_phi, dtype, device)
        if half and grid.halves is None:
            raise ValueError(f"n_phi: half grids need an even number of φ nodes, got {n_phi}")
        self.lmax, self.n_theta, self.n_phi, self.half = lmax, n_theta, n_phi, half
        names = ("gather", "legendre", "fourier", "legendre_weighted", "fourier_weighted", "scatter")
        self.tables = grid.halves if self.half else {name: getattr(grid, name) for name in names}


_grid_tables = cached_table(GridTables)


def grid_tables(lmax: int, grid_size: tuple[int, int], dtype: torch.dtype, device: torch.device) -> GridTables:
    """The cached :class:`GridTables` of degree ``lmax`` on the grid ``grid_size = (n_theta, n_phi)``, in the form
    :data:`HALF_GRID_FROM` chooses for that grid."""
    n_theta, n_phi = grid_size
    return _grid_tables(lmax, n_theta, n_phi, n_phi >= HALF_GRID_FROM, dtype, device)


def order_major(coefficients: torch.Tensor, g: GridTables) -> torch.Tensor:
    """Coefficients ``[K, *cols]`` (any strides) -> the order-major block ``[orders, L+1, prod(cols)]``, where the
    degree ``l`` is an axis of its own (per-degree weights broadcast over it)."""
    return to_order_major(coefficients, g.tables["gather"], g.lmax)


def synthesize(block: torch.Tensor, g: GridTables) -> torch.Tensor:
    """Block ``[orders, L+1, *cols]`` -> values ``[n_phi, n_theta * prod(cols)]`` of the functions on the grid."""
    if g.half:
        return synthesis_halves(block, g.tables).view(g.n_phi, -1)
    return synthesis(block, g.tables["legendre"], g.tables["fourier"])


def multiply(a: torch.Tensor, b: torch.Tensor, g: GridTables) -> torch.Tensor:
    """The pointwise product of two functions given by their values ``[n_phi, ...]`` (trailing axes broadcast)."""
    if not g.half:
        return a * b
    product = multiply_halves(a.view((2, g.n_phi // 2) + a.shape[1:]), b.view((2, g.n_phi // 2) + b.shape[1:]))
    return product.view((g.n_phi,) + product.shape[2:])


def project(values: torch.Tensor, g: GridTables) -> torch.Tensor:
    """Values ``[n_phi, n_theta * N]`` -> block ``[orders, L+1, N]`` of the projection on degree ``L`` (exact
    quadrature)."""
    if g.half:
        block = analysis_halves(values.reshape(2, g.n_phi // 2, -1), g.tables, g.n_theta)
    else:
        block = analysis(
            values.reshape(g.n_phi, g.n_theta, -1), g.tables["legendre_weighted"], g.tables["fourier_weighted"]
        )
    return block.view(-1, g.lmax + 1, block.shape[-1])


def spherical_layout(block: torch.Tensor, g: GridTables, cols: tuple[int, int]) -> torch.Tensor:
    """Block ``[orders, L+1, M * C]`` -> coefficients ``[M, (L+1)**2, C]`` (a transposed view)."""
    return from_order_major(block.reshape(-1, cols[0] * cols[1]), g.tables["scatter"], cols)


def tables(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> dict[str, GridTables]:
    """Grid tables of both inputs (synthesis) and of the output (weighted analysis)."""
    size = desc.grid_size
    return {
        name: grid_tables(L, size, dtype, device)
        for name, L in (("x", desc.lmax1), ("y", desc.lmax2), ("z", desc.lmax_out))
    }


def run(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, t: dict) -> torch.Tensor:
    n_theta, n_phi = desc.grid_size
    _, M, C = x.shape
    values_x = synthesize(order_major(x, t["x"]), t["x"]).view(n_phi, n_theta, M, C)
    values_y = synthesize(order_major(y, t["y"]), t["y"]).view(n_phi, n_theta, M, y.shape[-1])
    product = multiply(values_x, values_y, t["z"]).view(n_phi, -1)
    return spherical_layout(project(product, t["z"]), t["z"], (M, C))
