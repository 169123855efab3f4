r"""The equivariant convolution: Gaunt products of node features with the harmonics of each edge, summed per receiver.

.. math::  m_i = \sum_{e:\, j \to i} x_j \otimes_{\text{Gaunt}} \big(R_e \odot Y(\hat r_e)\big),

where ``R_e [L_sh + 1, C]`` weighs each degree and channel of the edge's harmonics (a radial network's output). The
sum is taken with ``index_add`` (no dense adjacency). Executors, all equal to rounding:

- ``"grid"``: projection is linear, ``Σ_e P(f_j g_e) = P(Σ_e f_j g_e)``: node features are synthesised once per
  node, each edge's function ``g_e(s) = Σ_l R_l (2l+1)/4π P_l(r̂_e · s)`` (addition theorem) is formed directly on
  the grid, products are summed per receiver on the grid, and each node is projected once.
- ``"edge_frame"`` (eSCN's trick with Gaunt coefficients): rotate ``x_j`` so that the edge is the polar axis, where
  ``Y(ŷ)`` has only ``m = 0`` terms and ``G(l1 m, l2 0, l3 m')`` vanishes unless ``m = m'``, multiply per order
  ``m``, and rotate back (:mod:`torch_gaunt.so3.edge_frame`, no per-edge Wigner matrices).
- ``"dense"``, ``"fourier"``: one :func:`~torch_gaunt.products.gaunt_tensor_product` per edge.
- ``"auto"``: scalar senders (``L_in = 0``, a potential's first layer) take a direct path, since a constant
  function times ``g_e`` is ``x_j Y_0 g_e``: ``E (L_out+1)² C`` multiplications and no grid; otherwise
  :func:`~torch_gaunt.products.select_method` with ``operation="convolution"`` (the per-node grid).

A zero-length edge has no direction: its harmonics are taken as ``Y_0`` alone (degrees ``l > 0`` get no weight),
with finite first and second derivatives.
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import check_choice, check_degree, check_same_dtype_device, check_spherical_tensor, check_tensor
from .._safe import safe_norm
from ..so3.coefficients import gaunt_allowed, gaunt_coefficients
from ..so3.edge_frame import edge_frame
from ..so3.quadrature import sphere_grid_points
from ..so3.spherical_harmonics import spherical_harmonics
from ..so3.spherical_tensor import degree_index
from ..sphere.grid import from_order_major, order_major_indices, sphere_grid, to_order_major
from .description import GauntDescription
from .gaunt import METHODS, gaunt_tables, gaunt_tensor_product, select_method

__all__ = [
    "gaunt_convolution",
    "node_sum_executor",
    "convolution_edge_basis",
    "convolution_from_edge_basis",
    "prepare_convolution",
    "CONVOLUTION_METHODS",
]

CONVOLUTION_METHODS = METHODS + ("edge_frame",)


def gaunt_convolution(
    x: torch.Tensor,
    radial: torch.Tensor,
    vectors: torch.Tensor,
    edge_index: torch.Tensor,
    lmax_out: int,
    *,
    method: str = "auto",
    chunk_size: int = 4096,
) -> torch.Tensor:
    """Sum over edges ``j -> i`` of the Gaunt products ``x_j ⊗ (R_e ⊙ Y(r̂_e))``, per receiver ``i``.

    Args:
        x: node features ``[N, (L_in+1)**2, C]``.
        radial: per-edge weights of each degree of the edge harmonics ``[E, L_sh+1, C]`` (or ``[E, L_sh+1, 1]``).
        vectors: edge vectors ``[E, 3]`` (any length; zero-length edges keep only ``Y_0``).
        edge_index: ``[2, E]`` integers, ``edge_index[0]`` the senders ``j``, ``edge_index[1]`` the receivers ``i``.
        lmax_out: degree of the messages, ``<= L_in + L_sh``.
        method: one of :data:`CONVOLUTION_METHODS` (see the module docstring).
        chunk_size: edges handled at a time by the grid and edge-frame executors (bounds their memory).

    Returns:
        ``[N, (L_out+1)**2, C]``, zero for nodes that receive no edge. Not divided by any neighbour count.
    """
    L1 = check_spherical_tensor("x", x)
    N, _, C = x.shape
    check_tensor("radial", radial, min_dim=3)
    check_tensor("vectors", vectors, min_dim=2)
    check_same_dtype_device(x=x, radial=radial, vectors=vectors)
    check_choice("method", method, CONVOLUTION_METHODS)
    if not isinstance(edge_index, torch.Tensor) or edge_index.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"edge_index: expected an integer tensor [2, E], got {type(edge_index).__name__}")
    E, L2 = vectors.shape[0], radial.shape[1] - 1
    if vectors.shape != (E, 3) or edge_index.shape != (2, E) or radial.shape[0] != E or radial.shape[2] not in (1, C):
        raise ValueError(
            f"vectors, edge_index, radial: expected shapes [E, 3], [2, E] and [E, L_sh+1, {C} or 1] with one E, got "
            f"{tuple(vectors.shape)}, {tuple(edge_index.shape)} and {tuple(radial.shape)}"
        )
    # a data-dependent check: skipped while torch.compile or torch.export traces
    if E and not torch.compiler.is_compiling() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= N):
        raise ValueError(
            f"edge_index: expected node indices in [0, {N}), got values in [{int(edge_index.min())}, {int(edge_index.max())}]"
        )
    L3 = check_degree("lmax_out", lmax_out, maximum=L1 + L2)
    if E == 0:
        return x.new_zeros(N, (L3 + 1) ** 2, C)
    executor = node_sum_executor(L1, L2, L3, method, x.device)
    if executor is not None:
        basis = convolution_edge_basis(vectors, L1, L2, L3, executor)
        return convolution_from_edge_basis(x, [(basis, radial)], edge_index, L3, executor, chunk_size)
    # a zero-length edge has no direction: only Y_0 (which the harmonics of a zero vector already are) is weighted
    radial = radial * _direction_mask(safe_norm(vectors), L2)[..., None]
    if method == "edge_frame":
        out = x.new_zeros(N, (L3 + 1) ** 2, C)
        for sl in _edge_chunks(E, chunk_size):
            messages = _edge_frame_messages(x[edge_index[0, sl]], radial[sl], vectors[sl], L3)
            out = out.index_add(0, edge_index[1, sl], messages)
        return out
    edge = spherical_harmonics(vectors, L2)[..., None] * radial.index_select(1, degree_index(L2, x.device))
    messages = gaunt_tensor_product(x.index_select(0, edge_index[0]), edge, L3, method=method)
    return x.new_zeros(N, (L3 + 1) ** 2, C).index_add(0, edge_index[1], messages)


def node_sum_executor(lmax_in: int, lmax_sh: int, lmax_out: int, method: str, device: torch.device) -> str | None:
    """The executor ``method`` resolves to when it sums the edges on the nodes from a per-edge basis
    (:func:`convolution_edge_basis`): ``"scalar"`` (``method="auto"`` with scalar senders), ``"grid"`` (``"grid"``,
    or ``"auto"`` choosing it), or None for the per-edge executors."""
    if method == "auto" and lmax_in == 0:
        return "scalar"
    if method == "auto":
        method = select_method(lmax_in, lmax_sh, lmax_out, device, operation="convolution")
    return "grid" if method == "grid" else None


def convolution_edge_basis(
    vectors: torch.Tensor, lmax_in: int, lmax_sh: int, lmax_out: int, executor: str
) -> torch.Tensor:
    r"""The per-edge factor ``B [E, K, L+1]`` of the executors that sum on the nodes.

    With it the convolution is ``m_i = F(Σ_{e: j -> i} s_j ⊙ (B_e @ R_e))`` for radial weights ``R_e [L+1, C]``:

    - ``"scalar"`` (``L_in = 0``): ``B_e[k, l] = Y_k(r̂_e) [l(k) = l]`` over ``K = (L_out+1)²`` components
      (``L = L_out``), ``s_j = x_j^{(0)} / sqrt(4π)`` and ``F`` the identity;
    - ``"grid"``: ``B_e[s, l] = (2l+1)/4π P_l(r̂_e · s)`` over the ``K`` points ``s`` of the product's grid
      (``L = L_sh``, the addition theorem), ``s_j`` the senders' values on the grid and ``F`` the projection.

    A zero-length edge keeps only its ``l = 0`` column. Computing ``B`` apart from the sum lets a caller build it
    (and the radial weights) chunk by chunk under activation checkpointing, while the sum over all edges runs
    once (:func:`convolution_from_edge_basis`).

    Args:
        vectors: edge vectors ``[E, 3]``.
        lmax_in, lmax_sh, lmax_out: degrees of the senders, of the edge harmonics and of the messages.
        executor: ``"scalar"`` or ``"grid"`` (:func:`node_sum_executor`).
    """
    check_choice("executor", executor, ("scalar", "grid"))
    length = safe_norm(vectors)
    if executor == "scalar":
        Y = spherical_harmonics(vectors, lmax_out)
        basis = Y[..., None] * _degree_one_hot(lmax_out, vectors.dtype, vectors.device)
        return basis * _direction_mask(length, lmax_out)[:, None, :]
    n_theta, n_phi = GauntDescription(lmax_in, lmax_sh, lmax_out).grid_size
    points = _grid_points(n_theta, n_phi, vectors.dtype, vectors.device)  # [K, 3], in the order of the grid values
    unit = vectors / torch.where(length > 0, length, torch.ones_like(length))[:, None]
    scale = (2 * torch.arange(lmax_sh + 1, dtype=vectors.dtype, device=vectors.device) + 1) / (4 * math.pi)
    basis = _legendre_on_grid(unit @ points.T, lmax_sh) * scale
    return basis * _direction_mask(length, lmax_sh)[:, None, :]


def convolution_from_edge_basis(
    x: torch.Tensor,
    edge_parts: list[tuple[torch.Tensor, torch.Tensor]],
    edge_index: torch.Tensor,
    lmax_out: int,
    executor: str,
    chunk_size: int = 4096,
) -> torch.Tensor:
    """The convolution from per-edge bases and radial weights: ``F(Σ_{e: j -> i} s_j ⊙ (B_e @ R_e))``.

    Args:
        x: ``[N, (L_in+1)**2, C]``.
        edge_parts: ``(basis [e, K, L+1], radial [e, >= L+1, C or 1])`` of consecutive blocks of the edges, in the
            order of ``edge_index`` (one block, or the chunks a caller built under checkpointing); bases from
            :func:`convolution_edge_basis` with the same ``executor``.
        edge_index: ``[2, E]``, senders then receivers.
        lmax_out: degree of the messages.
        executor: ``"scalar"`` or ``"grid"``.
        chunk_size: bound on the edges of one step of the sum.

    Returns:
        ``[N, (L_out+1)**2, C]``; neither checks nor scales its inputs (:func:`gaunt_convolution` does).
    """
    N, _, C = x.shape
    if executor == "scalar":
        values = x[:, :1, :] / math.sqrt(4 * math.pi)
    else:
        lmax_in, lmax_sh = math.isqrt(x.shape[1]) - 1, edge_parts[0][0].shape[2] - 1
        n_theta, n_phi = GauntDescription(lmax_in, lmax_sh, lmax_out).grid_size
        grid_in = sphere_grid(lmax_in, n_theta, n_phi, x.dtype, x.device)
        values = grid_in.to_grid(x.transpose(0, 1)).view(n_phi * n_theta, N, C)
        values = values.transpose(0, 1).contiguous()  # [N, K, C]: the per-edge work reads whole rows
    pieces = [t for basis, radial in edge_parts for t in (basis, radial[:, : basis.shape[2]])]
    if torch.compiler.is_compiling():  # one traced pass over all edges (no custom autograd under tracing)
        g = torch.bmm(torch.cat(pieces[0::2]), torch.cat(pieces[1::2]))
        total = values.new_zeros(N, g.shape[1], C).index_add(
            0, edge_index[1], values.index_select(0, edge_index[0]) * g
        )
    else:
        chunk = _edge_sum_chunk(edge_index.shape[1], chunk_size)
        total = _EdgeSum.apply(values, edge_index[0], edge_index[1], chunk, *pieces)
    if executor == "scalar":
        return total
    grid_out = sphere_grid(lmax_out, n_theta, n_phi, x.dtype, x.device)
    block = grid_out.from_grid(total.transpose(0, 1).reshape(n_phi, n_theta, N * C))
    return from_order_major(block, grid_out.scatter, (N, C))


def _direction_mask(length: torch.Tensor, L: int) -> torch.Tensor:
    """``[E, L+1]``: 1, except 0 for the degrees ``l > 0`` of zero-length edges (which have no direction)."""
    keep = (length[:, None] > 0) | (torch.arange(L + 1, device=length.device) == 0)
    return keep.to(length.dtype)


@cached_table
def _degree_one_hot(L: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``[(L+1)², L+1]``: 1 where the component's degree is the column's."""
    return torch.nn.functional.one_hot(degree_index(L, device), L + 1).to(dtype)


@cached_table
def _grid_points(n_theta: int, n_phi: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Unit vectors ``[n_phi * n_theta, 3]`` of the Gauss-Legendre grid, φ-major like the grid values."""
    points, _ = sphere_grid_points(n_theta, n_phi, torch.float64)
    return points.transpose(0, 1).reshape(-1, 3).to(dtype=dtype, device=device)


def _edge_chunks(E, chunk_size: int) -> list[slice]:
    """Slices of at most ``chunk_size`` edges; one slice of all edges while torch.compile or torch.export traces
    (``E`` is then symbolic, and a loop over it would fix the edge count)."""
    if torch.compiler.is_compiling():
        return [slice(None)]
    return [slice(start, start + chunk_size) for start in range(0, E, chunk_size)]


def _edge_sum_chunk(num_edges: int, chunk_size: int) -> int:
    """Edges per step of :class:`_EdgeSum`: an eighth of the edges, between 64 and 1024 (and ``<= chunk_size``).
    Small structures keep their ``[e, K, C]`` temporaries far below one ``[E, K, C]`` tensor; large ones take few
    enough steps that the loop costs nothing next to the arithmetic."""
    return max(1, min(chunk_size, max(64, min(1024, num_edges // 8))))


def _legendre_on_grid(cos: torch.Tensor, L: int) -> torch.Tensor:
    """``P_l(cos)`` for ``l = 0..L`` by Bonnet's recurrence: ``[..., L+1]``."""
    legendre = [torch.ones_like(cos), cos]
    for l in range(1, L):
        legendre.append(((2 * l + 1) * cos * legendre[l] - l * legendre[l - 1]) / (l + 1))
    return torch.stack(legendre[: L + 1], -1)


class _EdgeSum(torch.autograd.Function):
    r"""``total[i] = Σ_{e: j -> i} values[j] ⊙ (B_e @ R_e)``, in steps of ``chunk`` edges.

    ``values [N, K or 1, C]`` (the senders), ``src``/``dst [E]``, then ``B [e, K, L+1]`` (the edge's basis per
    degree: Legendre polynomials of the edge direction against grid points, or its harmonics) and ``R [e, L+1, C
    or 1]`` for consecutive blocks of the edges -> ``[N, K, C]``. Autograd would keep two ``[E, K, C]`` tensors
    (the gathered senders and the edge functions ``B_e @ R_e``); this keeps only its inputs, which are ``C / (L+1)``
    times smaller, and recomputes the products in the backward pass, step by step, accumulating in place. The
    backward pass is made of differentiable operations, so forces can be trained on (double backward).
    """

    @staticmethod
    def forward(ctx, values, src, dst, chunk: int, *pieces):
        total = values.new_zeros(values.shape[0], pieces[0].shape[1], values.shape[2])
        bases, radials = pieces[0::2], pieces[1::2]
        for p, edges, local in _edge_steps(pieces, chunk):
            gathered = values.index_select(0, src[edges])
            total.index_add_(0, dst[edges], gathered * torch.bmm(bases[p][local], radials[p][local]))
        ctx.save_for_backward(values, src, dst, *pieces)
        ctx.chunk = chunk
        return total

    @staticmethod
    def backward(ctx, grad_total):
        values, src, dst, *pieces = ctx.saved_tensors
        bases, radials = pieces[0::2], pieces[1::2]
        grad_values = torch.zeros_like(values) if ctx.needs_input_grad[0] else None
        need_basis = any(ctx.needs_input_grad[4::2])
        need_radial = any(ctx.needs_input_grad[5::2])
        grad_bases = [torch.empty_like(B) for B in bases] if need_basis else None
        grad_radials = [torch.empty_like(R) for R in radials] if need_radial else None
        for p, edges, local in _edge_steps(pieces, ctx.chunk):
            B, R = bases[p][local], radials[p][local]
            upstream = grad_total.index_select(0, dst[edges])  # [e, K, C]
            if grad_values is not None:
                g = upstream * torch.bmm(B, R)
                grad_values.index_add_(0, src[edges], g.sum(1, keepdim=True) if values.shape[1] == 1 else g)
            if need_basis or need_radial:
                grad_g = upstream * values.index_select(0, src[edges])  # [e, K, C]
                if R.shape[2] == 1:
                    grad_g = grad_g.sum(-1, keepdim=True)
                if need_basis:  # filled step by step: no list of parts to concatenate
                    grad_bases[p][local] = torch.bmm(grad_g, R.transpose(1, 2))
                if need_radial:
                    grad_radials[p][local] = torch.bmm(B.transpose(1, 2), grad_g)
        grads = []
        for p in range(len(bases)):
            grads += [grad_bases[p] if need_basis else None, grad_radials[p] if need_radial else None]
        return grad_values, None, None, None, *grads


def _edge_steps(pieces, chunk: int):
    """``(block, edges, local)`` for steps of at most ``chunk`` edges through the blocks ``pieces[0::2]``: the
    block's index, the step's slice of all edges and its slice within the block."""
    start = 0
    for block, basis in enumerate(pieces[0::2]):
        size = basis.shape[0]
        for offset in range(0, size, chunk):
            stop = min(offset + chunk, size)
            yield block, slice(start + offset, start + stop), slice(offset, stop)
        start += size


def _edge_frame_messages(x: torch.Tensor, radial: torch.Tensor, vectors: torch.Tensor, L3: int) -> torch.Tensor:
    """Messages ``[E, K_out, C]`` of senders ``x [E, K_in, C]`` along ``vectors [E, 3]``, in the edge frame."""
    E, C = x.shape[0], x.shape[2]
    L1, L2 = math.isqrt(x.shape[1]) - 1, radial.shape[1] - 1
    frame = edge_frame(vectors, max(L1, L3))
    # the edge's harmonics in its frame: sqrt((2l+1)/4π) at m = 0
    y0 = torch.sqrt((2 * torch.arange(L2 + 1, dtype=x.dtype, device=x.device) + 1) / (4 * math.pi))
    g = (radial * y0[:, None]).expand(E, L2 + 1, C).permute(1, 0, 2).reshape(L2 + 1, E * C)  # [l2, E C]
    rotated = frame.to_frame(x)  # [E, K_in, C]
    gather, _ = order_major_indices(L1, x.device)
    M = min(L1, L3)
    by_order = to_order_major(rotated.transpose(0, 1), gather, L1)[L1 - M : L1 + M + 1]  # [2M+1, L1+1, E C]
    outer = (by_order[:, :, None] * g[None, None]).reshape(2 * M + 1, (L1 + 1) * (L2 + 1), E * C)
    z = torch.bmm(_edge_frame_gaunt(L1, L2, L3, x.dtype, x.device), outer)  # [2M+1, L3+1, E C]
    full = z.new_zeros(2 * L3 + 1, L3 + 1, E * C)
    full[L3 - M : L3 + M + 1] = z
    _, scatter = order_major_indices(L3, x.device)
    return frame.from_frame(from_order_major(full.view(-1, E * C), scatter, (E, C)))


@cached_table
def _edge_frame_gaunt(
    lmax_in: int, lmax_sh: int, lmax_out: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """``T[m, l3, (l1, l2)] = G(l1 m, l2 0, l3 m)`` for ``|m| <= min(L_in, L_out)``: ``[2M+1, L_out+1, (L_in+1)(L_sh+1)]``."""
    M = min(lmax_in, lmax_out)
    T = torch.zeros(2 * M + 1, lmax_out + 1, lmax_in + 1, lmax_sh + 1, dtype=torch.float64)
    for l1 in range(lmax_in + 1):
        for l2 in range(lmax_sh + 1):
            for l3 in range(lmax_out + 1):
                if gaunt_allowed(l1, l2, l3):
                    G = gaunt_coefficients(l1, l2, l3)
                    for m in range(-min(l1, l3), min(l1, l3) + 1):
                        T[m + M, l3, l1, l2] = G[l1 + m, l2, l3 + m]
    return T.reshape(2 * M + 1, lmax_out + 1, -1).to(dtype=dtype, device=device)


def prepare_convolution(lmax_in: int, lmax_sh: int, lmax_out: int, method: str, dtype, device) -> None:
    """Build the tables ``method`` will read, so that a ``torch.compile`` trace finds them cached."""
    if method == "auto":
        method = select_method(lmax_in, lmax_sh, lmax_out, device, operation="convolution")
    if method == "edge_frame":
        _edge_frame_gaunt(lmax_in, lmax_sh, lmax_out, dtype, device)
    elif method == "grid":
        size = GauntDescription(lmax_in, lmax_sh, lmax_out).grid_size
        for L in (lmax_in, lmax_out):
            sphere_grid(L, *size, dtype, device)
        _grid_points(*size, dtype, device)
    else:
        gaunt_tables(method, GauntDescription(lmax_in, lmax_sh, lmax_out), dtype, device)
