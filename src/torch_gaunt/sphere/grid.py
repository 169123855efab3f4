r"""Spherical harmonics <-> values on a Gauss-Legendre x equispaced-φ grid, separably and per order ``m``.

A band-limited function ``f = Σ_lm c_lm Y_lm`` is

.. math::  f(\theta_k, \varphi_j) = \sum_{m=-L}^{L} T_m(\varphi_j) \sum_{l \ge |m|} \bar P_l^{|m|}(\cos\theta_k)\, c_{lm},

with ``T_m = √2 sin(|m|φ), 1, √2 cos(mφ)`` for ``m < 0, = 0, > 0``. So synthesis is, per order ``m``, a
Legendre matrix ``[n_theta, L + 1]`` applied to the coefficients of that order (one batched GEMM over
``m``), then a real DFT in ``φ`` (a ``[n_phi, 2L + 1]`` matrix). Analysis is the transpose with quadrature
weights, exact when the grid integrates the integrand exactly (:func:`~torch_gaunt.sphere.quadrature.exact_grid_size`).
Cost per channel: ``O(L^2 n_theta + n_theta n_phi L) = O(L^3)``, not the ``O(L^4)`` of a dense table.

Every transform works on a coefficient-major block ``[K, N]`` (``K = (L+1)**2`` coefficients, ``N`` =
batch x channels, the long dimension of each matrix product) and returns grid values ``[n_phi, n_theta, N]``.

**Half grids.** When ``n_phi`` is even, ``φ_j + π`` is a node too and ``T_m(φ + π) = (-1)^m T_m(φ)``. So with
``E`` and ``O`` the sums over even and odd orders on the first half of the nodes,
``f(φ_j) = E_j + O_j`` and ``f(φ_j + π) = E_j - O_j`` (:func:`synthesis_halves`); and a function given by
its even and odd parts ``(h(φ_j) ± h(φ_j + π)) / 2`` on the half grid projects onto even orders from the
first and odd orders from the second (:func:`analysis_halves`). Both halve the flops of the φ transform,
which dominates the cost. For a product ``h = f g``:
``(h_even, h_odd) = (E_f E_g + O_f O_g, E_f O_g + O_f E_g)``.
"""

from __future__ import annotations

import functools
import math

import torch

from .._cache import cached_table
from .._checks import check_degree, check_spherical_tensor, check_tensor
from ..so3.quadrature import gauss_legendre_grid
from ..so3.spherical_harmonics import associated_legendre

__all__ = [
    "to_sphere_grid",
    "from_sphere_grid",
    "SphereGrid",
    "sphere_grid",
    "synthesis_halves",
    "analysis_halves",
    "multiply_halves",
    "order_major_indices",
    "to_order_major",
    "from_order_major",
]


class SphereGrid:
    """Cached tables of one grid for coefficients up to degree ``lmax``.

    Attributes:
        lmax, n_theta, n_phi: degree and grid size.
        legendre: ``[2L+1, n_theta, L+1]``, ``P̄_l^{|m|}(cos θ_k)`` (zero for ``l < |m|``), order ``m = -L..L``.
        legendre_weighted: ``[2L+1, L+1, n_theta]``, the transpose times the Gauss-Legendre weights.
        fourier: ``[n_phi, 2L+1]``, ``T_m(φ_j)``; ``fourier_weighted``: ``[2L+1, n_phi]``, its transpose times ``2π/n_phi``.
        gather: ``[(2L+1)(L+1)]`` index from ``(m, l)`` to ``l*l + l + m`` (``K``, a zero row, where ``l < |m|``).
        scatter: ``[K]`` index from ``l*l + l + m`` into the flattened ``(m, l)`` block.
        halves: when ``n_phi`` is even, the tables of :func:`synthesis_halves` / :func:`analysis_halves`, which
            order the ``m`` axis as ``[even m, odd m]``, each padded with zero rows to ``L + 1`` orders:
            ``gather [2(L+1)(L+1)]``, ``legendre [2(L+1), n_theta, L+1]``, ``fourier [2, n_phi/2, L+1]``,
            ``fourier_weighted [2, L+1, n_phi/2]`` (times 2), ``legendre_weighted [2(L+1), L+1, n_theta]``,
            ``scatter [K]`` into that block. ``None`` when ``n_phi`` is odd.
    """

    def __init__(self, lmax: int, n_theta: int, n_phi: int, dtype: torch.dtype, device: torch.device):
        self.lmax, self.n_theta, self.n_phi = lmax, n_theta, n_phi
        L = lmax
        cos_theta, phi, _ = gauss_legendre_grid(n_theta, n_phi, torch.float64)
        _, _, w2d = gauss_legendre_grid(n_theta, 1, torch.float64)
        w_theta = w2d[:, 0] / (2 * math.pi)  # Gauss-Legendre weights in cos θ
        P = associated_legendre(cos_theta, L)  # [n_theta, l, |m|]
        legendre = (
            P[:, :, torch.arange(-L, L + 1).abs()].permute(2, 0, 1).contiguous()
        )  # [m, n_theta, l]: zero where l < |m|
        m = torch.arange(-L, L + 1, dtype=torch.float64)
        fourier = torch.where(
            m > 0,
            math.sqrt(2) * torch.cos(m * phi[:, None]),
            torch.where(m < 0, math.sqrt(2) * torch.sin(-m * phi[:, None]), torch.ones_like(phi[:, None])),
        )
        gather, scatter = order_major_indices(L, device)
        cast = dict(dtype=dtype, device=device)
        self.legendre = legendre.to(**cast)
        self.legendre_weighted = (legendre * w_theta[None, :, None]).transpose(1, 2).contiguous().to(**cast)
        self.fourier = fourier.to(**cast)
        self.fourier_weighted = (fourier.T * (2 * math.pi / n_phi)).contiguous().to(**cast)
        self.gather, self.scatter = gather, scatter
        self.halves = _half_grid_tables(self, n_phi) if n_phi % 2 == 0 else None

    def to_grid(self, coefficients: torch.Tensor) -> torch.Tensor:
        """Coefficients ``[K, *cols]`` (``K = (lmax+1)**2``, any strides) -> values ``[n_phi, n_theta, prod(cols)]``."""
        block = to_order_major(coefficients, self.gather, self.lmax)
        return synthesis(block, self.legendre, self.fourier).view(self.n_phi, self.n_theta, -1)

    def from_grid(self, values: torch.Tensor) -> torch.Tensor:
        """Values ``[n_phi, n_theta, N]`` -> order-major coefficients ``[(2L+1)(L+1), N]`` by exact quadrature.

        The adjoint of :meth:`to_grid`; :func:`from_order_major` with ``self.scatter`` gives the SH layout.
        """
        return analysis(values, self.legendre_weighted, self.fourier_weighted)


def _half_grid_tables(grid: SphereGrid, n_phi: int) -> dict[str, torch.Tensor]:
    """The tables of :func:`synthesis_halves` and :func:`analysis_halves` (see :class:`SphereGrid`)."""
    L, half = grid.lmax, n_phi // 2
    even, odd = list(range(-L + L % 2, L + 1, 2)), list(range(-L + 1 - L % 2, L + 1, 2))
    orders = [m + L for m in even] + [-1] * (L + 1 - len(even)) + [m + L for m in odd] + [-1] * (L + 1 - len(odd))
    index = torch.tensor([max(o, 0) for o in orders], device=grid.legendre.device)
    present = torch.tensor([o >= 0 for o in orders], device=grid.legendre.device)

    def by_order(table: torch.Tensor, dim: int) -> torch.Tensor:
        shape = [1] * table.dim()
        shape[dim] = -1
        return table.index_select(dim, index) * present.view(shape).to(table.dtype)

    fourier = by_order(grid.fourier[:half], 1)  # [half, 2(L+1)]
    fourier_weighted = by_order(grid.fourier_weighted[:, :half], 0) * 2  # [2(L+1), half]
    position = {o: i for i, o in enumerate(orders) if o >= 0}
    scatter = [position[m + L] * (L + 1) + l for l in range(L + 1) for m in range(-l, l + 1)]
    return {
        "gather": grid.gather.view(2 * L + 1, L + 1).index_select(0, index).reshape(-1),
        "legendre": by_order(grid.legendre, 0).contiguous(),
        "fourier": torch.stack([fourier[:, : L + 1], fourier[:, L + 1 :]]).contiguous(),
        "fourier_weighted": fourier_weighted.view(2, L + 1, half).contiguous(),
        "legendre_weighted": by_order(grid.legendre_weighted, 0).contiguous(),
        "scatter": torch.tensor(scatter, dtype=torch.long, device=grid.scatter.device),
    }


def synthesis_halves(by_order: torch.Tensor, halves: dict[str, torch.Tensor]) -> torch.Tensor:
    """Parity-ordered coefficients ``[2(L+1), L+1, *cols]`` (:func:`to_order_major` with ``halves["gather"]``)
    -> ``[2, n_phi/2, n_theta * N]``: the even-order and odd-order parts ``E, O`` on the first half of the φ
    nodes, so that ``f(φ_j) = E + O`` and ``f(φ_j + π) = E - O``.

    ``halves`` is :attr:`SphereGrid.halves`. Half the flops of :func:`synthesis` in its φ transform.
    """
    legendre = halves["legendre"]  # [2(L+1), n_theta, L+1]
    partial = torch.bmm(legendre, by_order.reshape(legendre.shape[0], legendre.shape[2], -1))  # [2(L+1), n_theta, N]
    return torch.bmm(halves["fourier"], partial.view(2, legendre.shape[0] // 2, -1))


def analysis_halves(parts: torch.Tensor, halves: dict[str, torch.Tensor], n_theta: int) -> torch.Tensor:
    """Even and odd parts ``[2, n_phi/2, n_theta * N]`` of a function (``(h(φ_j) ± h(φ_j + π)) / 2``) ->
    coefficients in the parity-ordered block ``[2(L+1)(L+1), N]``; :func:`from_order_major` with
    ``halves["scatter"]`` gives the SH layout. Exact under the same conditions as :func:`analysis`."""
    coefficients = torch.bmm(halves["fourier_weighted"], parts)  # [2, L+1, n_theta * N]
    legendre_weighted = halves["legendre_weighted"]  # [2(L+1), L+1, n_theta]
    rows = legendre_weighted.shape[0]
    block = torch.bmm(legendre_weighted, coefficients.view(rows, n_theta, -1))  # [2(L+1), L+1, N]
    return block.view(rows * legendre_weighted.shape[1], -1)


def multiply_halves(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The pointwise product of two functions given by their even and odd parts ``[2, ...]`` (as from
    :func:`synthesis_halves`): ``(a_e b_e + a_o b_o, a_e b_o + a_o b_e)``, shape ``[2, ...]`` (broadcast).

    Its gradients have the same form (``∂/∂a = g ⊙ b``, ``∂/∂b = g ⊙ a``), so backward saves only ``a`` and
    ``b`` and stays twice differentiable.
    """
    if torch.compiler.is_compiling():  # plain ops: the compiler fuses them and derives the backward itself
        return torch.stack([a[0] * b[0] + a[1] * b[1], a[0] * b[1] + a[1] * b[0]])
    return _MultiplyHalves.apply(a, b)


class _MultiplyHalves(torch.autograd.Function):
    # forward(ctx, ...) rather than setup_context: apply() then skips binding the signature on every call
    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        shape = a.shape if a.shape == b.shape else torch.broadcast_shapes(a.shape, b.shape)
        out = torch.empty(shape, dtype=a.dtype, device=a.device)
        torch.mul(a[0], b[0], out=out[0])
        out[0].addcmul_(a[1], b[1])
        torch.mul(a[0], b[1], out=out[1])
        out[1].addcmul_(a[1], b[0])
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, b = ctx.saved_tensors
        grad_a = multiply_halves(grad, b).sum_to_size(a.shape) if ctx.needs_input_grad[0] else None
        grad_b = multiply_halves(grad, a).sum_to_size(b.shape) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


def synthesis(block: torch.Tensor, legendre: torch.Tensor, fourier: torch.Tensor) -> torch.Tensor:
    """Order-major block ``[2L+1, L+1, *cols]`` (:func:`to_order_major`) -> grid values ``[n_phi, n_theta * N]`` with
    the tables of a :class:`SphereGrid`."""
    partial = torch.bmm(legendre, block.reshape(legendre.shape[0], legendre.shape[2], -1))  # [2L+1, n_theta, N]
    return fourier @ partial.view(partial.shape[0], -1)


def analysis(values: torch.Tensor, legendre_weighted: torch.Tensor, fourier_weighted: torch.Tensor) -> torch.Tensor:
    """Grid values ``[n_phi, n_theta, N]`` -> order-major coefficients ``[(2L+1)(L+1), N]`` (exact quadrature)."""
    n_phi, n_theta, N = values.shape
    partial = (fourier_weighted @ values.reshape(n_phi, -1)).view(-1, n_theta, N)  # [2L+1, n_theta, N]
    return torch.bmm(legendre_weighted, partial).view(-1, N)


@functools.cache
def order_major_indices(lmax: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices between the SH layout ``l*l + l + m`` and the order-major block ``[2L+1 (m), L+1 (l)]``.

    Returns ``gather [(2L+1)(L+1)]`` and ``scatter [K]`` (position of ``(l, m)`` in the flattened block).
    Where ``l < |m|`` there is no coefficient: ``gather`` points at row 0, and every table that reads the
    block is zero there.
    """
    L = lmax
    gather = torch.zeros((2 * L + 1, L + 1), dtype=torch.long)
    for l in range(L + 1):
        for m in range(-l, l + 1):
            gather[m + L, l] = l * l + l + m
    scatter = torch.tensor([(m + L) * (L + 1) + l for l in range(L + 1) for m in range(-l, l + 1)], dtype=torch.long)
    return gather.reshape(-1).to(device), scatter.to(device)


def to_order_major(coefficients: torch.Tensor, gather: torch.Tensor, lmax: int) -> torch.Tensor:
    """SH coefficients ``[K, *cols]`` (any strides) -> contiguous ``[orders, L+1 (l), prod(cols)]``.

    ``gather`` is :attr:`SphereGrid.gather` (orders ``m = -L..L``) or ``SphereGrid.halves["gather"]``
    (``2(L+1)`` orders, even then odd). Entries with ``l < |m|`` hold an arbitrary coefficient; the tables that
    use the block are zero there.
    """
    orders = gather.numel() // (lmax + 1)
    return coefficients.index_select(0, gather).view(orders, lmax + 1, coefficients[0].numel())


def from_order_major(block: torch.Tensor, scatter: torch.Tensor, cols: tuple[int, int]) -> torch.Tensor:
    """Order-major ``[rows, M * C]`` -> SH layout ``[M, K, C]``, as a transposed view of one contiguous gather.

    The result has strides ``(C, M C, 1)``: the next elementwise op (or ``.contiguous()``) makes it contiguous.
    Gathering whole rows and transposing once is 2-3x faster than gathering along the middle axis.
    """
    M, C = cols
    return block.index_select(0, scatter).view(-1, M, C).transpose(0, 1)


_sphere_grid = cached_table(SphereGrid)


def sphere_grid(
    lmax: int, n_theta: int, n_phi: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> SphereGrid:
    """The cached :class:`SphereGrid` for ``(lmax, n_theta, n_phi, dtype, device)``."""
    return _sphere_grid(lmax, n_theta, n_phi, dtype, torch.device(device))


def to_sphere_grid(x: torch.Tensor, n_theta: int, n_phi: int) -> torch.Tensor:
    """Values of the functions ``Σ_lm x[..., lm, c] Y_lm`` at the points of the grid.

    Args:
        x: ``[..., (L+1)**2, C]`` with at least one batch axis.
        n_theta, n_phi: grid size (see :func:`~torch_gaunt.so3.exact_grid_size`); ``n_phi >= 2L + 1``.

    Returns:
        ``[..., n_theta, n_phi, C]``, at the points ``sphere_grid_points(n_theta, n_phi)`` (ascending ``cos θ``).
    """
    L = check_spherical_tensor("x", x)
    _check_grid(n_theta, n_phi, L)
    batch, K, C = x.shape[:-2], x.shape[-2], x.shape[-1]
    flat = x.reshape(-1, K, C)
    values = sphere_grid(L, n_theta, n_phi, x.dtype, x.device).to_grid(flat.transpose(0, 1))
    return values.view(n_phi, n_theta, -1, C).permute(2, 1, 0, 3).reshape(batch + (n_theta, n_phi, C))


def from_sphere_grid(values: torch.Tensor, lmax: int) -> torch.Tensor:
    """Coefficients up to degree ``lmax`` of functions given by their values on a grid, by its quadrature.

    Exact (the inverse of :func:`to_sphere_grid`) for functions of degree ``d`` when the grid integrates degree
    ``d + lmax`` exactly.

    Args:
        values: ``[..., n_theta, n_phi, C]`` with at least one batch axis.
        lmax: degree of the result; the grid needs ``n_phi >= 2 lmax + 1``.

    Returns:
        ``[..., (lmax+1)**2, C]``.
    """
    check_tensor("values", values, min_dim=4)
    check_degree("lmax", lmax)
    n_theta, n_phi, C = values.shape[-3:]
    _check_grid(n_theta, n_phi, lmax)
    batch = values.shape[:-3]
    flat = values.reshape(-1, n_theta, n_phi, C).permute(2, 1, 0, 3)  # [n_phi, n_theta, M, C]
    M = flat.shape[2]
    grid = sphere_grid(lmax, n_theta, n_phi, values.dtype, values.device)
    out = from_order_major(grid.from_grid(flat.reshape(n_phi, n_theta, M * C)), grid.scatter, (M, C))
    return out.reshape(batch + ((lmax + 1) ** 2, C))


def _check_grid(n_theta: int, n_phi: int, lmax: int) -> None:
    if n_theta < 1 or n_phi < 2 * lmax + 1:
        raise ValueError(
            f"n_theta, n_phi: expected n_theta >= 1 and n_phi >= 2 L + 1 = {2 * lmax + 1}, got ({n_theta}, {n_phi})"
        )
