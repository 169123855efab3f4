r"""The many-body products of one spherical tensor with itself, in two parametrisations.

:func:`many_body_product`, the ν-fold Gaunt products of per-degree reweighted copies:

.. math::  z = \sum_{\nu=1}^{c} w^{out}_\nu \odot P_{L_{out}}\Big(\prod_{k=1}^{\nu} (w_{\nu,k} \odot x)\Big)

with weights per node, degree and channel (chosen by the node's element in :class:`~torch_gaunt.nn.ManyBodyInteraction`).
On the grid (Gaunt paper, "equivariant many-body interaction") each order is one pointwise product of ν functions
on a grid exact for degree ``ν L + L_out``, so the cost barely grows with ν; the dense and Fourier executors
multiply pairs of copies by divide and conquer through :func:`~torch_gaunt.products.gaunt_tensor_product`.

:func:`coupled_many_body_product`, one weight per coupling (:class:`~torch_gaunt.products.CoupledManyBodyDescription`):

.. math::  z_l = \sum_{(S, l)} w_{S,l} \, n_{S,l} \, P_l\Big(\prod_{a \in S} f_a\Big)

where ``f_a`` is the function of degree ``a`` of ``x`` alone. The weights of the couplings are free, where the
per-degree form ties them into products. On the grid, the functions ``f_a`` are synthesised once, the products of
each multiset ``S`` are built order by order (each from a product of one order less), and every product is
projected once; the weights are applied to the projected coefficients.
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import check_choice, check_degree, check_spherical_tensor, check_tensor
from ..so3.spherical_tensor import degree_index
from .backends import grid
from .description import CoupledManyBodyDescription, ManyBodyDescription
from .gaunt import METHODS, gaunt_tensor_product, select_method

__all__ = ["many_body_product", "coupled_many_body_product"]


def _fit_degree(t: torch.Tensor, lmax: int) -> torch.Tensor:
    """``[..., K, C] -> [..., (lmax+1)**2, C]``: drop the degrees above ``lmax``, or pad missing ones with zeros."""
    K = (lmax + 1) ** 2
    return t[..., :K, :] if t.shape[-2] >= K else torch.nn.functional.pad(t, (0, 0, 0, K - t.shape[-2]))


def many_body_product(
    x: torch.Tensor,
    weights_in: torch.Tensor,
    weights_out: torch.Tensor,
    lmax_out: int | None = None,
    *,
    method: str = "auto",
) -> torch.Tensor:
    """Sum over ``ν = 1..c`` of the projected product of ``ν`` reweighted copies of ``x``.

    Args:
        x: ``[N, (L+1)**2, C]``.
        weights_in: ``[N, c(c+1)/2, L+1, C]``, the weights of copy ``k`` of order ``ν`` at index ``ν(ν-1)/2 + k - 1``.
        weights_out: ``[N, c, L_out+1, C]``, the output weights of each order.
        lmax_out: output degree (default ``L``).
        method: ``"auto"`` (:func:`~torch_gaunt.products.select_method`), ``"grid"``, ``"dense"`` or ``"fourier"``.

    Returns:
        ``[N, (L_out+1)**2, C]``.
    """
    L = check_spherical_tensor("x", x)
    N, _, C = x.shape
    check_tensor("weights_out", weights_out, min_dim=4)
    correlation = weights_out.shape[1]
    Lo = L if lmax_out is None else check_degree("lmax_out", lmax_out)
    desc = ManyBodyDescription(L, correlation, Lo)
    for name, w, shape in (
        ("weights_in", weights_in, (N, desc.num_copies, L + 1, C)),
        ("weights_out", weights_out, (N, correlation, Lo + 1, C)),
    ):
        check_tensor(name, w)
        if tuple(w.shape) != shape:
            raise ValueError(f"{name}: expected shape {list(shape)}, got {tuple(w.shape)}")
    check_choice("method", method, METHODS)
    if method == "auto":
        method = select_method(L, L, Lo, x.device, operation="many_body")
    if correlation == 0 or N == 0:
        return x.new_zeros(N, (Lo + 1) ** 2, C)
    if method == "grid":
        return _on_grid(x, weights_in, weights_out, desc)
    return _pairwise(x, weights_in, weights_out, desc, method)


def _linear_term(x: torch.Tensor, w_in: torch.Tensor, w_out: torch.Tensor, desc: ManyBodyDescription) -> torch.Tensor:
    """ν = 1 needs no product: the weighted copy itself, restricted (or zero-padded) to degree ``L_out``."""
    L, Lo = desc.lmax, desc.lmax_out
    K_low = (min(L, Lo) + 1) ** 2  # weight only the degrees that are kept
    copy = x[:, :K_low] * w_in[:, 0].index_select(1, degree_index(L, x.device)[:K_low])
    return _fit_degree(copy, Lo) * w_out[:, 0].index_select(1, degree_index(Lo, x.device))


def _on_grid(x: torch.Tensor, w_in: torch.Tensor, w_out: torch.Tensor, desc: ManyBodyDescription) -> torch.Tensor:
    """Every order ``ν >= 2`` as one pointwise product of ν weighted copies on the half grid.

    The copy weights are applied in the order-major block, where the degree is an axis of its own, and the
    output weights of each order too; each copy and each product keeps its own tensor, so the backward pass makes
    no large zero-filled or concatenated gradients.
    """
    N, _, C = x.shape
    L, Lo = desc.lmax, desc.lmax_out
    linear = _linear_term(x, w_in, w_out, desc)
    if desc.correlation == 1:
        return linear
    g_in = grid.grid_tables(L, desc.grid_size, x.dtype, x.device)
    g_out = grid.grid_tables(Lo, desc.grid_size, x.dtype, x.device)
    block = grid.order_major(x.transpose(0, 1), g_in).view(-1, L + 1, N, C)
    weights = w_in.permute(1, 2, 0, 3)  # [copies, L+1, N, C]: broadcasts over the orders of the block
    factors = [grid.synthesize(block * weights[k], g_in) for k in range(1, desc.num_copies)]
    total, start = None, 0
    for nu in range(2, desc.correlation + 1):
        product = factors[start]
        for k in range(1, nu):
            product = grid.multiply(product, factors[start + k], g_out)
        start += nu
        projected = grid.project(product, g_out).view(-1, Lo + 1, N, C)
        weighted = projected * w_out[:, nu - 1].permute(1, 0, 2)  # per degree l
        total = weighted if total is None else total + weighted
    return grid.spherical_layout(total, g_out, (N, C)) + linear


def _pairwise(x, w_in, w_out, desc: ManyBodyDescription, method: str) -> torch.Tensor:
    """Divide and conquer: multiply neighbouring copies with exact degrees, then project to ``L_out``."""
    degree_in = degree_index(desc.lmax, x.device)
    total, start = None, 0
    for nu in range(1, desc.correlation + 1):
        factors = [x * w_in[:, start + k].index_select(1, degree_in) for k in range(nu)]
        start += nu
        while len(factors) > 1:
            paired = [gaunt_tensor_product(a, b, method=method) for a, b in zip(factors[0::2], factors[1::2])]
            factors = paired + ([factors[-1]] if len(factors) % 2 else [])
        term = _fit_degree(factors[0], desc.lmax_out) * w_out[:, nu - 1].index_select(
            1, degree_index(desc.lmax_out, x.device)
        )
        total = term if total is None else total + term
    return total


def coupled_many_body_product(
    x: torch.Tensor, weights: torch.Tensor, description: CoupledManyBodyDescription, *, method: str = "grid"
) -> torch.Tensor:
    """``z_l = Σ_{(S, l)} weights[:, k] n_k P_l(Π_{a ∈ S} f_a)`` over the couplings ``k = (S, l)`` of ``description``.

    Args:
        x: ``[N, (L+1)**2, C]`` with ``L = description.lmax``.
        weights: ``[N, K, C]``, one weight per node, coupling (in the order of ``description.couplings``) and
            channel; ``n_k = description.normalization[k]`` is applied here.
        description: the degrees and the couplings.
        method: ``"grid"`` (products on one grid, exact) or ``"dense"`` (the reference: products of exact degree
            with :func:`~torch_gaunt.products.gaunt_tensor_product`, one coupling at a time).

    Returns:
        ``[N, (L_out+1)**2, C]``.
    """
    desc = description
    check_spherical_tensor("x", x, lmax=desc.lmax)
    N, _, C = x.shape
    K = len(desc.couplings)
    check_tensor("weights", weights)
    if tuple(weights.shape) != (N, K, C):
        raise ValueError(f"weights: expected shape [{N}, {K} couplings, {C}], got {tuple(weights.shape)}")
    check_choice("method", method, ("grid", "dense"))
    norm = torch.tensor(desc.normalization, dtype=x.dtype, device=x.device)
    weights = weights * norm[:, None]
    if N == 0 or K == 0:
        return x.new_zeros(N, (desc.lmax_out + 1) ** 2, C)
    if method == "dense":
        return _couplings_dense(x, weights, desc)
    return _couplings_on_grid(x, weights, desc)


def _degree_part(x: torch.Tensor, a: int) -> torch.Tensor:
    """Degree ``a`` of ``x`` alone, as a spherical tensor of degree ``a`` (lower degrees zero)."""
    part = torch.zeros_like(x[:, : (a + 1) ** 2])
    part[:, a * a :] = x[:, a * a : (a + 1) ** 2]
    return part


def _couplings_dense(x: torch.Tensor, weights: torch.Tensor, desc: CoupledManyBodyDescription) -> torch.Tensor:
    Lo = desc.lmax_out
    out = x.new_zeros(x.shape[0], (Lo + 1) ** 2, x.shape[2])
    for k, (S, l) in enumerate(desc.couplings):
        product = _degree_part(x, S[0])
        for a in S[1:]:  # exact degree: no truncation before the last projection
            L = math.isqrt(product.shape[1]) - 1
            product = gaunt_tensor_product(product, _degree_part(x, a), L + a, method="dense")
        out[:, l * l : (l + 1) ** 2] += weights[:, k, None, :] * product[:, l * l : (l + 1) ** 2]
    return out


@cached_table
def _coupling_plan(desc: CoupledManyBodyDescription, device: torch.device):
    """Index tables of the grid executor: per order ``ν >= 2`` the products to form (``prefix`` row of order
    ``ν - 1`` times degree ``last``), and where each coupling reads its projected product."""
    orders = [[(a,) for a in range(desc.lmax + 1)]]
    for nu in range(2, desc.correlation + 1):
        needed = {S[:nu] for S in desc.monomials if len(S) >= nu}
        orders.append(sorted(needed))
    steps = []
    for nu in range(1, len(orders)):
        previous = {S: i for i, S in enumerate(orders[nu - 1])}
        prefix = torch.tensor([previous[S[:-1]] for S in orders[nu]], dtype=torch.long, device=device)
        last = torch.tensor([S[-1] for S in orders[nu]], dtype=torch.long, device=device)
        steps.append((prefix, last))
    row = {S: i for i, S in enumerate(S for group in orders[1:] for S in group)}
    product_couplings = [(k, row[S], l) for k, (S, l) in enumerate(desc.couplings) if len(S) > 1]
    linear_couplings = [(k, S[0]) for k, (S, l) in enumerate(desc.couplings) if len(S) == 1]
    # selection[l, q, k] = 1 when coupling k projects product q onto degree l
    selection = torch.zeros(desc.lmax_out + 1, len(row), len(desc.couplings))
    for k, q, l in product_couplings:
        selection[l, q, k] = 1.0
    return steps, len(row), selection.to(device), linear_couplings


def _couplings_on_grid(x: torch.Tensor, weights: torch.Tensor, desc: CoupledManyBodyDescription) -> torch.Tensor:
    N, _, C = x.shape
    L, Lo = desc.lmax, desc.lmax_out
    out = x.new_zeros(N, (Lo + 1) ** 2, C)
    steps, num_products, selection, linear_couplings = _coupling_plan(desc, x.device)
    for k, a in linear_couplings:  # order 1: the weighted degree itself
        out[:, a * a : (a + 1) ** 2] += weights[:, k, None, :] * x[:, a * a : (a + 1) ** 2]
    if not steps:
        return out
    g_in = grid.grid_tables(L, desc.grid_size, x.dtype, x.device)
    g_out = grid.grid_tables(Lo, desc.grid_size, x.dtype, x.device)
    block = grid.order_major(x.transpose(0, 1), g_in).view(-1, L + 1, N * C)
    by_degree = block[:, :, None, :] * torch.eye(L + 1, dtype=x.dtype, device=x.device)[None, :, :, None]
    f = grid.synthesize(by_degree, g_in).view(g_in.n_phi, g_in.n_theta, L + 1, N * C)  # f_a on the grid
    products, projected = f, []
    for prefix, last in steps:
        products = grid.multiply(products.index_select(2, prefix), f.index_select(2, last), g_out)
        projected.append(grid.project(products.reshape(g_out.n_phi, -1), g_out).view(-1, Lo + 1, len(prefix), N, C))
    projected = torch.cat(projected, 2)  # [orders, L_out+1, products, N, C]
    per_product = torch.einsum("lqk,nkc->lqnc", selection.to(x.dtype), weights)  # [L_out+1, products, N, C]
    block_out = (projected * per_product).sum(2)  # [orders, L_out+1, N, C]
    return out + grid.spherical_layout(block_out.reshape(-1, Lo + 1, N * C), g_out, (N, C))
