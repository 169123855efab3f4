"""What a product computes, apart from how: degrees, paths, parities and grid sizes.

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


@dataclass(frozen=True)
class PathConvolutionDescription:
    """The paths of a point convolution that weighs each path on its own (MACE's ``uvu`` convolution).

    A path ``(l1, l2, l3)`` takes degree ``l1`` of the node features (``<= L_in``) and degree ``l2`` of the edge
    harmonics (``<= L_sh``) to degree ``l3`` of the message (``<= L_out``); only Gaunt paths (``l1 + l2 + l3`` even,
    triangle rule) exist. Paths are ordered by ``(l3, l1, l2)``; the paths into one degree ``l3`` fill its
    *slots* ``0, 1, ...`` in that order, and the message keeps one slot per path (``num_slots`` is the most
    paths into any degree), so that a linear map after the convolution mixes every path with its own weights.
    """

    lmax_in: int
    lmax_sh: int
    lmax_out: int

    @functools.cached_property
    def paths(self) -> tuple[tuple[int, int, int], ...]:
        return tuple(
            (l1, l2, l3)
            for l3 in range(self.lmax_out + 1)
            for l1 in range(self.lmax_in + 1)
            for l2 in range(self.lmax_sh + 1)
            if gaunt_allowed(l1, l2, l3)
        )

    @functools.cached_property
    def paths_per_degree(self) -> tuple[int, ...]:
        """The number of paths into each output degree ``l3 = 0..L_out``."""
        return tuple(sum(1 for p in self.paths if p[2] == l3) for l3 in range(self.lmax_out + 1))

    @functools.cached_property
    def slots(self) -> tuple[int, ...]:
        """The slot of each path among the paths into its degree."""
        seen = [0] * (self.lmax_out + 1)
        out = []
        for _, _, l3 in self.paths:
            out.append(seen[l3])
            seen[l3] += 1
        return tuple(out)

    @property
    def num_slots(self) -> int:
        return max(self.paths_per_degree, default=0)


@dataclass(frozen=True)
class CoupledManyBodyDescription:
    """The couplings of a many-body product with one weight per coupling: for each multiset ``S`` of at most
    ``correlation`` degrees of ``{0..L}`` and each output degree ``l <= L_out``, the projection on degree ``l`` of
    the product of the functions ``f_a`` (degree ``a`` of the input alone), ``P_l(Π_{a ∈ S} f_a)``, where it is not
    identically zero. These are the couplings that products of functions on the sphere realise: every symmetric
    coupling of MACE's symmetric contraction whose intermediate couplings are all even (``l_a + l_b + l_c`` even).

    ``couplings``: ``(S, l)`` pairs, ``S`` a sorted tuple, ordered by ``(len(S), S, l)``. ``normalization[k]``:
    the factor that gives coupling ``k`` unit variance per component when each ``f_a`` has independent ``N(0, 1)``
    coefficients: ``1 / sqrt(2π ∫ Π_{a ∈ S} (2a+1)/(4π) P_a(u) P_l(u) du)`` (addition theorem and Funk-Hecke).
    """

    lmax: int
    correlation: int
    lmax_out: int

    @functools.cached_property
    def _table(self) -> tuple[tuple[tuple[tuple[int, ...], int], ...], tuple[float, ...]]:
        import itertools
        import math

        import numpy as np

        degree = self.correlation * self.lmax + self.lmax_out
        u, w = np.polynomial.legendre.leggauss(degree // 2 + 1)  # exact for the polynomial degree of the integrand
        legendre = [np.polynomial.legendre.Legendre.basis(l)(u) for l in range(max(self.lmax, self.lmax_out) + 1)]
        couplings, normalization = [], []
        for nu in range(1, self.correlation + 1):
            for S in itertools.combinations_with_replacement(range(self.lmax + 1), nu):
                kernel = np.prod([(2 * a + 1) / (4 * math.pi) * legendre[a] for a in S], axis=0)
                for l in range(self.lmax_out + 1):
                    variance = 2 * math.pi * float(np.sum(w * kernel * legendre[l]))
                    if variance > 1e-12:
                        couplings.append((S, l))
                        normalization.append(1 / math.sqrt(variance))
        return tuple(couplings), tuple(normalization)

    @property
    def couplings(self) -> tuple[tuple[tuple[int, ...], int], ...]:
        return self._table[0]

    @property
    def normalization(self) -> tuple[float, ...]:
        return self._table[1]

    @functools.cached_property
    def monomials(self) -> tuple[tuple[int, ...], ...]:
        """The distinct multisets ``S`` with two or more degrees (their products are formed on the grid)."""
        return tuple(dict.fromkeys(S for S, _ in self.couplings if len(S) > 1))

    @property
    def grid_size(self) -> tuple[int, int]:
        """The grid on which the highest products are exact: the integrand has degree ``c L + L_out``."""
        return ManyBodyDescription(self.lmax, self.correlation, self.lmax_out).grid_size
