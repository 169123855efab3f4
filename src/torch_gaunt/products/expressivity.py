r"""How many bilinear maps a product can express (Xie et al., "The Price of Freedom", ICML 2025).

The *expressivity* of a tensor-product operation ``T`` is the dimension of the span of all maps

.. math::  B = \mathrm{Lin}_Z \circ T \circ (\mathrm{Lin}_X, \mathrm{Lin}_Y) : X \times Y \to Z,

with ``Lin`` any equivariant linear maps into ``T``'s inputs and out of its output. Here ``X = Y = Z`` hold one
copy of every SO(3) irrep of degree ``0..L`` (a spherical tensor with one channel; parities ignored). The
equivariant bilinear maps ``X x Y -> Z`` have one dimension per *path* ``(l1, l2, l3)`` allowed by the triangle
rule, since ``l3`` occurs once in ``l1 ⊗ l2``; a path is expressible when some choice of the linear maps puts a
non-zero map on it. Hence:

- Clebsch-Gordan (``"cg"``): every triangle path, ``Σ_{l1, l2 <= L} #{l3 <= L : |l1 - l2| <= l3 <= l1 + l2}``;
- Gaunt (``"gaunt"``): the paths with ``l1 + l2 + l3`` even (the Gaunt coefficients vanish on the others), about
  half: the antisymmetric couplings such as ``1 x 1 -> 1`` (the cross product) are lost;
- vector Gaunt (``"vector_gaunt"``, the cross product of vector fields on the sphere): every triangle path
  except ``(0, 0, 0)`` (a degree-0 input can only become a radial field ``f r̂``, and ``r̂ × r̂ = 0``), the
  antisymmetric ones included;
- ``"gaunt+vector_gaunt"``, the sum of both products: every path, CG's expressivity.

With O(3) parities the count depends on the parities present: for features of natural parity only (``0e + 1o +
2e + ...``) the parity rule already forbids the odd paths, and Gaunt loses nothing against CG.

:func:`expressivity` counts by these rules; :func:`expressivity_by_rank` builds every map ``B`` for a basis of
the linear maps and computes the rank of their span, executing the products themselves (brute force, for small
``L``); the two agree (tested).
"""

from __future__ import annotations

import itertools

import torch

from .._checks import check_choice, check_degree
from ..so3.coefficients import clebsch_gordan, triangle
from .gaunt import gaunt_tensor_product
from .vector_gaunt import vector_gaunt_product, vsh_blocks

__all__ = ["PRODUCTS", "paths", "expressivity", "expressivity_by_rank", "expressivity_table"]

PRODUCTS = ("cg", "gaunt", "vector_gaunt", "gaunt+vector_gaunt")


def paths(lmax: int) -> list[tuple[int, int, int]]:
    """Every triangle-allowed ``(l1, l2, l3)`` with all degrees ``<= lmax``."""
    check_degree("lmax", lmax)
    r = range(lmax + 1)
    return [(a, b, c) for a, b, c in itertools.product(r, r, r) if triangle(a, b, c)]


def _expressible(product: str, path: tuple[int, int, int]) -> bool:
    even = sum(path) % 2 == 0
    if product == "gaunt":
        return even
    if product == "vector_gaunt":
        return path != (0, 0, 0)
    return True  # cg, gaunt+vector_gaunt


def expressivity(product: str, lmax: int) -> int:
    """The number of independent bilinear maps ``X x Y -> Z`` (irreps ``0..lmax`` once each) that ``product``
    expresses between linear layers (see the module notes)."""
    check_choice("product", product, PRODUCTS)
    return sum(_expressible(product, p) for p in paths(lmax))


def _embedding(lmax: int, dtype: torch.dtype) -> list[torch.Tensor]:
    """Per degree ``l``, the ``[(L+1)**2, 2l+1]`` inclusion of ``V_l`` into a one-channel spherical tensor."""
    eye = torch.eye((lmax + 1) ** 2, dtype=dtype)
    return [eye[:, l * l : (l + 1) ** 2] for l in range(lmax + 1)]


def _vsh_embedding(lmax: int, lmax_field: int, dtype: torch.dtype) -> list[list[torch.Tensor]]:
    """Per degree ``j <= lmax``, the inclusions ``[3 (L_f+1)**2, 2j+1]`` of ``V_j`` into each VSH block ``(j, l)``."""
    blocks = vsh_blocks(lmax_field)
    eye = torch.eye(3 * (lmax_field + 1) ** 2, dtype=dtype)
    starts = itertools.accumulate([2 * j + 1 for j, _ in blocks], initial=0)
    out: list[list[torch.Tensor]] = [[] for _ in range(lmax + 1)]
    for (j, _), start in zip(blocks, starts):
        if j <= lmax:
            out[j].append(eye[:, start : start + 2 * j + 1])
    return out


def _generators(product: str, lmax: int, dtype: torch.dtype) -> list[torch.Tensor]:
    """The maps ``B [dim Z, dim X, dim Y]`` for a basis of the linear layers' weights."""
    K = (lmax + 1) ** 2
    sl = [slice(l * l, (l + 1) ** 2) for l in range(lmax + 1)]
    out = []
    if product == "cg":
        for l1, l2, l3 in paths(lmax):
            B = torch.zeros(K, K, K, dtype=dtype)
            B[sl[l3], sl[l1], sl[l2]] = clebsch_gordan(l1, l2, l3, dtype).permute(2, 0, 1)
            out.append(B)
        return out
    if product in ("gaunt", "gaunt+vector_gaunt"):
        basis = torch.eye(K, dtype=dtype)
        T = gaunt_tensor_product(basis[:, None, :, None], basis[None, :, :, None], lmax)[..., 0]  # [K, K, K]
        T = T.permute(2, 0, 1)  # [z, x, y]
        for l1, l2, l3 in itertools.product(range(lmax + 1), repeat=3):
            B = torch.zeros(K, K, K, dtype=dtype)
            B[sl[l3], sl[l1], sl[l2]] = T[sl[l3], sl[l1], sl[l2]]
            out.append(B)
    if product in ("vector_gaunt", "gaunt+vector_gaunt"):
        field = lmax + 1  # component degree that holds every block (j, j - 1), (j, j), (j, j + 1) with j <= lmax
        D = 3 * (field + 1) ** 2
        basis = torch.eye(D, dtype=dtype)
        T = vector_gaunt_product(basis[:, None, :, None], basis[None, :, :, None], field)[..., 0].permute(2, 0, 1)
        inclusions = _vsh_embedding(lmax, field, dtype)
        for l1, l2, l3 in itertools.product(range(lmax + 1), repeat=3):
            for E1, E2, E3 in itertools.product(inclusions[l1], inclusions[l2], inclusions[l3]):
                B = torch.zeros(K, K, K, dtype=dtype)
                block = torch.einsum("zxy,zc,xa,yb->cab", T, E3, E1, E2)
                B[sl[l3], sl[l1], sl[l2]] = block
                out.append(B)
    return out


def expressivity_by_rank(product: str, lmax: int, tol: float = 1e-9) -> int:
    """Brute force: the rank of the span of ``Lin ∘ product ∘ (Lin, Lin)`` over a basis of the linear maps.

    Builds every generator map ``[dim Z, dim X, dim Y]`` by executing the product on basis inputs (float64) and
    returns the numerical rank of their stack (singular values above ``tol``; the generators' entries are
    products of coupling coefficients of order 0.01-1, so rounding noise stays far below it). Cost grows as
    ``L^9``: meant for ``lmax <= 4``.
    """
    check_choice("product", product, PRODUCTS)
    check_degree("lmax", lmax)
    generators = _generators(product, lmax, torch.float64)
    stack = torch.stack([g.flatten() for g in generators])
    return int((torch.linalg.svdvals(stack) > tol).sum())


def expressivity_table(lmax_values: list[int]) -> str:
    """A Markdown table of :func:`expressivity` per product for each ``L`` in ``lmax_values``."""
    header = "| L | " + " | ".join(PRODUCTS) + " | Gaunt / CG |"
    lines = [header, "|" + "---:|" * (len(PRODUCTS) + 2)]
    for L in lmax_values:
        counts = [expressivity(p, L) for p in PRODUCTS]
        lines.append(f"| {L} | " + " | ".join(map(str, counts)) + f" | {counts[1] / counts[0]:.2f} |")
    return "\n".join(lines)
