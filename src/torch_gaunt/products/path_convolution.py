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
need the columns ``|m| <= min(L_in, L_out)`` of each edge's Wigner matrices, which come from
:class:`~torch_gaunt.so3.edge_frame.EdgeFrame` (two passes over ``[E, K, 2M+1]``); the work per edge is
``O(K (2M+1) S C)`` for ``S`` slots. A zero-length edge has no direction: only its ``l2 = 0`` paths are weighted.
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
    """Constants of the edge-frame executor for one description, padded to ``(L_out + 1) * S`` slots."""

    def __init__(self, desc: PathConvolutionDescription, dtype: torch.dtype, device: torch.device):
        L1, L3, S = desc.lmax_in, desc.lmax_out, desc.num_slots
        M = min(L1, L3)
        L = max(L1, L3)
        slots = (L3 + 1) * S
        l1_of, path_of = torch.zeros(slots, dtype=torch.long), torch.zeros(slots, dtype=torch.long)
        coefficient = torch.zeros(slots, 2 * M + 1, dtype=torch.float64)
        for p, ((l1, l2, l3), s) in enumerate(zip(desc.paths, desc.slots)):
            k = l3 * S + s
            l1_of[k], path_of[k] = l1, p
            G = gaunt_coefficients(l1, l2, l3)
            y0 = math.sqrt((2 * l2 + 1) / (4 * math.pi))  # Y_l2(ŷ) at m2 = 0; zero for m2 != 0
            for m in range(-min(l1, l3), min(l1, l3) + 1):
                coefficient[k, m + M] = path_normalization(l1, l2, l3) * y0 * G[l1 + m, l2, l3 + m]
        # selector[(l, m), j] = 1 when m = j - M: the frame's unit vectors whose rotations are the wanted columns
        selector = torch.zeros((L + 1) ** 2, 2 * M + 1, dtype=torch.float64)
        for l in range(L + 1):
            for m in range(-min(l, M), min(l, M) + 1):
                selector[l * l + l + m, m + M] = 1.0
        degree_sum = torch.zeros(L1 + 1, (L1 + 1) ** 2, dtype=torch.float64)
        for l in range(L1 + 1):
            degree_sum[l, l * l : (l + 1) ** 2] = 1.0
        l2_positive = torch.tensor([l2 > 0 for _, l2, _ in desc.paths])
        self.M, self.L = M, L
        self.l1_of, self.path_of = l1_of.to(device), path_of.to(device)
        self.coefficient = coefficient.to(dtype=dtype, device=device)
        self.selector = selector.to(dtype=dtype, device=device)
        self.degree_sum = degree_sum.to(dtype=dtype, device=device)
        self.l2_positive = l2_positive.to(device)


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
    M = t.M
    # a zero-length edge has no direction: only its l2 = 0 paths are weighted
    keep = (safe_norm(vectors)[:, None] > 0) | ~t.l2_positive
    radial = radial * keep[..., None].to(radial.dtype)
    frame = edge_frame(vectors, t.L)
    columns = frame.from_frame(t.selector.expand(E, -1, -1))  # [E, K, 2M+1]: columns |m| <= M of D(Q_e)
    sender = x.index_select(0, edge_index[0])  # [E, K1, C]
    # x_j in the edge frame, orders |m| <= M: x'[l1, m] = Σ_m' D[(l1, m'), m] x_j[(l1, m')]
    in_frame = torch.einsum("lk,ekjc->eljc", t.degree_sum, columns[:, :K1, :, None] * sender[:, :, None, :])
    z = in_frame.index_select(1, t.l1_of) * t.coefficient[:, :, None] * radial.index_select(1, t.path_of)[:, :, None]
    z = z.view(E, L3 + 1, S, 2 * M + 1, -1)
    parts = []
    for l3 in range(L3 + 1):  # rotate back: degree l3 needs the columns |m| <= min(M, l3) of its block
        lo, hi = M - min(M, l3), M + min(M, l3) + 1
        parts.append(torch.einsum("ekj,esjc->eksc", columns[:, l3 * l3 : (l3 + 1) ** 2, lo:hi], z[:, l3, :, lo:hi]))
    messages = torch.cat(parts, 1)  # [E, K3, S, C]
    return x.new_zeros(N, K3, S, C).index_add(0, edge_index[1], messages)
