"""Sphere-grid executor fused into one Triton kernel: for a tile of rows (batch entries x channels) it synthesises
both factors on the grid, multiplies them and integrates back, one block of grid points at a time, so that the
grid values never leave the chip.

As matrices, with ``G = n_theta n_phi`` points of the full grid of :attr:`GauntDescription.grid_size`,

    z = P ((B1 x) * (B2 y)),    B1 [G, K1], B2 [G, K2] the synthesis, P [K3, G] the weighted analysis,

the same exact quadrature as :mod:`.grid`. The transforms are dense here (O(L^4) per row, where the separable
executor costs O(L^3)), but they run as matrix products on tensor cores without a round trip through memory:
which of the two wins on a GPU is for the benchmark to say, and :func:`~torch_gaunt.products.select_method` never
picks this executor by itself. It needs Triton and a CUDA device (or ``TRITON_INTERPRET=1``, Triton's interpreter,
on the CPU: how the tests check it). The backward pass (and the double backward that forces need) runs the same
matrices in PyTorch, recomputing the grid values.
"""

from __future__ import annotations

import functools
import os

import torch

from ..description import GauntDescription
from .grid import GridTables, order_major, project, spherical_layout, synthesize

__all__ = ["available", "tables", "run"]

BLOCK_ROWS = 32
BLOCK_G = 32


def available(device: torch.device | str) -> bool:
    """Whether this executor can run on ``device``: Triton is installed, and the device is CUDA or Triton's
    interpreter is on (``TRITON_INTERPRET=1``)."""
    if not _triton_installed():
        return False
    return torch.device(device).type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1"


def _triton_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("triton") is not None


def _padded(n: int, minimum: int = 16) -> int:
    """``n`` rounded up to a power of two of at least ``minimum`` (Triton's block shapes and ``tl.dot``)."""
    return max(minimum, 1 << (n - 1).bit_length())


def tables(desc: GauntDescription, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    """``b1t [K1p, Gp]``, ``b2t [K2p, Gp]`` (synthesis, transposed) and ``pt [Gp, K3p]`` (analysis, transposed),
    zero-padded to Triton's block shapes; computed in float64 by running :mod:`.grid`'s full-grid pipeline on unit
    coefficients and unit grid functions."""
    n_theta, n_phi = desc.grid_size
    G = n_theta * n_phi
    Gp = -(-G // BLOCK_G) * BLOCK_G
    f64 = torch.float64

    def synthesis(L: int) -> torch.Tensor:
        g = GridTables(L, n_theta, n_phi, False, f64, torch.device("cpu"))
        K = (L + 1) ** 2
        values = synthesize(order_major(torch.eye(K, dtype=f64), g), g)  # [n_phi, n_theta * K]
        out = torch.zeros(_padded(K), Gp, dtype=f64)
        out[:K, :G] = values.reshape(G, K).T
        return out

    g3 = GridTables(desc.lmax_out, n_theta, n_phi, False, f64, torch.device("cpu"))
    K3 = (desc.lmax_out + 1) ** 2
    unit = torch.eye(G, dtype=f64).reshape(n_phi, n_theta * G)  # grid function g is 1 at point g
    analysis = spherical_layout(project(unit, g3), g3, (G, 1))[..., 0]  # [G, K3]
    pt = torch.zeros(Gp, _padded(K3), dtype=f64)
    pt[:G, :K3] = analysis
    out = {"b1t": synthesis(desc.lmax1), "b2t": synthesis(desc.lmax2), "pt": pt}
    return {name: t.to(dtype=dtype, device=device) for name, t in out.items()}


@functools.cache
def _kernel():
    """The jitted kernel (Triton is imported on first use, so the library imports without it)."""
    import triton
    import triton.language as tl

    @triton.jit
    def grid_product(
        x_ptr, y_ptr, b1_ptr, b2_ptr, p_ptr, z_ptr, n_rows, G,
        K1: tl.constexpr, K2: tl.constexpr, K3: tl.constexpr, BLOCK_ROWS: tl.constexpr, BLOCK_G: tl.constexpr,
    ):  # fmt: skip
        rows = tl.program_id(0) * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
        live = rows[:, None] < n_rows
        k1, k2, k3 = tl.arange(0, K1), tl.arange(0, K2), tl.arange(0, K3)
        points = tl.arange(0, BLOCK_G)
        x = tl.load(x_ptr + rows[:, None] * K1 + k1[None, :], mask=live, other=0.0)
        y = tl.load(y_ptr + rows[:, None] * K2 + k2[None, :], mask=live, other=0.0)
        acc = tl.zeros((BLOCK_ROWS, K3), dtype=z_ptr.dtype.element_ty)
        for start in range(0, G, BLOCK_G):
            b1 = tl.load(b1_ptr + k1[:, None] * G + (start + points)[None, :])
            b2 = tl.load(b2_ptr + k2[:, None] * G + (start + points)[None, :])
            p = tl.load(p_ptr + (start + points)[:, None] * K3 + k3[None, :])
            product = tl.dot(x, b1, input_precision="ieee") * tl.dot(y, b2, input_precision="ieee")
            acc += tl.dot(product, p, input_precision="ieee")
        tl.store(z_ptr + rows[:, None] * K3 + k3[None, :], acc, mask=live)

    return grid_product


def _launch(x: torch.Tensor, y: torch.Tensor, b1t: torch.Tensor, b2t: torch.Tensor, pt: torch.Tensor) -> torch.Tensor:
    n_rows = x.shape[0]
    z = torch.empty(n_rows, pt.shape[1], dtype=x.dtype, device=x.device)
    grid = (-(-n_rows // BLOCK_ROWS),)
    _kernel()[grid](
        x, y, b1t, b2t, pt, z, n_rows, pt.shape[0], K1=b1t.shape[0], K2=b2t.shape[0], K3=pt.shape[1],
        BLOCK_ROWS=BLOCK_ROWS, BLOCK_G=BLOCK_G,
    )  # fmt: skip
    return z


class _FusedGridProduct(torch.autograd.Function):
    """``z = ((x b1t) * (y b2t)) pt`` on padded rows ``x [N, K1p]``, ``y [N, K2p]``; the backward in PyTorch."""

    @staticmethod
    def forward(ctx, x, y, b1t, b2t, pt):
        ctx.save_for_backward(x, y, b1t, b2t, pt)
        return _launch(x, y, b1t, b2t, pt)

    @staticmethod
    def backward(ctx, dz):
        x, y, b1t, b2t, pt = ctx.saved_tensors
        dh = dz @ pt.T  # [N, Gp]: the gradient on the grid
        return (dh * (y @ b2t)) @ b1t.T, (dh * (x @ b1t)) @ b2t.T, None, None, None


def run(x: torch.Tensor, y: torch.Tensor, desc: GauntDescription, t: dict[str, torch.Tensor]) -> torch.Tensor:
    if not available(x.device):
        raise RuntimeError(
            f"method 'grid_triton': needs Triton and a CUDA device (or TRITON_INTERPRET=1), got {x.device}"
            + ("" if _triton_installed() else " and no Triton")
        )
    K1, M, C = x.shape
    K2, K3 = y.shape[0], (desc.lmax_out + 1) ** 2
    rows_x = x.permute(1, 2, 0).reshape(M * C, K1)
    rows_y = y.permute(1, 2, 0).expand(M, C, K2).reshape(M * C, K2)  # a one-channel y serves every channel
    pad = torch.nn.functional.pad
    rows_x = pad(rows_x, (0, t["b1t"].shape[0] - K1)).contiguous()
    rows_y = pad(rows_y, (0, t["b2t"].shape[0] - K2)).contiguous()
    z = _FusedGridProduct.apply(rows_x, rows_y, t["b1t"], t["b2t"], t["pt"])[:, :K3]
    return z.reshape(M, C, K3).transpose(1, 2).contiguous()
