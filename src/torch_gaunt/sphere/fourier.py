r"""Spherical harmonics <-> 2D Fourier series in ``(θ, φ)``, as in the Gaunt tensor product paper (Luo et al. 2024).

Extend ``Y_lm`` to ``θ ∈ [0, 2π)`` through ``p(θ, φ) = (sin θ sin φ, cos θ, sin θ cos φ)`` (signed ``sin θ``).
Then ``P̄_l^k(cos θ) sin^k θ = Σ_{|u| <= l} a^{lk}_u e^{iuθ}`` exactly, and

.. math::  Y_{lm}(\theta, \varphi) = \sum_u \sum_{v = \pm m} a^{l|m|}_u\, \phi_m(v)\, e^{i(u\theta + v\varphi)},

with ``φ_m(±m) = 1/√2`` (``m > 0``), ``∓i/√2`` (``m < 0``), ``φ_0(0) = 1``. The coefficients ``a^{lk}_u`` are
an exact DFT of the extended Legendre functions on ``2l + 1`` or more points (no aliasing), so the tables
follow our own harmonics' signs. A product of functions is the 2D convolution of their series, computed
with FFTs; projecting back uses ``∫_0^π e^{iuθ} sin θ dθ = I(u)`` in closed form:

.. math::  c_{lm} = \sum_{u,v} F_{uv}\, \Phi_m(v) \sum_w a^{l|m|}_w I(u + w),

``Φ_m(v) = ∫_0^{2π} e^{ivφ} Φ_m dφ``: ``2π`` (``m = 0``), ``√2 π`` (``m > 0, v = ±m``), ``±i√2 π`` (``m < 0``).
(See ``notes/gaunt-math.md``, part B, for the derivation and its numerical checks.)
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from ..so3.spherical_harmonics import associated_legendre

__all__ = ["FourierTables", "fourier_tables"]


def _legendre_fourier_coefficients(lmax: int) -> torch.Tensor:
    """``a[k, u, l] = a^{lk}_u`` complex128 ``[lmax+1, 2 lmax+1, lmax+1]`` (``u = -lmax..lmax``), zero for ``l < k``."""
    n = 2 * lmax + 1  # exact: degree <= l < n / 2 in θ
    theta = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    P = associated_legendre(torch.cos(theta), lmax, sin_theta=torch.sin(theta))  # [n, l, k], signed sin θ
    u = torch.arange(-lmax, lmax + 1, dtype=torch.float64)
    dft = torch.exp(-1j * u[:, None] * theta[None, :]) / n  # [n_u, n]
    a = torch.zeros(lmax + 1, n, lmax + 1, dtype=torch.complex128)
    for l in range(lmax + 1):
        a[: l + 1, :, l] = P[:, l, : l + 1].T.to(torch.complex128) @ dft.T
    return a


def _sin_moments(u: torch.Tensor) -> torch.Tensor:
    """``I(u) = ∫_0^π e^{iuθ} sin θ dθ`` for integer ``u``: ``2/(1-u²)`` (even), ``±iπ/2`` (``u = ±1``), else 0."""
    even = (u % 2) == 0
    value = torch.where(even, 2 / (1 - u.to(torch.float64) ** 2), torch.zeros_like(u, dtype=torch.float64))
    out = value.to(torch.complex128)
    out = torch.where(u == 1, torch.tensor(1j * math.pi / 2, dtype=torch.complex128), out)
    return torch.where(u == -1, torch.tensor(-1j * math.pi / 2, dtype=torch.complex128), out)


class FourierTables:
    """Tables of the Fourier method for inputs of degrees ``lmax1, lmax2`` and output degree ``lmax_out``.

    Attributes:
        forward1, forward2: ``[2L+1 (m), 2L+1 (u), L+1 (l)]`` complex, ``a^{l|m|}_u``.
        backward: ``[L3+1 (k), L3+1 (l), 2S+1 (u)]`` complex, ``Σ_w a^{lk}_w I(u + w)`` for ``|u| <= S = L1 + L2``.
        S: ``L1 + L2``, the largest frequency of a product in either angle (the FFT sizes are the executor's:
            :func:`torch_gaunt.products.backends.fourier.fft_size`).
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int, dtype: torch.dtype, device: torch.device):
        cdtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        S = lmax1 + lmax2
        self.lmax1, self.lmax2, self.lmax_out, self.S = lmax1, lmax2, lmax_out, S
        self.forward1 = self._forward(lmax1).to(device=device, dtype=cdtype)
        self.forward2 = self._forward(lmax2).to(device=device, dtype=cdtype)
        a = _legendre_fourier_coefficients(lmax_out)  # [k, w, l]
        u = torch.arange(-S, S + 1)
        w = torch.arange(-lmax_out, lmax_out + 1)
        moments = _sin_moments(u[None, :] + w[:, None])  # [w, u]
        self.backward = torch.einsum("kwl,wu->klu", a, moments).to(device=device, dtype=cdtype)

    @staticmethod
    def _forward(lmax: int) -> torch.Tensor:
        a = _legendre_fourier_coefficients(lmax)  # [k, u, l]
        k = torch.arange(-lmax, lmax + 1).abs()
        return a[k].contiguous()  # [m, u, l]


_fourier_tables = cached_table(FourierTables)


def fourier_tables(
    lmax1: int, lmax2: int, lmax_out: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> FourierTables:
    """The cached :class:`FourierTables` for these degrees, dtype and device."""
    return _fourier_tables(lmax1, lmax2, lmax_out, dtype, torch.device(device))
