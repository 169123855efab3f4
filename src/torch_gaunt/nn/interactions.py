r"""The three operation families of the Gaunt tensor product paper, on spherical tensors ``[..., (L+1)**2, C]``.

- :class:`FeatureInteraction`: ``x ⊗ y`` of two feature sets of one node (Gaunt product, per-degree weights).
- :class:`EquivariantConvolution`: ``m_i = Σ_{j -> i} x_j ⊗ (R(|r_ij|) Y(r̂_ij))``, summed over edges, with the
  radial weights ``R`` (one per degree of ``Y`` and channel) from a basis and an MLP; the products are
  :func:`~torch_gaunt.products.gaunt_convolution` (per-node grid, edge frame or per-edge executors, which agree).
- :class:`PathConvolution`: the same sum with one radial weight per path ``(l1, l2, l3)`` and channel, and one
  message slot per path (:func:`~torch_gaunt.products.path_convolution`): MACE's convolution.
- :class:`ManyBodyInteraction`: ``Σ_ν w_out,ν ⊙ P_{L_out}(Π_{k=1..ν} (w_{ν,k} ⊙ x))``, the ν-fold product of
  per-degree reweighted copies of a node's features (:func:`~torch_gaunt.products.many_body_product`), with
  weights chosen by the node's element; a drop-in for MACE's ``SymmetricContraction``.
- :class:`CoupledManyBodyInteraction`: the same products with one weight per coupling (richer, fewer weights).

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

from .._checks import check_choice, check_degree, check_int, check_spherical_tensor, check_tensor
from .._safe import safe_norm
from ..products import (
    CONVOLUTION_METHODS,
    METHODS,
    CoupledManyBodyDescription,
    GauntTensorProduct,
    PathConvolutionDescription,
    convolution_edge_basis,
    convolution_from_edge_basis,
    coupled_many_body_product,
    gaunt_convolution,
    many_body_product,
    node_sum_executor,
    path_convolution,
    prepare_convolution,
)
from ._chunks import checkpointed_chunks
from .linear import SphericalLinear
from .radial import RadialMLP

__all__ = [
    "FeatureInteraction",
    "EquivariantConvolution",
    "PathConvolution",
    "ManyBodyInteraction",
    "CoupledManyBodyInteraction",
]


def _num_basis(radial: torch.nn.Module | None, num_basis: int | None) -> int:
    """The size of the radial module's output: ``num_basis`` if given, else its ``num_basis`` attribute."""
    if radial is None:
        return 1
    if num_basis is None:
        num_basis = getattr(radial, "num_basis", None)
        if not isinstance(num_basis, int):
            raise ValueError(
                f"num_basis: {type(radial).__name__} has no int attribute num_basis; pass num_basis, the size of its "
                "output"
            )
    return num_basis


def _edge_lengths_basis(radial: torch.nn.Module | None, edge_vectors: torch.Tensor) -> torch.Tensor:
    """``[E, num_basis]``: the radial module applied to the edge lengths (ones without a module)."""
    length = safe_norm(edge_vectors)
    return radial(length) if radial is not None else torch.ones_like(length)[:, None]


def _node_attributes(element: torch.Tensor, N: int, num_elements: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot node attributes ``[N, num_elements]`` from element indices ``[N]`` or from attributes themselves."""
    if not isinstance(element, torch.Tensor):
        raise ValueError(
            f"element: expected indices [{N}] or node attributes [{N}, {num_elements}], got {type(element).__name__}"
        )
    if element.is_floating_point():
        if element.shape != (N, num_elements):
            raise ValueError(f"element: expected node attributes [{N}, {num_elements}], got {tuple(element.shape)}")
        return element.to(dtype)
    if element.shape != (N,):
        raise ValueError(
            f"element: expected an integer tensor [{N}] of element indices, got shape {tuple(element.shape)}"
        )
    if N and (int(element.min()) < 0 or int(element.max()) >= num_elements):
        raise ValueError(
            f"element: expected indices in [0, {num_elements}), got [{int(element.min())}, {int(element.max())}]"
        )
    return torch.nn.functional.one_hot(element, num_elements).to(dtype)


def _check_edges(edge_vectors: torch.Tensor) -> None:
    check_tensor("edge_vectors", edge_vectors, min_dim=2)
    if edge_vectors.shape[-1] != 3:
        raise ValueError(f"edge_vectors: expected shape [E, 3], got {tuple(edge_vectors.shape)}")


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
    """Point convolution ``m_i = (4π / avg_num_neighbors) Σ_{e: j -> i} x_j ⊗ (R(|r_e|) ⊙ Y(r̂_e))``.

    The factor ``4π`` reads ``x_j`` and ``Y`` as component-normalised (``sqrt(4π)`` times the coefficients of the
    functions they describe), as e3nn and MACE do: a scalar sender's message is then ``x_j R_l Y^comp_l(r̂)``
    exactly, and the messages keep the scale of their inputs instead of shrinking by ``4π``.

    Args:
        lmax_in, lmax_sh, lmax_out: degrees of the node features, of the edge harmonics and of the messages.
        channels: ``C``.
        radial: module ``[E] -> [E, num_basis]`` (e.g. ``BesselBasis`` times a cutoff), or None for a constant;
            an MLP maps its output to per-degree, per-channel weights ``[E, L_sh + 1, C]``.
        num_basis: the radial module's output size; read from its ``num_basis`` attribute when not given.
        avg_num_neighbors: the sum over edges is divided by this.
        method: executor of :func:`~torch_gaunt.products.gaunt_convolution`: ``"auto"``, ``"grid"`` (per node),
            ``"edge_frame"``, ``"dense"`` or ``"fourier"`` (per edge).
        chunk_size: edges processed at a time by the grid and edge-frame executors (bounds their memory).
        radial_hidden: hidden sizes of the radial MLP (MACE uses ``(64, 64, 64)``).

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
        num_basis: int | None = None,
        avg_num_neighbors: float = 1.0,
        method: str = "auto",
        chunk_size: int = 4096,
        radial_hidden: tuple[int, ...] | list[int] = (64,),
    ):
        super().__init__()
        self.chunk_size = chunk_size
        self.lmax_in, self.lmax_sh = check_degree("lmax_in", lmax_in), check_degree("lmax_sh", lmax_sh)
        self.lmax_out = check_degree("lmax_out", lmax_out, maximum=lmax_in + lmax_sh)
        self.method = check_choice("method", method, CONVOLUTION_METHODS)
        self.channels, self.avg_num_neighbors = channels, float(avg_num_neighbors)
        self.radial = radial
        self.radial_mlp = RadialMLP([_num_basis(radial, num_basis), *radial_hidden, (lmax_sh + 1) * channels])
        # build the tables of the chosen executor now, not while torch.compile traces
        prepare_convolution(lmax_in, lmax_sh, self.lmax_out, method, torch.get_default_dtype(), torch.device("cpu"))

    def radial_weights(self, edge_vectors: torch.Tensor) -> torch.Tensor:
        """Per-degree, per-channel weights ``[E, L_sh+1, C]`` of the edge harmonics, from the edge lengths."""
        return self.radial_mlp(_edge_lengths_basis(self.radial, edge_vectors)).view(-1, self.lmax_sh + 1, self.channels)

    def forward(self, x: torch.Tensor, edge_vectors: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        check_spherical_tensor("x", x, lmax=self.lmax_in, channels=self.channels)
        _check_edges(edge_vectors)
        edge_vectors = edge_vectors.to(x.dtype)
        messages = gaunt_convolution(
            x, self.radial_weights(edge_vectors), edge_vectors, edge_index, self.lmax_out, method=self.method,
            chunk_size=self.chunk_size,
        )  # fmt: skip
        return messages * (4 * math.pi / self.avg_num_neighbors)

    def forward_in_chunks(
        self, x: torch.Tensor, edge_vectors: torch.Tensor, edge_index: torch.Tensor, chunk: int
    ) -> torch.Tensor:
        """``forward`` with the per-edge work in chunks of ``chunk`` edges under activation checkpointing, for the
        first derivatives (forces, stress) of large structures.

        With the executors that sum on the nodes (``"auto"``, ``"grid"``) only each edge's radial weights and basis
        (:func:`~torch_gaunt.products.convolution_edge_basis`) are built per chunk; their intermediates (the
        radial MLP's activations, the Legendre recurrence) are recomputed in the backward pass, and the senders'
        grid, the sum over edges and the projection run once. Other executors checkpoint whole chunks. Same
        shapes and result as ``forward``.
        """
        check_spherical_tensor("x", x, lmax=self.lmax_in, channels=self.channels)
        _check_edges(edge_vectors)
        check_int("chunk", chunk)
        E = edge_vectors.shape[0]
        if E <= chunk:
            return self(x, edge_vectors, edge_index)
        edge_vectors = edge_vectors.to(x.dtype)
        executor = node_sum_executor(self.lmax_in, self.lmax_sh, self.lmax_out, self.method, x.device)
        if executor is None:
            return sum(checkpointed_chunks(self, E, chunk, lambda s: (x, edge_vectors[s], edge_index[:, s])))
        parts = list(checkpointed_chunks(self._edge_part, E, chunk, lambda s: (edge_vectors[s], executor)))
        messages = convolution_from_edge_basis(x, parts, edge_index, self.lmax_out, executor, self.chunk_size)
        return messages * (4 * math.pi / self.avg_num_neighbors)

    def _edge_part(self, edge_vectors: torch.Tensor, executor: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(basis [e, K, L+1], radial [e, L_sh+1, C])`` of a block of edges."""
        basis = convolution_edge_basis(edge_vectors, self.lmax_in, self.lmax_sh, self.lmax_out, executor)
        return basis, self.radial_weights(edge_vectors)

    def extra_repr(self) -> str:
        return (
            f"lmax=({self.lmax_in}, {self.lmax_sh}) -> {self.lmax_out}, channels={self.channels}, "
            f"avg_num_neighbors={self.avg_num_neighbors}, method={self.method!r}"
        )


class PathConvolution(torch.nn.Module):
    """Point convolution with a weight per path: ``m_i[l3, s(p)] = (1 / avg_num_neighbors) Σ_{e: j -> i}
    R_p(|r_e|) ⊙ (x_j^{l1} ⊗ Y^{l2}(r̂_e))_{l3}`` for each path ``p = (l1, l2, l3)``, every path in a slot of its own
    (:func:`~torch_gaunt.products.path_convolution`; each path equals e3nn's component-normalised ``uvu`` path).
    Follow it with a :class:`~torch_gaunt.nn.PathLinear` to mix paths and channels (MACE's convolution + linear).

    Args:
        lmax_in, lmax_sh, lmax_out: degrees of the node features, of the edge harmonics and of the messages.
        channels: ``C``.
        radial: module ``[E] -> [E, num_basis]``, or None for a constant; an MLP maps its output to per-path,
            per-channel weights ``[E, P, C]``.
        num_basis: the radial module's output size; read from its ``num_basis`` attribute when not given.
        avg_num_neighbors: the sum over edges is divided by this.
        radial_hidden: hidden sizes of the radial MLP (MACE uses ``(64, 64, 64)``).

    ``forward(x [N, (L_in+1)**2, C], edge_vectors [E, 3], edge_index [2, E])`` returns ``[N, (L_out+1)**2, S, C]``
    (``S = description.num_slots``; ``description.paths_per_degree`` says how many slots of each degree are used).
    """

    def __init__(
        self,
        lmax_in: int,
        lmax_sh: int,
        lmax_out: int,
        channels: int,
        radial: torch.nn.Module | None = None,
        num_basis: int | None = None,
        avg_num_neighbors: float = 1.0,
        radial_hidden: tuple[int, ...] | list[int] = (64,),
    ):
        super().__init__()
        lmax_in, lmax_sh = check_degree("lmax_in", lmax_in), check_degree("lmax_sh", lmax_sh)
        lmax_out = check_degree("lmax_out", lmax_out, maximum=lmax_in + lmax_sh)
        self.description = PathConvolutionDescription(lmax_in, lmax_sh, lmax_out)
        self.channels, self.avg_num_neighbors = check_int("channels", channels), float(avg_num_neighbors)
        self.radial = radial
        num_paths = len(self.description.paths)
        self.radial_mlp = RadialMLP([_num_basis(radial, num_basis), *radial_hidden, num_paths * channels])

    def radial_weights(self, edge_vectors: torch.Tensor) -> torch.Tensor:
        """Per-path, per-channel weights ``[E, P, C]`` from the edge lengths."""
        basis = _edge_lengths_basis(self.radial, edge_vectors)
        return self.radial_mlp(basis).view(-1, len(self.description.paths), self.channels)

    def forward(self, x: torch.Tensor, edge_vectors: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        check_spherical_tensor("x", x, lmax=self.description.lmax_in, channels=self.channels)
        _check_edges(edge_vectors)
        edge_vectors = edge_vectors.to(x.dtype)
        messages = path_convolution(x, self.radial_weights(edge_vectors), edge_vectors, edge_index, self.description)
        return messages / self.avg_num_neighbors

    def extra_repr(self) -> str:
        d = self.description
        return (
            f"lmax=({d.lmax_in}, {d.lmax_sh}) -> {d.lmax_out}, {len(d.paths)} paths, channels={self.channels}, "
            f"avg_num_neighbors={self.avg_num_neighbors}"
        )


class ManyBodyInteraction(torch.nn.Module):
    """``x [N, (L+1)**2, C]``, ``element [N]`` -> ``[N, (L_out+1)**2, C]``: Σ over ν = 1..correlation of the
    projected product of ν per-degree reweighted copies of ``x``; every weight depends on the node's element.
    ``weights_in [Z, c(c+1)/2 - 1, L+1, C]`` holds the copies of the orders ν >= 2 (ν = 1 is weighted by
    ``weights_out`` alone), ``weights_out [Z, c, L_out+1, C]`` the output weights of each order.

    Args:
        lmax, lmax_out: degrees of the input and output.
        channels: ``C``.
        correlation: ν_max (MACE's ``correlation``).
        num_elements: number of element types (rows of the weight tables).
        method: executor of :func:`~torch_gaunt.products.many_body_product`: ``"auto"``, ``"grid"`` (one
            pointwise product of ν functions on a grid exact for degree ``ν_max L + L_out``), or ``"fourier"`` /
            ``"dense"`` (pairwise products, divide and conquer).
    """

    def __init__(
        self,
        lmax: int,
        channels: int,
        correlation: int = 3,
        num_elements: int = 1,
        lmax_out: int | None = None,
        method: str = "auto",
    ):
        super().__init__()
        self.lmax = check_degree("lmax", lmax)
        self.lmax_out = lmax if lmax_out is None else check_degree("lmax_out", lmax_out)
        check_int("correlation", correlation)
        self.correlation, self.channels, self.num_elements = correlation, channels, num_elements
        self.method = check_choice("method", method, METHODS)
        # copy k of order ν for k = 1..ν, orders ν >= 2 only: the single copy of ν = 1 would only repeat weights_out
        n_copies = correlation * (correlation + 1) // 2 - 1
        self.weights_in = torch.nn.Parameter(torch.ones(num_elements, n_copies, lmax + 1, channels))
        self.weights_out = torch.nn.Parameter(
            torch.randn(num_elements, correlation, self.lmax_out + 1, channels) / math.sqrt(correlation)
        )

    def forward(self, x: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
        """``x [N, (L+1)**2, C]`` and ``element``: indices ``[N]`` or one-hot node attributes ``[N, num_elements]``
        (MACE's ``node_attrs``) -> ``[N, (L_out+1)**2, C]``. MACE's features are ``[N, C, (L+1)**2]``: pass
        ``x.transpose(1, 2)``."""
        check_spherical_tensor("x", x, lmax=self.lmax, channels=self.channels)
        N = x.shape[0]
        one_hot = _node_attributes(element, N, self.num_elements, x.dtype)
        # element weights by a (one-hot) product: its backward is a GEMM, not an indexed scatter
        w_in = (one_hot @ self.weights_in.to(x.dtype).flatten(1)).view((N,) + self.weights_in.shape[1:])
        w_in = torch.cat([w_in.new_ones(N, 1, self.lmax + 1, self.channels), w_in], 1)  # ν = 1: weights_out alone
        w_out = (one_hot @ self.weights_out.to(x.dtype).flatten(1)).view((N,) + self.weights_out.shape[1:])
        return many_body_product(x, w_in, w_out, self.lmax_out, method=self.method)

    def extra_repr(self) -> str:
        return (
            f"lmax={self.lmax} -> {self.lmax_out}, channels={self.channels}, correlation={self.correlation}, "
            f"num_elements={self.num_elements}, method={self.method!r}"
        )


class CoupledManyBodyInteraction(torch.nn.Module):
    """``x [N, (L+1)**2, C]``, ``element [N]`` -> ``[N, (L_out+1)**2, C]``: the many-body product with one weight
    per coupling, element and channel (:func:`~torch_gaunt.products.coupled_many_body_product`): every coupling
    ``P_l(Π_{a ∈ S} f_a)`` of at most ``correlation`` degrees that products of functions realise gets a free
    weight, as in MACE's ``SymmetricContraction`` (which also has the couplings with odd intermediate paths).

    Each coupling has unit gain on unit inputs (``description.normalization``); its weight is stored ``N(0, 1)``
    and divided by the square root of the number of couplings of its order into its output degree.

    Args:
        lmax, lmax_out: degrees of the input and output.
        channels: ``C``.
        correlation: the most factors in a product (MACE's ``correlation``).
        num_elements: number of element types (rows of the weight table).
    """

    def __init__(
        self, lmax: int, channels: int, correlation: int = 3, num_elements: int = 1, lmax_out: int | None = None
    ):
        super().__init__()
        lmax = check_degree("lmax", lmax)
        lmax_out = lmax if lmax_out is None else check_degree("lmax_out", lmax_out)
        self.description = CoupledManyBodyDescription(lmax, check_int("correlation", correlation), lmax_out)
        self.channels, self.num_elements = check_int("channels", channels), check_int("num_elements", num_elements)
        couplings = self.description.couplings
        self.weights = torch.nn.Parameter(torch.randn(num_elements, len(couplings), channels))
        count: dict[tuple[int, int], int] = {}
        for S, l in couplings:
            count[len(S), l] = count.get((len(S), l), 0) + 1
        scale = torch.tensor([count[len(S), l] ** -0.5 for S, l in couplings], dtype=torch.float64)
        self.register_buffer("scale", scale, persistent=False)

    def forward(self, x: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
        """``x [N, (L+1)**2, C]`` and ``element``: indices ``[N]`` or one-hot node attributes ``[N, num_elements]``."""
        check_spherical_tensor("x", x, lmax=self.description.lmax, channels=self.channels)
        N = x.shape[0]
        one_hot = _node_attributes(element, N, self.num_elements, x.dtype)
        w = self.weights.to(x.dtype) * self.scale.to(x.dtype)[:, None]
        return coupled_many_body_product(x, (one_hot @ w.flatten(1)).view(N, -1, self.channels), self.description)

    def extra_repr(self) -> str:
        d = self.description
        return (
            f"lmax={d.lmax} -> {d.lmax_out}, channels={self.channels}, correlation={d.correlation}, "
            f"{len(d.couplings)} couplings, num_elements={self.num_elements}"
        )
