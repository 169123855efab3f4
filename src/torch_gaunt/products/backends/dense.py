"""Reference executor: contraction with the dense table of exact Gaunt coefficients. O(L^6) per channel."""

from __future__ import annotations

import torch

from ...so3.coefficients import gaunt_coefficients
from ..description import GauntDescription


def tables(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    """``gaunt [K1 * K2, K3]``: every Gaunt coefficient of the description."""
    K1, K2, K3 = ((l + 1) ** 2 for l in (desc.lmax1, desc.lmax2, desc.lmax_out))
    table = torch.zeros(K1, K2, K3, dtype=torch.float64)
    for l1, l2, l3 in desc.paths:
        table[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2] = gaunt_coefficients(
            l1, l2, l3
        )
    return {"gaunt": table.reshape(K1 * K2, K3).to(dtype=dtype, device=device)}


def run(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, t: dict[str, torch.Tensor]) -> torch.Tensor:
    """``z = G^T (x ⊗ y)``, with the outer product of the coefficient axes taken per batch entry and channel."""
    _, M, C = x.shape
    outer = (x[:, None] * y[None, :]).reshape(-1, M * C)  # [K1 K2, M C]; y broadcasts over C
    return (t["gaunt"].T @ outer).view(-1, M, C).transpose(0, 1).contiguous()
