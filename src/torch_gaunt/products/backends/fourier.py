"""2D-Fourier executor (Luo, Chen, Zhang, ICLR 2024): SH -> 2D Fourier series with exact sparse tables, 2D
convolution of the two series by FFT, then back to SH. O(L^3) per channel for the tables, O(L^2 log L) FFT."""

from __future__ import annotations

import math

import torch

from ...sphere.fourier import fourier_tables
from ...sphere.grid import from_order_major, order_major_indices, to_order_major
from ..description import GauntDescription


def _to_half_spectrum(c: torch.Tensor, forward: torch.Tensor, lmax: int, n_theta: int, n_freq: int) -> torch.Tensor:
    """Coefficients ``[K, M, C]`` -> Fourier coefficients ``F[u, v]``, ``v >= 0``, in FFT layout ``[n_theta, n_freq, M C]``."""
    gather, _ = order_major_indices(lmax, c.device)
    by_order = to_order_major(c, gather, lmax).to(forward.dtype)
    B = torch.bmm(forward, by_order)  # [m, u, N]: Σ_l a^{l|m|}_u c_lm
    positive = (B[lmax + 1 :] - 1j * B[:lmax].flip(0)) / math.sqrt(2)  # v = k = 1..L from m = +k and -k
    half = torch.cat([B[lmax : lmax + 1], positive])  # [v = 0..L, u = -L..L, N]
    out = half.new_zeros(n_theta, n_freq, by_order.shape[-1])
    u = torch.arange(-lmax, lmax + 1, device=c.device) % n_theta
    out[u, : lmax + 1] = half.transpose(0, 1)
    return out


def gaunt_fourier(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription) -> torch.Tensor:
    L1, L2, L3 = desc.lmax1, desc.lmax2, desc.lmax_out
    tables = fourier_tables(L1, L2, L3, x.dtype, x.device)
    n_theta = tables.n_theta
    n_phi = max(tables.n_phi, 2 * max(L1, L2) + 1)
    n_freq = n_phi // 2 + 1
    _, M, C = x.shape
    size = (n_theta, n_phi)
    f1 = torch.fft.irfft2(
        _to_half_spectrum(x, tables.forward1, L1, n_theta, n_freq), s=size, dim=(0, 1), norm="forward"
    )
    f2 = torch.fft.irfft2(
        _to_half_spectrum(y, tables.forward2, L2, n_theta, n_freq), s=size, dim=(0, 1), norm="forward"
    )
    product = (f1.view(n_theta, n_phi, M, C) * f2.view(n_theta, n_phi, M, y.shape[-1])).view(n_theta, n_phi, M * C)
    F = torch.fft.rfft2(product, dim=(0, 1), norm="forward")  # [n_theta, n_freq, N]
    S = tables.S
    u = torch.arange(-S, S + 1, device=x.device) % n_theta
    G = F[u, : L3 + 1].transpose(0, 1)  # [k, u, N]: F[u, k]
    H = G.flip(1).conj()  # conj(F[-u, k]) = F[u, -k]
    plus = torch.bmm(tables.backward, G + H)  # [k, l, N]
    minus = torch.bmm(tables.backward, G - H)
    scale = math.sqrt(2) * math.pi
    by_order = torch.cat(
        [(-scale * minus[1:].imag).flip(0), math.pi * plus[:1].real, scale * plus[1:].real]
    )  # [m = -L3..L3, l, N]
    _, scatter = order_major_indices(L3, x.device)
    return from_order_major(by_order.reshape(-1, M * C), scatter, (M, C))
