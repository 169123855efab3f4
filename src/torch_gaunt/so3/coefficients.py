r"""Clebsch-Gordan and Gaunt coefficients in the real spherical-harmonic basis.

- :func:`clebsch_gordan` ``C[m1, m2, m3]`` (``[2l1+1, 2l2+1, 2l3+1]``) is the unique (up to sign)
  invariant of ``l1 ⊗ l2 ⊗ l3``, with Frobenius norm 1 and the sign of e3nn's ``o3.wigner_3j``. It is the
  complex Clebsch-Gordan coefficient (Racah's formula, evaluated in exact rational arithmetic) moved to
  the real basis of :func:`~torch_gaunt.so3.spherical_harmonics`.
- :func:`gaunt_coefficients` ``G[m1, m2, m3] = ∫ Y_l1m1 Y_l2m2 Y_l3m3 dΩ``, by exact Gauss-Legendre
  quadrature in float64. It vanishes unless ``l1 + l2 + l3`` is even and the triangle rule holds, and then
  ``G = gaunt_cg_ratio(l1, l2, l3) * C`` with ``|ratio| = sqrt((2l1+1)(2l2+1)(2l3+1)/4π) |(l1 l2 l3; 0 0 0)|``.

Both are computed once per degrees in float64 and cached; the per-(dtype, device) copies are cached too.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .._cache import cached_table
from .._checks import check_degree
from .quadrature import exact_grid_size, sphere_grid_points
from .spherical_harmonics import spherical_harmonics

__all__ = ["clebsch_gordan", "gaunt_coefficients", "gaunt_cg_ratio", "triangle", "gaunt_allowed"]


def triangle(l1: int, l2: int, l3: int) -> bool:
    """``|l1 - l2| <= l3 <= l1 + l2``."""
    return abs(l1 - l2) <= l3 <= l1 + l2


def gaunt_allowed(l1: int, l2: int, l3: int) -> bool:
    """Whether the Gaunt coefficients of ``(l1, l2, l3)`` can be non-zero: triangle rule and even sum."""
    return triangle(l1, l2, l3) and (l1 + l2 + l3) % 2 == 0


def _check_triple(l1: int, l2: int, l3: int) -> None:
    for name, l in (("l1", l1), ("l2", l2), ("l3", l3)):
        check_degree(name, l)
    if not triangle(l1, l2, l3):
        raise ValueError(f"(l1, l2, l3): expected the triangle rule |l1-l2| <= l3 <= l1+l2, got ({l1}, {l2}, {l3})")


def _su2_cg(j1: int, m1: int, j2: int, m2: int, j3: int, m3: int) -> float:
    """Complex Clebsch-Gordan ``<j1 m1 j2 m2 | j3 m3>`` (Condon-Shortley), exact integers then rounded once.

    Racah's sum ``Σ_k (-1)^k / (k! (a-k)! (b-k)! (c-k)! (d+k)! (e+k)!)`` is brought to the common
    denominator ``a! b! c! (d+K)! (e+K)!`` (``K`` the last ``k``), where every term is an integer.
    """
    if m3 != m1 + m2 or not triangle(j1, j2, j3) or abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 0.0
    f = math.factorial
    a, b, c = j1 + j2 - j3, j1 - m1, j2 + m2
    d, e = j3 - j2 + m1, j3 - j1 - m2
    k0, k1 = max(0, -d, -e), min(a, b, c)
    if k0 > k1:
        return 0.0
    numerator = sum(
        (-1) ** k * math.comb(a, k) * math.perm(b, k) * math.perm(c, k)
        * math.perm(d + k1, k1 - k) * math.perm(e + k1, k1 - k)
        for k in range(k0, k1 + 1)
    )  # fmt: skip
    if numerator == 0:
        return 0.0
    denominator = f(a) * f(b) * f(c) * f(d + k1) * f(e + k1)
    pref_num = (2 * j3 + 1) * f(j3 + j1 - j2) * f(j3 - j1 + j2) * f(a) * f(j3 + m3) * f(j3 - m3)
    pref_num *= f(j1 - m1) * f(j1 + m1) * f(j2 - m2) * f(j2 + m2)
    pref_den = f(j1 + j2 + j3 + 1)
    # value^2 = pref * (numerator / denominator)^2, an exact ratio of integers; int / int rounds correctly
    return math.copysign(math.sqrt(pref_num * numerator**2 / (pref_den * denominator**2)), numerator)


def _real_from_complex(l: int) -> np.ndarray:
    """Unitary ``U [2l+1 (real m), 2l+1 (complex m')]`` with ``Y_real_m = Σ U[m, m'] Y^{m'}``.

    ``Y^{m'}`` are the complex harmonics with the Condon-Shortley phase about the polar axis ``y``.
    """
    U = np.zeros((2 * l + 1, 2 * l + 1), dtype=np.complex128)
    U[l, l] = 1.0
    for m in range(1, l + 1):
        sign = (-1) ** m
        U[l + m, l + m] = sign / math.sqrt(2)  # cos(mφ) part
        U[l + m, l - m] = 1 / math.sqrt(2)
        U[l - m, l + m] = sign / (1j * math.sqrt(2))  # sin(mφ) part
        U[l - m, l - m] = -1 / (1j * math.sqrt(2))
    return U


@functools.cache
def _clebsch_gordan_np(l1: int, l2: int, l3: int) -> np.ndarray:
    cg = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1))
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            if abs(m1 + m2) <= l3:
                cg[l1 + m1, l2 + m2, l3 + m1 + m2] = _su2_cg(l1, m1, l2, m2, l3, m1 + m2)
    U1, U2, U3 = _real_from_complex(l1), _real_from_complex(l2), _real_from_complex(l3)
    # real C[a, b, c] = <c| (|a> ⊗ |b>): |a> = Σ U1[a, m1] |m1>, <c| = Σ conj(U3[c, m3]) <m3|
    C = np.einsum("ai,bj,ck,ijk->abc", U1, U2, U3.conj(), cg, optimize=True)
    # C is real or purely imaginary; the phase i^(l1+l2-l3) is the one that makes it real with e3nn's sign
    C = C * 1j ** (l1 + l2 - l3)
    if np.abs(C.imag).max() > 1e-10:
        raise RuntimeError(f"internal error: complex Clebsch-Gordan for {(l1, l2, l3)}")
    C = C.real
    C /= np.linalg.norm(C)
    C.setflags(write=False)
    return C


@cached_table
def _cached(kind: str, l1: int, l2: int, l3: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    array = _clebsch_gordan_np(l1, l2, l3) if kind == "cg" else _gaunt_np(l1, l2, l3)
    return torch.tensor(array, dtype=dtype, device=device)


def clebsch_gordan(
    l1: int, l2: int, l3: int, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """Real Clebsch-Gordan coefficients ``[2l1+1, 2l2+1, 2l3+1]``, equal to e3nn's ``o3.wigner_3j(l1, l2, l3)``.

    ``C`` is invariant, ``C[a,b,c] = Σ D1[a,a'] D2[b,b'] D3[c,c'] C[a',b',c']``, with ``‖C‖_F = 1``.
    Raises ``ValueError`` for negative degrees or a triple outside the triangle rule.

    >>> C = clebsch_gordan(1, 1, 0)
    >>> C.shape, round(float(C[0, 0, 0]), 6)
    (torch.Size([3, 3, 1]), 0.57735)
    """
    _check_triple(l1, l2, l3)
    return _cached("cg", l1, l2, l3, dtype, torch.device(device) if device is not None else torch.device("cpu"))


@functools.cache
def _gaunt_np(l1: int, l2: int, l3: int) -> np.ndarray:
    points, weights = sphere_grid_points(*exact_grid_size(l1 + l2 + l3))
    points, weights = points.reshape(-1, 3), weights.reshape(-1)
    lmax = max(l1, l2, l3)
    Y = spherical_harmonics(points, lmax)
    Y1, Y2, Y3 = (Y[:, l * l : (l + 1) ** 2] for l in (l1, l2, l3))
    G = torch.einsum("g,ga,gb,gc->abc", weights, Y1, Y2, Y3).numpy()
    if not gaunt_allowed(l1, l2, l3):
        G = np.zeros_like(G)
    G.setflags(write=False)
    return G


def gaunt_coefficients(
    l1: int, l2: int, l3: int, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """Real Gaunt coefficients ``G[m1, m2, m3] = ∫ Y_l1m1 Y_l2m2 Y_l3m3 dΩ`` ``[2l1+1, 2l2+1, 2l3+1]``.

    Integral-normalised harmonics; exact Gauss-Legendre quadrature in float64. Zero unless ``l1 + l2 + l3``
    is even. Raises ``ValueError`` for negative degrees or a triple outside the triangle rule.

    >>> import math
    >>> G = gaunt_coefficients(0, 0, 0)
    >>> abs(float(G[0, 0, 0]) - 1 / math.sqrt(4 * math.pi)) < 1e-15
    True
    """
    _check_triple(l1, l2, l3)
    return _cached("gaunt", l1, l2, l3, dtype, torch.device(device) if device is not None else torch.device("cpu"))


@functools.cache
def gaunt_cg_ratio(l1: int, l2: int, l3: int) -> float:
    """The number ``g`` with ``gaunt_coefficients(l1, l2, l3) == g * clebsch_gordan(l1, l2, l3)``.

    ``|g| = sqrt((2l1+1)(2l2+1)(2l3+1)/(4π)) |(l1 l2 l3; 0 0 0)|``; 0 when ``l1 + l2 + l3`` is odd.
    """
    _check_triple(l1, l2, l3)
    return float((_gaunt_np(l1, l2, l3) * _clebsch_gordan_np(l1, l2, l3)).sum())
