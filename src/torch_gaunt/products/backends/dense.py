"""Reference executor: contraction with the dense table of exact Gaunt coefficients. O(L^6) per channel."""

from __future__ import annotations

import torch

from ...so3.coefficients import gaunt_coefficients
from ..description import GauntDescription

_TABLES: dict[tuple, torch.Tensor] = {}


def gaunt_table(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``G [K1 * K2, K3]``: every Gaunt coefficient of the description, cached."""
    key = (desc.lmax1, desc.lmax2, desc.lmax_out, dtype, device)
    if key not in _TABLES:
        K1, K2, K3 = ((l + 1) ** 2 for l in (desc.lmax1, desc.lmax2, desc.lmax_out))
        table = torch.zeros(K1, K2, K3, dtype=torch.float64)
        for l1, l2, l3 in desc.paths:
            table[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2] = gaunt_coefficients(
                l1, l2, l3
            )
        _TABLES[key] = table.reshape(K1 * K2, K3).to(dtype=dtype, device=device)
    return _TABLES[key]


def gaunt_dense(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, channels: int) -> torch.Tensor:
    """``z [K3, N] = G^T (x ⊗ y)``, with the outer product taken per column."""
    table = gaunt_table(desc, x.dtype, x.device)
    N = x.shape[1]
    if y.shape[1] != N:  # one channel of y broadcast over the channels of x
        y = y[:, :, None].expand(-1, -1, channels).reshape(y.shape[0], N)
    outer = (x[:, None, :] * y[None, :, :]).reshape(-1, N)
    return table.T @ outer
