"""What a Gaunt tensor product computes, apart from how: degrees, paths, parities and grid sizes.

The Gaunt tensor product of spherical tensors ``x`` (degree ``L1``) and ``y`` (degree ``L2``), projected to
degree ``L3``, is

    z[l3 m3] = Σ x[l1 m1] y[l2 m2] G(l1 m1, l2 m2, l3 m3),    G = ∫ Y_l1m1 Y_l2m2 Y_l3m3 dΩ,

the product of the two functions on the sphere, projected back to degree ``L3``. Its paths are the
``(l1, l2, l3)`` with ``l1 + l2 + l3`` even and the triangle rule; on each path it equals
``gaunt_cg_ratio(l1, l2, l3)`` times the Clebsch-Gordan path ``Σ C(l1, l2, l3) x y`` (e3nn's ``wigner_3j``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..so3.coefficients import gaunt_allowed, gaunt_cg_ratio
from ..so3.irreps import Irreps
from ..so3.spherical_tensor import spherical_tensor_irreps


@dataclass(frozen=True)
class GauntDescription:
    """Degrees of a Gaunt tensor product ``(L1, L2) -> L3`` and the parities ``p1, p2`` of its inputs.

    A spherical tensor with parity ``p`` has degree ``l`` of parity ``p (-1)**l``; the output has ``p1 p2``.
    """

    lmax1: int
    lmax2: int
    lmax_out: int
    p1: int = 1
    p2: int = 1

    @functools.cached_property
    def paths(self) -> tuple[tuple[int, int, int], ...]:
        """All ``(l1, l2, l3)`` with a non-zero Gaunt coefficient (computed on first use: the forward pass
        builds a description per call and does not need them)."""
        return tuple(
            (l1, l2, l3)
            for l1 in range(self.lmax1 + 1)
            for l2 in range(self.lmax2 + 1)
            for l3 in range(self.lmax_out + 1)
            if gaunt_allowed(l1, l2, l3)
        )

    def path_ratios(self) -> dict[tuple[int, int, int], float]:
        """``gaunt_cg_ratio`` of every path: the Gaunt path is this multiple of the CG path."""
        return {path: gaunt_cg_ratio(*path) for path in self.paths}

    @property
    def p_out(self) -> int:
        return self.p1 * self.p2

    def irreps(self, channels: int = 1) -> tuple[Irreps, Irreps, Irreps]:
        """Irreps of ``x``, ``y`` and ``z`` with ``channels`` channels each."""
        return (
            spherical_tensor_irreps(self.lmax1, channels, self.p1),
            spherical_tensor_irreps(self.lmax2, channels, self.p2),
            spherical_tensor_irreps(self.lmax_out, channels, self.p_out),
        )

    @property
    def grid_size(self) -> tuple[int, int]:
        """``(n_theta, n_phi)`` of the smallest grid on which the product is exact up to degree ``L3``.

        The integrand ``x y Y_l3`` has degree ``L1 + L2 + L3``: Gauss-Legendre with ``n_theta`` nodes is exact to
        degree ``2 n_theta - 1`` and ``n_phi`` equispaced points keep frequencies ``<= L3`` free of aliasing from
        the product's frequencies ``<= L1 + L2``.
        """
        total = self.lmax1 + self.lmax2 + self.lmax_out
        return total // 2 + 1, total + 1
