r"""The three operation families of the Gaunt tensor product paper, on spherical tensors ``[..., (L+1)**2, C]``.

- :class:`FeatureInteraction`: ``x ⊗ y`` of two feature sets of one node (Gaunt product, per-degree weights).
- :class:`EquivariantConvolution`: ``m_i = Σ_{j -> i} x_j ⊗ (R(|r_ij|) Y(r̂_ij))``, summed over edges with
  ``index_add`` (no dense adjacency). Two implementations that agree: the plain Gaunt product, and the
  edge frame (eSCN's trick with Gaunt coefficients): rotate ``x_j`` so that the edge is the polar axis, where
  ``Y(ŷ)`` has only ``m = 0`` terms and ``G(l1 m, l2 0, l3 m')`` vanishes unless ``m = m'``, multiply per order
  ``m``, and rotate back (:mod:`torch_gaunt.so3.edge_frame`, no per-edge Wigner matrices). On the grid the plain
  product uses that projection is linear: ``Σ_e P(f_j g_e) = P(Σ_e f_j g_e)``. Node features are synthesised
  once per node, each edge's function ``g_e(s) = Σ_l R_l (2l+1)/4π P_l(r̂_e · s)`` (addition theorem) is formed
  directly on the grid, products are summed per receiver on the grid, and each node is projected once.
- :class:`ManyBodyInteraction`: ``Σ_ν w_out,ν ⊙ P_{L_out}(Π_{k=1..ν} (w_{ν,k} ⊙ x))``, the ν-fold product of
  per-degree reweighted copies of a node's features, with weights chosen by the node's element; a drop-in for
  MACE's ``SymmetricContraction``.

**How the many-body function space relates to MACE.** MACE's symmetric contraction of correlation ν builds,
for each channel, every coupling of ν copies of ``x`` through generalised Clebsch-Gordan coefficients and
gives each coupling path ``(l_1, ..., l_ν -> L)`` (after symmetrisation) its own element-dependent weight.
Here each copy is reweighted per degree and the ν functions are multiplied on the sphere, so the weight of
a path is the product ``Π_k w_{ν,k}[l_k] · w_out,ν[L]``: a rank-one (per channel) factorisation of MACE's
path weights. Only couplings realised by products of functions appear: every intermediate coupling has
``l_a + l_b + l_c`` even (no odd, antisymmetric couplings such as ``1o x 1o -> 1e``); those vanish anyway in
MACE's symmetric contraction of identical copies at ν = 2, but not for ν >= 3 in general. The body order
and the invariances are the same; the number of weights per element is ``O(ν² L C)`` instead of
``O(#paths · C)``; the cost is one grid product, nearly independent of ν.
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import check_choice, check_degree, check_tensor
from ..products.description import GauntDescription
from ..products.gaunt import METHODS, GauntTensorProduct, gaunt_tables, gaunt_tensor_product
from ..so3.coefficients import gaunt_allowed, gaunt_coefficients
from ..so3.edge_frame import edge_frame
from ..so3.spherical_harmonics import spherical_harmonics
from ..so3.spherical_tensor import degree_index
from ..sphere.grid import (
    analysis_halves,
    from_order_major,
    multiply_halves,
    order_major_indices,
    sphere_grid,
    synthesis_halves,
    to_order_major,
)
from ..so3.quadrature import exact_grid_size, sphere_grid_points
from .linear import SphericalLinear
from .radial import RadialMLP

__all__ = ["FeatureInteraction", "EquivariantConvolution", "ManyBodyInteraction"]


class FeatureInteraction(torch.nn.Module):
    """``x, y [..., (L+1)**2, C] -> [..., (L_out+1)**2, C]``: Gaunt product with learnable per-degree weights,
    followed by per-degree channel mixing (``mix=True``)."""

    def __init__(self, lmax: int, channels: int, lmax_out: int | None = None, method: str = "auto", mix: bool = True):
        super().__init__()
        self.product = GauntTensorProduct(
            lmax, lmax, lmax_out if lmax_out is not None else lmax, channels, method=method
        )
        self.linear = SphericalLinear(self.product.description.lmax_out, channels, channels) if mix else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        z = self.product(x, y)
        return self.linear(z) if self.linear is not None else z


class EquivariantConvolution(torch.nn.Module):
    """Point convolution ``m_i = (1 / avg_num_neighbors) Σ_{e: j -> i} x_j ⊗ (R(|r_e|) ⊙ Y(r̂_e))``.

    Args:
        lmax_in, lmax_sh, lmax_out: degrees of the node features, of the edge harmonics and of the messages.
        channels: ``C``.
        radial: module ``[E] -> [E, num_basis]`` (e.g. ``BesselBasis`` times a cutoff), or None for a constant.
        num_basis: its output size; an MLP maps it to per-degree, per-channel weights ``[E, L_sh + 1, C]``.
        avg_num_neighbors: the sum over edges is divided by this.
        method: Gaunt executor of the plain implementation.
        implementation: ``"gaunt"`` (plain product per edge) or ``"edge_frame"`` (rotate, m-diagonal product, rotate back).
        chunk_size: edges processed at a time by the edge-frame implementation (bounds its memory).

    ``forward(x [N, (L_in+1)**2, C], edge_vectors [E, 3], edge_index [2, E])``: ``edge_index[0]`` are the
    senders ``j``, ``edge_index[1]`` the receivers ``i``, ``edge_vectors = pos[i] - pos[j]`` or any
    convention you keep consistent. Returns ``[N, (L_out+1)**2, C]``; nodes without edges get zeros.
    """

    def __init__(
        self,
        lmax_in: int,
        lmax_sh: int,
        lmax_out: int,
        channels: int,
        radial: torch.nn.Module | None = None,
        num_basis: int = 8,
        avg_num_neighbors: float = 1.0,
        method: str = "auto",
        implementation: str = "gaunt",
        chunk_size: int = 4096,
    ):
        super().__init__()
        self.implementation = check_choice("implementation", implementation, ("gaunt", "edge_frame"))
        self.chunk_size = chunk_size
        self.lmax_in, self.lmax_sh = check_degree("lmax_in", lmax_in), check_degree("lmax_sh", lmax_sh)
        self.lmax_out = check_degree("lmax_out", lmax_out, maximum=lmax_in + lmax_sh)
        self.method = check_choice("method", method, METHODS)
        self.channels, self.avg_num_neighbors = channels, float(avg_num_neighbors)
        self.radial = radial
        self.radial_mlp = RadialMLP([num_basis if radial is not None else 1, 64, (lmax_sh + 1) * channels])
        self.register_buffer("sh_degree", degree_index(lmax_sh).clone(), persistent=False)
        # build the tables of the chosen path now, not while torch.compile traces
        desc, dtype = GauntDescription(lmax_in, lmax_sh, self.lmax_out), torch.get_default_dtype()
        if self.implementation == "edge_frame":
            _edge_frame_gaunt(lmax_in, lmax_sh, self.lmax_out, dtype, torch.device("cpu"))
        elif self.method in ("auto", "grid"):
            for L in (lmax_in, self.lmax_out):
                sphere_grid(L, *desc.grid_size, dtype)
        else:
            gaunt_tables(self.method, desc, dtype, torch.device("cpu"))

    def edge_weights(self, edge_vectors: torch.Tensor) -> torch.Tensor:
        """``y_e = R(|r_e|) ⊙ Y(r̂_e)``: ``[E, (L_sh+1)**2, C]``."""
        _, R = self._radial_weights(edge_vectors)
        return spherical_harmonics(edge_vectors, self.lmax_sh)[..., None] * R[:, self.sh_degree]

    def forward(self, x: torch.Tensor, edge_vectors: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_dim=3)
        check_tensor("edge_vectors", edge_vectors, min_dim=2)
        N, K_in = x.shape[0], (self.lmax_in + 1) ** 2
        if x.shape[1:] != (K_in, self.channels):
            raise ValueError(f"x: expected shape [N, {K_in}, {self.channels}], got {tuple(x.shape)}")
        if not isinstance(edge_index, torch.Tensor) or edge_index.dtype not in (torch.int32, torch.int64):
            raise TypeError(f"edge_index: expected an integer tensor [2, E], got {type(edge_index).__name__}")
        E = edge_vectors.shape[0]
        if edge_index.shape != (2, E) or edge_vectors.shape != (E, 3):
            raise ValueError(
                f"edge_index, edge_vectors: expected shapes [2, E] and [E, 3] with one E, got {tuple(edge_index.shape)} "
                f"and {tuple(edge_vectors.shape)}"
            )
        if E and (int(edge_index.min()) < 0 or int(edge_index.max()) >= N):
            raise ValueError(
                f"edge_index: expected node indices in [0, {N}), got values in [{int(edge_index.min())}, {int(edge_index.max())}]"
            )
        K_out = (self.lmax_out + 1) ** 2
        out = x.new_zeros(N, K_out, self.channels)
        if E == 0:
            return out
        edge_vectors = edge_vectors.to(x.dtype)
        if self.implementation == "gaunt" and self.method in ("auto", "grid"):
            return self._grid_convolution(x, edge_vectors, edge_index) / self.avg_num_neighbors
        if self.implementation == "gaunt":
            messages = gaunt_tensor_product(
                x[edge_index[0]], self.edge_weights(edge_vectors), self.lmax_out, method=self.method
            )
            return out.index_add(0, edge_index[1], messages) / self.avg_num_neighbors
        for start in range(0, E, self.chunk_size):
            sl = slice(start, start + self.chunk_size)
            messages = self._edge_frame_messages(x[edge_index[0, sl]], edge_vectors[sl])
            out = out.index_add(0, edge_index[1, sl], messages)
        return out / self.avg_num_neighbors

    def _radial_weights(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edge lengths ``[E]`` and per-degree radial weights ``[E, L_sh+1, C]`` (zero above l = 0 for zero-length edges)."""
        length = torch.linalg.vector_norm(vectors, dim=-1)
        basis = self.radial(length) if self.radial is not None else torch.ones_like(length)[:, None]
        R = self.radial_mlp(basis).view(-1, self.lmax_sh + 1, self.channels)
        keep = (length[:, None] > 0) | (torch.arange(self.lmax_sh + 1, device=vectors.device) == 0)
        return length, R * keep[..., None].to(R.dtype)

    def _grid_convolution(self, x: torch.Tensor, vectors: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Sum of Gaunt messages computed on the grid: one synthesis and one projection per node."""
        N, C = x.shape[0], self.channels
        L2 = self.lmax_sh
        desc = GauntDescription(self.lmax_in, L2, self.lmax_out)
        n_theta, n_phi = desc.grid_size
        grid_in = sphere_grid(self.lmax_in, n_theta, n_phi, x.dtype, x.device)
        grid_out = sphere_grid(self.lmax_out, n_theta, n_phi, x.dtype, x.device)
        G = n_phi * n_theta
        values = grid_in.to_grid(x.transpose(0, 1)).view(G, N, C)
        values = values.transpose(0, 1).contiguous()  # [N, G, C]: the per-edge work below reads whole rows
        points = _grid_points(n_theta, n_phi, x.dtype, x.device)  # [G, 3], in the order of the grid values
        length, R = self._radial_weights(vectors)
        unit = vectors / torch.where(length > 0, length, torch.ones_like(length))[:, None]
        scale = (2 * torch.arange(L2 + 1, dtype=x.dtype, device=x.device) + 1) / (4 * math.pi)
        total = values.new_zeros(N, G, C)
        for start in range(0, vectors.shape[0], self.chunk_size):
            sl = slice(start, start + self.chunk_size)
            cos = unit[sl] @ points.T  # [e, G]
            legendre = [torch.ones_like(cos), cos]  # P_l(r̂ · s), Bonnet's recurrence
            for l in range(1, L2):
                legendre.append(((2 * l + 1) * cos * legendre[l] - l * legendre[l - 1]) / (l + 1))
            P = torch.stack(legendre[: L2 + 1], -1) * scale  # [e, G, L2+1]
            g = torch.bmm(P, R[sl])  # edge functions on the grid [e, G, C]
            total = total.index_add(0, edge_index[1, sl], values.index_select(0, edge_index[0, sl]) * g)
        total = total.transpose(0, 1)  # [G, N, C]
        block = grid_out.from_grid(total.reshape(n_phi, n_theta, N * C))
        return from_order_major(block, grid_out.scatter, (N, C))

    def _edge_frame_messages(self, x: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """Messages ``[E, K_out, C]`` of senders ``x [E, K_in, C]`` along ``vectors [E, 3]``, in the edge frame."""
        E, C = x.shape[0], self.channels
        L1, L2, L3 = self.lmax_in, self.lmax_sh, self.lmax_out
        frame = edge_frame(vectors, max(L1, L3))
        _, R = self._radial_weights(vectors)
        # the edge's harmonics in its frame: sqrt((2l+1)/4π) at m = 0
        y0 = torch.sqrt((2 * torch.arange(L2 + 1, dtype=x.dtype, device=x.device) + 1) / (4 * math.pi))
        g = (R * y0[:, None]).permute(1, 0, 2).reshape(L2 + 1, E * C)  # [l2, E C]
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
def _grid_points(n_theta: int, n_phi: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Unit vectors ``[n_phi * n_theta, 3]`` of the Gauss-Legendre grid, φ-major like the grid values."""
    points, _ = sphere_grid_points(n_theta, n_phi, torch.float64)
    return points.transpose(0, 1).reshape(-1, 3).to(dtype=dtype, device=device)


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


def _fit_degree(t: torch.Tensor, lmax: int) -> torch.Tensor:
    """``[..., K, C] -> [..., (lmax+1)**2, C]``: drop the degrees above ``lmax``, or pad missing ones with zeros."""
    K = (lmax + 1) ** 2
    return t[..., :K, :] if t.shape[-2] >= K else torch.nn.functional.pad(t, (0, 0, 0, K - t.shape[-2]))


class ManyBodyInteraction(torch.nn.Module):
    """``x [N, (L+1)**2, C]``, ``element [N]`` -> ``[N, (L_out+1)**2, C]``: Σ over ν = 1..correlation of the
    projected product of ν per-degree reweighted copies of ``x``; every weight depends on the node's element.

    Args:
        lmax, lmax_out: degrees of the input and output.
        channels: ``C``.
        correlation: ν_max (MACE's ``correlation``).
        num_elements: number of element types (rows of the weight tables).
        method: ``"grid"`` (one pointwise product of ν functions on a grid exact for degree ``ν_max L + L_out``)
            or ``"fourier"`` / ``"dense"`` (pairwise products, divide and conquer, through :func:`gaunt_tensor_product`).
    """

    def __init__(
        self,
        lmax: int,
        channels: int,
        correlation: int = 3,
        num_elements: int = 1,
        lmax_out: int | None = None,
        method: str = "grid",
    ):
        super().__init__()
        self.lmax = check_degree("lmax", lmax)
        self.lmax_out = lmax if lmax_out is None else check_degree("lmax_out", lmax_out)
        if isinstance(correlation, bool) or not isinstance(correlation, int) or correlation < 1:
            raise ValueError(f"correlation: expected an int >= 1, got {correlation!r}")
        self.correlation, self.channels, self.num_elements = correlation, channels, num_elements
        self.method = check_choice("method", method, ("grid", "fourier", "dense"))
        n_copies = correlation * (correlation + 1) // 2  # copy k of order ν for k = 1..ν
        self.weights_in = torch.nn.Parameter(torch.ones(num_elements, n_copies, lmax + 1, channels))
        self.weights_out = torch.nn.Parameter(
            torch.randn(num_elements, correlation, self.lmax_out + 1, channels) / math.sqrt(correlation)
        )
        self.n_theta, n_phi = exact_grid_size(correlation * lmax + self.lmax_out)
        self.n_phi = n_phi + n_phi % 2  # even: the transforms run on half grids
        self.register_buffer("degree_in", degree_index(lmax).clone(), persistent=False)
        self.register_buffer("degree_out", degree_index(self.lmax_out).clone(), persistent=False)

    def _grid(self, x: torch.Tensor, w_in: torch.Tensor, w_out: torch.Tensor) -> torch.Tensor:
        """``x [N, K, C]``, copy weights ``w_in [N, n_copies, L+1, C]``, output weights ``w_out [N, ν_max, L_out+1, C]``
        -> ``[N, K_out, C]``.

        The weights are applied in the order-major block, where the degree is an axis of its own; each copy and
        each product keeps its own tensor, so the backward pass makes no large zero-filled or concatenated
        gradients.
        """
        N, K, C = x.shape
        L, Lo, n_theta = self.lmax, self.lmax_out, self.n_theta
        # ν = 1 needs no grid: the weighted copy itself, restricted (or zero-padded) to degree L_out
        K_low = (min(L, Lo) + 1) ** 2  # weight only the degrees that are kept
        linear = _fit_degree(x[:, :K_low] * w_in[:, 0, self.degree_in[:K_low]], Lo) * w_out[:, 0, self.degree_out]
        if self.correlation == 1:
            return linear
        halves_in = sphere_grid(L, n_theta, self.n_phi, x.dtype, x.device).halves
        halves_out = sphere_grid(Lo, n_theta, self.n_phi, x.dtype, x.device).halves
        by_order = to_order_major(x.transpose(0, 1), halves_in["gather"], L).view(2 * L + 2, L + 1, N, C)
        weights = w_in.permute(1, 2, 0, 3)  # [copies, L+1, N, C]
        factors = [  # even and odd parts of each weighted copy [2, n_phi/2, n_theta N C], for ν >= 2
            synthesis_halves(by_order * weights[k], halves_in) for k in range(1, weights.shape[0])
        ]
        total, start = None, 0
        for nu in range(2, self.correlation + 1):
            p = factors[start]
            for k in range(1, nu):
                p = multiply_halves(p, factors[start + k])
            start += nu
            block = analysis_halves(p, halves_out, n_theta).view(2 * Lo + 2, Lo + 1, N, C)
            weighted = block * w_out[:, nu - 1].permute(1, 0, 2)  # per degree l
            total = weighted if total is None else total + weighted
        return from_order_major(total.view(-1, N * C), halves_out["scatter"], (N, C)) + linear

    def _products_pairwise(self, copies: torch.Tensor) -> torch.Tensor:
        products, start = [], 0
        for nu in range(1, self.correlation + 1):
            factors = [copies[start + k] for k in range(nu)]
            start += nu
            while len(factors) > 1:  # divide and conquer: multiply neighbours, exact degrees
                paired = [gaunt_tensor_product(a, b, method=self.method) for a, b in zip(factors[0::2], factors[1::2])]
                factors = paired + ([factors[-1]] if len(factors) % 2 else [])
            products.append(_fit_degree(factors[0], self.lmax_out))
        return torch.stack(products)

    def forward(self, x: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
        """``x [N, (L+1)**2, C]`` and ``element``: indices ``[N]`` or one-hot node attributes ``[N, num_elements]``
        (MACE's ``node_attrs``) -> ``[N, (L_out+1)**2, C]``. MACE's features are ``[N, C, (L+1)**2]``: pass
        ``x.transpose(1, 2)``."""
        check_tensor("x", x, min_dim=3)
        K = (self.lmax + 1) ** 2
        if x.shape[1:] != (K, self.channels):
            raise ValueError(f"x: expected shape [N, {K}, {self.channels}], got {tuple(x.shape)}")
        N = x.shape[0]
        if not isinstance(element, torch.Tensor):
            raise ValueError(
                f"element: expected indices [{N}] or node attributes [{N}, {self.num_elements}], got {type(element).__name__}"
            )
        if element.is_floating_point():
            if element.shape != (N, self.num_elements):
                raise ValueError(
                    f"element: expected node attributes [{N}, {self.num_elements}], got {tuple(element.shape)}"
                )
            one_hot = element.to(x.dtype)
        else:
            if element.shape != (N,):
                raise ValueError(
                    f"element: expected an integer tensor [{N}] of element indices, got shape {tuple(element.shape)}"
                )
            if N and (int(element.min()) < 0 or int(element.max()) >= self.num_elements):
                raise ValueError(
                    f"element: expected indices in [0, {self.num_elements}), got [{int(element.min())}, {int(element.max())}]"
                )
            one_hot = torch.nn.functional.one_hot(element, self.num_elements).to(x.dtype)
        if N == 0:
            return x.new_zeros(0, (self.lmax_out + 1) ** 2, self.channels)
        # element weights by a (one-hot) product: its backward is a GEMM, not an indexed scatter
        w_in = (one_hot @ self.weights_in.to(x.dtype).flatten(1)).view((N,) + self.weights_in.shape[1:])
        w_out = (one_hot @ self.weights_out.to(x.dtype).flatten(1)).view((N,) + self.weights_out.shape[1:])
        if self.method == "grid":
            return self._grid(x, w_in, w_out)
        copies = (x[:, None] * w_in[:, :, self.degree_in]).transpose(0, 1)  # [n_copies, N, K, C]
        products = self._products_pairwise(copies)  # [ν, N, K_out, C]
        return (products.transpose(0, 1) * w_out[:, :, self.degree_out]).sum(1)

    def extra_repr(self) -> str:
        return (
            f"lmax={self.lmax} -> {self.lmax_out}, channels={self.channels}, correlation={self.correlation}, "
            f"num_elements={self.num_elements}, method={self.method!r}"
        )
