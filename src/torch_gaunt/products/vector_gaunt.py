r"""Vector Gaunt product (Xie et al., "The Price of Freedom", ICML 2025): the odd paths a Gaunt product lacks.

A scalar Gaunt product only has paths with ``l1 + l2 + l3`` even. Multiplying *vector* fields on the sphere
with the cross product gives the others, e.g. ``1o x 1o -> 1e`` (the cross product itself).

**Basis.** A tangent-or-not vector field ``V(r̂) = Σ_i e_i V_i(r̂)`` whose Cartesian components have degree
``<= L`` is written in coupled vector spherical harmonics: block ``(j, l)`` couples the Cartesian index (an
``l = 1`` irrep, ``(x, y, z)`` being ``m = -1, 0, 1`` of our real basis) with the orbital degree ``l`` to total
``j ∈ {l-1, l, l+1}``:

.. math::  V_i(\hat r) = \sum_{(j, l), m_j} \sum_m \sqrt{2j+1}\, C(1, l, j)[i, m, m_j]\, c_{j l m_j} Y_{lm}(\hat r),

with ``C`` = :func:`~torch_gaunt.so3.clebsch_gordan`; this change of basis is orthogonal. Block ``(j, l)`` is the
irrep ``j`` with parity ``p (-1)^l``: ``p = -1`` for polar vector fields, ``+1`` for axial ones. Blocks are
ordered by ``(j, l)``, the ``m_j`` inside a block as usual; :func:`vsh_irreps` gives the irreps.

**Product.** Synthesise the three components of both fields on a Gauss-Legendre grid exact for degree
``L1 + L2 + L3``, take ``W = V1 × V2`` pointwise, project its components on degrees ``<= L3`` and change back
to the VSH basis. Output parity ``p1 p2`` (the cross product is a pseudo-vector). On a path
``(j1, l1) x (j2, l2) -> (j3, l3)`` the orbital degrees obey the Gaunt rule (``l1 + l2 + l3`` even) but the
totals only the triangle rule, so ``j1 + j2 + j3`` may be odd. For constant fields (``l = 0`` blocks, ``j = 1``)
the product is ``c1 × c2 / sqrt(4π)``. Cost: 6 + 3 scalar grid transforms per product, ``O(L^3)`` per channel.
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import broadcast_batch, broadcast_channels, check_degree, check_same_dtype_device, check_tensor
from ..so3.coefficients import clebsch_gordan
from ..so3.irreps import Irreps
from ..sphere.grid import from_order_major, sphere_grid
from .description import GauntDescription

__all__ = ["vsh_irreps", "vsh_blocks", "vsh_to_components", "vector_gaunt_product", "VectorGauntProduct"]


def vsh_blocks(lmax: int) -> list[tuple[int, int]]:
    """The ``(j, l)`` blocks of vector fields with component degree ``<= lmax``, ordered by ``(j, l)``."""
    blocks = [(j, l) for l in range(lmax + 1) for j in (l - 1, l, l + 1) if j >= abs(l - 1)]
    return sorted(blocks)


def vsh_irreps(lmax: int, p: int = -1) -> Irreps:
    """Irreps of the VSH coefficients (one copy per block): block ``(j, l)`` is ``j`` with parity ``p (-1)^l``.

    >>> vsh_irreps(1)
    Irreps('1x0e+1x1o+1x1e+1x2e')
    """
    check_degree("lmax", lmax)
    if p not in (1, -1):
        raise ValueError(f"p: expected +1 or -1, got {p!r}")
    return Irreps([(1, (j, p * (-1) ** l)) for j, l in vsh_blocks(lmax)])


@cached_table
def _vsh_to_components(lmax: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    K = (lmax + 1) ** 2
    Q = torch.zeros(3, K, 3 * K, dtype=torch.float64)
    column = 0
    for j, l in vsh_blocks(lmax):
        cg = clebsch_gordan(1, l, j)  # [3, 2l+1, 2j+1]
        Q[:, l * l : (l + 1) ** 2, column : column + 2 * j + 1] = math.sqrt(2 * j + 1) * cg
        column += 2 * j + 1
    return Q.reshape(3 * K, 3 * K).to(dtype=dtype, device=device)


def vsh_to_components(
    lmax: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Orthogonal matrix ``Q [3 (L+1)**2, 3 (L+1)**2]``: VSH coefficients -> SH coefficients of ``(V_x, V_y, V_z)``.

    Rows are ``(i, l*l + l + m)`` for Cartesian ``i``, columns the VSH coefficients in :func:`vsh_irreps` order.
    """
    return _vsh_to_components(lmax, dtype, torch.device(device))


def _lmax_of(d: int, name: str) -> int:
    L = math.isqrt(d // 3) - 1
    if d % 3 or (L + 1) ** 2 * 3 != d:
        raise ValueError(f"{name}: expected 3 (L+1)**2 VSH coefficients (3, 12, 27, 48, ...) in axis -2, got {d}")
    return L


def vector_gaunt_product(x: torch.Tensor, y: torch.Tensor, lmax_out: int | None = None) -> torch.Tensor:
    """Channel-wise cross product of two vector fields on the sphere, in the VSH basis.

    Args:
        x: ``[..., 3 (L1+1)**2, C]`` VSH coefficients (order of :func:`vsh_irreps`).
        y: ``[..., 3 (L2+1)**2, C or 1]``; leading dimensions broadcast with ``x``.
        lmax_out: component degree ``L3 <= L1 + L2`` of the result (default ``L1 + L2``, exact).

    Returns:
        ``[..., 3 (L3+1)**2, C]``: the VSH coefficients of ``V1 × V2`` projected on component degree ``<= L3``;
        with input parities ``p1, p2`` (see :func:`vsh_irreps`) its parity is ``p1 p2``.
    """
    for name, v in (("x", x), ("y", y)):
        if check_tensor(name, v).dim() < 3:
            raise ValueError(
                f"{name}: expected VSH coefficients [batch..., 3 (L+1)**2, C] with at least 3 dimensions, got shape "
                f"{tuple(v.shape)}; add a batch axis ({name}[None]) for a single field"
            )
    check_same_dtype_device(x=x, y=y)
    L1, L2 = _lmax_of(x.shape[-2], "x"), _lmax_of(y.shape[-2], "y")
    L3 = L1 + L2 if lmax_out is None else check_degree("lmax_out", lmax_out, maximum=L1 + L2)
    broadcast_channels(x, y)
    batch = broadcast_batch(x, y)
    C = x.shape[-1]
    M = math.prod(batch)
    desc = GauntDescription(L1, L2, L3)
    n_theta, n_phi = desc.grid_size
    grid_out = sphere_grid(L3, n_theta, n_phi, x.dtype, x.device)

    def components(v: torch.Tensor, L: int) -> torch.Tensor:  # [..., D, c] -> [n_phi, n_theta, 3, M, c]
        c = v.shape[-1]
        flat = v.expand(batch + v.shape[-2:]).reshape(M, -1, c).transpose(0, 1).reshape(v.shape[-2], M * c)
        sh = (vsh_to_components(L, x.dtype, x.device) @ flat).view(3, (L + 1) ** 2, M * c).transpose(0, 1)
        return sphere_grid(L, n_theta, n_phi, x.dtype, x.device).to_grid(sh).view(n_phi, n_theta, 3, M, c)

    W = torch.linalg.cross(components(x, L1), components(y, L2), dim=2)  # [n_phi, n_theta, 3, M, C]
    sh = grid_out.from_grid(W.reshape(n_phi, n_theta, 3 * M * C))
    sh = from_order_major(sh, grid_out.scatter, (3, M * C))  # [3, K3, M C]
    z = vsh_to_components(L3, x.dtype, x.device).T @ sh.reshape(-1, M * C)  # [D3, M C]
    return z.view(-1, M, C).transpose(0, 1).reshape(batch + (z.shape[0], C))


class VectorGauntProduct(torch.nn.Module):
    """Module form of :func:`vector_gaunt_product` with irreps bookkeeping.

    Args:
        lmax1, lmax2: component degrees of the two fields; ``lmax_out`` that of the result (default the sum).
        p1, p2: parities of the fields (-1 polar, +1 axial).
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int | None = None, p1: int = -1, p2: int = -1):
        super().__init__()
        self.lmax1, self.lmax2 = check_degree("lmax1", lmax1), check_degree("lmax2", lmax2)
        self.lmax_out = lmax1 + lmax2 if lmax_out is None else check_degree("lmax_out", lmax_out, maximum=lmax1 + lmax2)
        self.irreps_in1, self.irreps_in2 = vsh_irreps(lmax1, p1), vsh_irreps(lmax2, p2)
        self.irreps_out = vsh_irreps(self.lmax_out, p1 * p2)
        n_theta, n_phi = GauntDescription(lmax1, lmax2, self.lmax_out).grid_size
        for L in (lmax1, lmax2, self.lmax_out):  # build the tables now, not while torch.compile traces
            sphere_grid(L, n_theta, n_phi, torch.get_default_dtype())

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x [..., 3(L1+1)**2, C]``, ``y [..., 3(L2+1)**2, C or 1]`` -> ``[..., 3(L3+1)**2, C]``."""
        return vector_gaunt_product(x, y, self.lmax_out)

    def extra_repr(self) -> str:
        return f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}"
