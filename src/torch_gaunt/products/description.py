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

from ..so3.coefficients import gaunt_allowed
from ..so3.irreps import Irreps
from ..so3.quadrature import exact_grid_size
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
        """``(n_theta, n_phi)`` of the smallest half grid on which the product is exact up to degree ``L3``.

        The integrand ``x y Y_l3`` has degree ``L1 + L2 + L3``: :func:`~torch_gaunt.so3.exact_grid_size` (the one
        grid-size rule), with an even ``n_phi`` for the half-grid transforms.
        """
        return exact_grid_size(
            self.lmax1 + self.lmax2 + self.lmax_out, max_order=max(self.lmax1, self.lmax2, self.lmax_out), even_phi=True
        )


@dataclass(frozen=True)
class ManyBodyDescription:
    """The ν-fold products ``ν = 1..correlation`` of copies of one spherical tensor of degree ``L``, projected to
    ``L_out``: ``Σ_ν w_out,ν ⊙ P_{L_out}(Π_{k=1..ν} (w_{ν,k} ⊙ x))``.

    Copy ``k`` of order ``ν`` is entry ``ν(ν-1)/2 + k - 1`` of the copy axis (``num_copies = c(c+1)/2`` in all).
    """

    lmax: int
    correlation: int
    lmax_out: int

    @property
    def num_copies(self) -> int:
        return self.correlation * (self.correlation + 1) // 2

    @property
    def grid_size(self) -> tuple[int, int]:
        """The half grid on which the highest-order product is exact: its integrand has degree ``c L + L_out``."""
        return exact_grid_size(
            self.correlation * self.lmax + self.lmax_out, max_order=max(self.lmax, self.lmax_out), even_phi=True
        )
