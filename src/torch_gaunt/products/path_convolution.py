r"""The per-path point convolution: every path ``(l1, l2, l3)`` gets its own per-edge, per-channel weight and its own
slot in the message (MACE's ``uvu`` convolution, restricted to the Gaunt paths that MACE's parities allow).

.. math::  m_i[l_3 m_3, s(p), c] = \sum_{e:\, j \to i} R_e[p, c]\; c_p \sum_{m_1 m_2}
           G(l_1 m_1, l_2 m_2, l_3 m_3)\, x_j[l_1 m_1, c]\, Y_{l_2 m_2}(\hat r_e)

for each path ``p = (l1, l2, l3)`` of :class:`~torch_gaunt.products.PathConvolutionDescription`, with ``s(p)``
its slot. ``c_p = sqrt(4π (2 l3 + 1)) / g_p`` (``g_p`` from :func:`~torch_gaunt.so3.gaunt_cg_ratio`) turns the
Gaunt coefficients with integral-normalised harmonics into e3nn's component-normalised path
``sqrt(2 l3 + 1) Σ C(l1, l2, l3) x Y^{comp}``: each path equals the one of e3nn's ``TensorProduct`` (and MACE's
``conv_tp``) with the same weight, sign included, and maps inputs of unit variance per component to outputs of
unit variance per component.

How (the edge frame of eSCN): rotate ``x_j`` so that the edge lies on the polar axis, where ``Y(ŷ)`` has only
``m2 = 0`` terms and ``G(l1 m, l2 0, l3 m')`` vanishes unless ``m = m'``. Then path ``p`` multiplies order ``m``
of degree ``l1`` by one number, for ``|m| <= min(l1, l3)``, and the result is rotated back. Both rotations only
need the columns ``|m| <= M = min(L_in, L_out)`` of each edge's Wigner matrices, which come from
:class:`~torch_gaunt.so3.edge_frame.EdgeFrame` (two passes over ``[E, K, 2M+1]``). Rotation in, the per-order
factors and rotation out are folded into one small matrix per edge, ``[rows, K_in]`` (one row per output
coefficient and path), so that the channels go through one batched product and one multiplication by the radial
weights, which broadcast over the ``2 l3 + 1`` rows of each path. A zero-length edge has no direction:
only its ``l2 = 0`` paths are weighted.
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import check_same_dtype_device, check_spherical_tensor, check_tensor
from .._safe import safe_norm
from ..so3.coefficients import gaunt_cg_ratio, gaunt_coefficients
from ..so3.edge_frame import edge_frame
from .description import PathConvolutionDescription

__all__ = ["path_convolution", "path_normalization"]


def path_normalization(l1: int, l2: int, l3: int) -> float:
    """``c_p = sqrt(4π (2 l3 + 1)) / g``: the factor that turns the Gaunt path ``(l1, l2, l3)`` of integral-
    normalised harmonics into e3nn's component-normalised Clebsch-Gordan path (same sign)."""
    return math.sqrt(4 * math.pi * (2 * l3 + 1)) / gaunt_cg_ratio(l1, l2, l3)


class _FrameTables:
    """Constants of the edge-frame executor for one description. The rows of a message are packed by degree: the
    rows of degree ``l3`` run over ``(m3, s)`` for the ``P_l3`` slots it uses, ``m3``-major, from ``offsets[l3]``.

    ``couple[r, k1, j]``: the path of row ``r``'s slot multiplies order ``m_j = j - M`` of degree ``l1`` (``k1`` of
    degree ``l1``) by ``c_p G(l1 m, l2 0, l3 m) Y_l2(ŷ)``; ``row_coefficient[r]``, ``row_path[r]``: the output
    coefficient ``k3`` and the path of row ``r``.
    """

    def __init__(self, desc: PathConvolutionDescription, dtype: torch.dtype, device: torch.device):
        L1, L3 = desc.lmax_in, desc.lmax_out
        M, L = min(L1, L3), max(L1, L3)
        K1 = (L1 + 1) ** 2
        counts = desc.paths_per_degree
        self.offsets = [sum((2 * l + 1) * counts[l] for l in range(l3)) for l3 in range(L3 + 2)]
        couple = torch.zeros(self.offsets[-1], K1, 2 * M + 1, dtype=torch.float64)
        row_coefficient = torch.zeros(self.offsets[-1], dtype=torch.long)
        row_path = torch.zeros(self.offsets[-1], dtype=torch.long)
        for p, ((l1, l2, l3), s) in enumerate(zip(desc.paths, desc.slots)):
            G = gaunt_coefficients(l1, l2, l3)
            y0 = math.sqrt((2 * l2 + 1) / (4 * math.pi))  # Y_l2(ŷ) at m2 = 0; zero for m2 != 0
            for i in range(2 * l3 + 1):
                r = self.offsets[l3] + i * counts[l3] + s
                row_coefficient[r], row_path[r] = l3 * l3 + i, p
                for m in range(-min(l1, l3), min(l1, l3) + 1):
                    value = path_normalization(l1, l2, l3) * y0 * G[l1 + m, l2, l3 + m]
                    couple[r, l1 * l1 : (l1 + 1) ** 2, m + M] = value
        # selector[(l, m), j] = 1 when m = j - M: the frame's unit vectors whose rotations are the wanted columns
        selector = torch.zeros((L + 1) ** 2, 2 * M + 1, dtype=torch.float64)
        for l in range(L + 1):
            for m in range(-min(l, M), min(l, M) + 1):
                selector[l * l + l + m, m + M] = 1.0
        self.L, self.K1 = L, K1
        self.couple = couple.to(dtype=dtype, device=device)
        self.row_coefficient, self.row_path = row_coefficient.to(device), row_path.to(device)
        self.selector = selector.to(dtype=dtype, device=device)
        self.l2_positive = torch.tensor([l2 > 0 for _, l2, _ in desc.paths], device=device)


_frame_tables = cached_table(_FrameTables)


def path_convolution(
    x: torch.Tensor,
    radial: torch.Tensor,
    vectors: torch.Tensor,
    edge_index: torch.Tensor,
    description: PathConvolutionDescription,
) -> torch.Tensor:
    """Sum over edges ``j -> i`` of the weighted paths ``x_j ⊗ Y(r̂_e)``, one slot per path, per receiver ``i``.

    Args:
        x: node features ``[N, (L_in+1)**2, C]``.
        radial: per-edge weights of each path ``[E, P, C]`` (or ``[E, P, 1]``), in the order of
            ``description.paths``.
        vectors: edge vectors ``[E, 3]`` (any length).
        edge_index: ``[2, E]`` integers, ``edge_index[0]`` the senders ``j``, ``edge_index[1]`` the receivers ``i``.
        description: the degrees; ``x`` must have degree ``description.lmax_in``.

    Returns:
        ``[N, (L_out+1)**2, S, C]`` with ``S = description.num_slots``: slot ``s`` of degree ``l3`` holds the path
        of that slot, zero where a degree has fewer paths and for nodes that receive no edge. Not divided by any
        neighbour count.
    """
    desc = description
    check_spherical_tensor("x", x, lmax=desc.lmax_in)
    N, _, C = x.shape
    check_tensor("radial", radial, min_dim=3)
    check_tensor("vectors", vectors, min_dim=2)
    check_same_dtype_device(x=x, radial=radial, vectors=vectors)
    if not isinstance(edge_index, torch.Tensor) or edge_index.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"edge_index: expected an integer tensor [2, E], got {type(edge_index).__name__}")
    E, P = vectors.shape[0], len(desc.paths)
    if (
        vectors.shape != (E, 3)
        or edge_index.shape != (2, E)
        or radial.shape[:2] != (E, P)
        or radial.shape[2] not in (1, C)
    ):
        raise ValueError(
            f"vectors, edge_index, radial: expected shapes [E, 3], [2, E] and [E, {P} paths, {C} or 1] with one E, "
            f"got {tuple(vectors.shape)}, {tuple(edge_index.shape)} and {tuple(radial.shape)}"
        )
    if E and not torch.compiler.is_compiling() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= N):
        raise ValueError(
            f"edge_index: expected node indices in [0, {N}), got values in [{int(edge_index.min())}, {int(edge_index.max())}]"
        )
    L1, L3, S = desc.lmax_in, desc.lmax_out, desc.num_slots
    K1, K3 = (L1 + 1) ** 2, (L3 + 1) ** 2
    if E == 0 or P == 0:
        return x.new_zeros(N, K3, S, C)
    t = _frame_tables(desc, x.dtype, x.device)
    # a zero-length edge has no direction: only its l2 = 0 paths are weighted
    keep = (safe_norm(vectors)[:, None] > 0) | ~t.l2_positive
    radial = radial * keep[..., None].to(radial.dtype)
    columns = edge_frame(vectors, t.L).from_frame(t.selector.expand(E, -1, -1))  # [E, K, 2M+1] of D(Q_e)
    # the per-edge map from x_j to the rows: T[r, k1] = Σ_j D[k3(r), j] couple[r, k1, j] D[k1, j]
    transfer = torch.einsum("erj,rkj,ekj->erk", columns.index_select(1, t.row_coefficient), t.couple, columns[:, :K1])
    messages = torch.bmm(transfer, x.index_select(0, edge_index[0])) * radial.index_select(1, t.row_path)
    rows = x.new_zeros(N, t.offsets[-1], messages.shape[-1]).index_add(0, edge_index[1], messages)
    blocks = []  # unpack the rows of each degree into its slots (on nodes, not edges)
    for l3, used in enumerate(desc.paths_per_degree):
        block = rows[:, t.offsets[l3] : t.offsets[l3 + 1]].view(N, 2 * l3 + 1, used, -1)
        blocks.append(torch.nn.functional.pad(block, (0, 0, 0, S - used)))
    return torch.cat(blocks, 1)
