"""2D-Fourier executor (Luo, Chen, Zhang, ICLR 2024): SH -> 2D Fourier series with exact sparse tables, 2D
convolution of the two series, then back to SH. O(L^3) per channel for the tables; the convolution is done
by FFT (O(L^2 log L)) or, when one input has few coefficients, directly (O(L1^2 L2^2), no transforms)."""

from __future__ import annotations

import math

import torch

from ...sphere.fourier import fourier_tables
from ...sphere.grid import from_order_major, order_major_indices, to_order_major
from ..description import GauntDescription


def fft_size(desc: GauntDescription) -> tuple[int, int]:
    """``(n_theta, n_phi)``: ``n_theta = 2 (L1 + L2) + 1`` keeps every ``u`` of the product exact; ``n_phi``
    keeps ``|v| <= L3`` free of aliasing and holds the inputs' ``|v| <= max(L1, L2)``."""
    S = desc.lmax1 + desc.lmax2
    return 2 * S + 1, max(S + desc.lmax_out + 1, 2 * max(desc.lmax1, desc.lmax2) + 1)


DIRECT_MAX_DEGREE = 3
"""Convolve directly when the smaller input has degree <= this (measured crossover, see ``select_convolution``)."""


def select_convolution(desc: GauntDescription) -> str:
    """``"direct"`` or ``"fft"``. Measured at 256 x 16 channels on our 2-core CPU with ``L1 = L2 = L``: direct
    0.7 / 2.3 / 6.1 / 14.5 ms against FFT 2.2 / 4.6 / 8.8 / 16.0 ms for L = 1..4, so direct while ``min(L1, L2) <= 3``."""
    return "direct" if min(desc.lmax1, desc.lmax2) <= DIRECT_MAX_DEGREE else "fft"


def tables(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    ft = fourier_tables(desc.lmax1, desc.lmax2, desc.lmax_out, dtype, device)
    n_theta, _ = fft_size(desc)
    out = {"forward1": ft.forward1, "forward2": ft.forward2, "backward": ft.backward}
    for name, lmax in (("1", desc.lmax1), ("2", desc.lmax2)):
        out[f"gather{name}"] = order_major_indices(lmax, device)[0]
        out[f"u{name}"] = torch.arange(-lmax, lmax + 1, device=device) % n_theta
    out["scatter_out"] = order_major_indices(desc.lmax_out, device)[1]
    out["u_out"] = torch.arange(-ft.S, ft.S + 1, device=device) % n_theta
    return out


def _half_spectrum(c, forward, gather, u, n_theta: int, n_freq: int) -> torch.Tensor:
    """Coefficients ``[K, M, C]`` -> ``F[u, v]`` for ``v >= 0`` in FFT layout ``[n_theta, n_freq, M C]``."""
    L = (forward.shape[0] - 1) // 2
    by_order = to_order_major(c, gather, L).to(forward.dtype)
    B = torch.bmm(forward, by_order)  # [m, u, N]: Σ_l a^{l|m|}_u c_lm
    positive = (B[L + 1 :] - 1j * B[:L].flip(0)) / math.sqrt(2)  # v = k = 1..L from m = +k and m = -k
    half = torch.cat([B[L : L + 1], positive])  # [v = 0..L, u = -L..L, N]
    out = half.new_zeros(n_theta, n_freq, by_order.shape[-1])
    out[u, : L + 1] = half.transpose(0, 1)
    return out


def _full_spectrum(c: torch.Tensor, forward: torch.Tensor, gather: torch.Tensor) -> torch.Tensor:
    """Coefficients ``[K, M, C]`` -> ``F[u, v]`` for all ``|u|, |v| <= L``: ``[2L+1 (u), 2L+1 (v), M C]``."""
    L = (forward.shape[0] - 1) // 2
    B = torch.bmm(forward, to_order_major(c, gather, L).to(forward.dtype))  # [m, u, N]
    positive = (B[L + 1 :] - 1j * B[:L].flip(0)) / math.sqrt(2)  # v = 1..L
    negative = (B[L + 1 :] + 1j * B[:L].flip(0)).flip(0) / math.sqrt(2)  # v = -L..-1
    return torch.cat([negative, B[L : L + 1], positive]).transpose(0, 1)


def _direct_convolution(x, y, t: dict[str, torch.Tensor], desc: GauntDescription) -> torch.Tensor:
    """``F1 * F2`` summed term by term over the smaller series: ``[2S+1 (u), 2S+1 (v), M C]``, ``S = L1 + L2``."""
    _, M, C = x.shape
    F1 = _full_spectrum(x, t["forward1"], t["gather1"]).view(2 * desc.lmax1 + 1, 2 * desc.lmax1 + 1, M, C)
    F2 = _full_spectrum(y, t["forward2"], t["gather2"]).view(2 * desc.lmax2 + 1, 2 * desc.lmax2 + 1, M, y.shape[-1])
    small, large = (F1, F2) if desc.lmax1 <= desc.lmax2 else (F2, F1)
    n_small, n_large = small.shape[0], large.shape[0]
    S2 = n_small + n_large - 1
    out = F1.new_zeros(S2, S2, M, C)
    for u in range(n_small):
        for v in range(n_small):
            out[u : u + n_large, v : v + n_large] += small[u, v] * large
    return out.view(S2, S2, M * C)


def run(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, t: dict[str, torch.Tensor]) -> torch.Tensor:
    _, M, C = x.shape
    L3, S = desc.lmax_out, desc.lmax1 + desc.lmax2
    if select_convolution(desc) == "direct":
        F = _direct_convolution(x, y, t, desc)  # u = -S..S, v = -S..S
        G = F[:, S : S + L3 + 1].transpose(0, 1)  # [k, u, N]: F[u, k]
        H = F[:, S - L3 : S + 1].flip(1).transpose(0, 1)  # F[u, -k]
    else:
        n_theta, n_phi = fft_size(desc)
        n_freq = n_phi // 2 + 1
        size = (n_theta, n_phi)
        F1 = _half_spectrum(x, t["forward1"], t["gather1"], t["u1"], n_theta, n_freq)
        F2 = _half_spectrum(y, t["forward2"], t["gather2"], t["u2"], n_theta, n_freq)
        f1 = torch.fft.irfft2(F1, s=size, dim=(0, 1), norm="forward").view(n_theta, n_phi, M, C)
        f2 = torch.fft.irfft2(F2, s=size, dim=(0, 1), norm="forward").view(n_theta, n_phi, M, y.shape[-1])
        F = torch.fft.rfft2((f1 * f2).view(n_theta, n_phi, M * C), dim=(0, 1), norm="forward")
        G = F[t["u_out"], : L3 + 1].transpose(0, 1)  # [k, u, N]: F[u, k]
        H = G.flip(1).conj()  # conj(F[-u, k]) = F[u, -k]
    plus = torch.bmm(t["backward"], G + H)  # [k, l, N]
    minus = torch.bmm(t["backward"], G - H)
    scale = math.sqrt(2) * math.pi
    by_order = torch.cat([(-scale * minus[1:].imag).flip(0), math.pi * plus[:1].real, scale * plus[1:].real])
    return from_order_major(by_order.reshape(-1, M * C), t["scatter_out"], (M, C))
