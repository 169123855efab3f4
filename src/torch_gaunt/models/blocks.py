"""The building blocks of a MACE potential (Batatia et al., NeurIPS 2022) on Gaunt products.

Features are spherical tensors ``[N, (L+1)**2, C]`` (MACE keeps ``[N, C, (L+1)**2]``). Each block mirrors one of
MACE's ``modules/blocks.py``: :class:`RadialEmbedding` (Bessel basis times polynomial cutoff),
:class:`ElementLinear` (MACE's element-dependent ``skip_tp``), :class:`Interaction` (``RealAgnosticInteractionBlock``
and ``RealAgnosticResidualInteractionBlock``), :class:`ProductBasis` (``EquivariantProductBasisBlock``, here a
Gaunt many-body product) and the two readouts.
"""

from __future__ import annotations

import math

import torch

from ..nn import (
    BesselBasis,
    CoupledManyBodyInteraction,
    EquivariantConvolution,
    FeatureInteraction,
    ManyBodyInteraction,
    PathConvolution,
    PathLinear,
    PolynomialCutoff,
    SphericalLinear,
)
from ..nn._chunks import checkpointed_chunks
from ..so3 import degree_index

__all__ = [
    "RadialEmbedding",
    "ElementLinear",
    "Interaction",
    "ProductBasis",
    "SelfMix",
    "LinearReadout",
    "NonLinearReadout",
]


class RadialEmbedding(torch.nn.Module):
    """``r [E] -> [E, num_basis]``: Bessel functions ``sqrt(2/r_c) sin(nπr/r_c)/r`` times the polynomial cutoff
    envelope of order ``p``, so that every feature goes smoothly to zero at ``r_max``."""

    def __init__(self, r_max: float, num_basis: int = 8, p: int = 5):
        super().__init__()
        self.bessel = BesselBasis(r_max, num_basis)
        self.cutoff = PolynomialCutoff(r_max, p)
        self.num_basis = num_basis

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return self.bessel(r) * self.cutoff(r)[..., None]


class ElementLinear(torch.nn.Module):
    """Per-degree channel mixing whose weights depend on the node's element:
    ``x [N, (L+1)**2, C_in]``, ``one_hot [N, Z]`` -> ``y[n, lm, d] = Σ_c x[n, lm, c] W[l, z_n, c, d] / sqrt(C_in)``.

    This is MACE's ``skip_tp`` (a tensor product with the one-hot node attributes), normalised per element.
    """

    def __init__(self, lmax: int, channels_in: int, channels_out: int, num_elements: int):
        super().__init__()
        self.lmax, self.channels_in, self.channels_out, self.num_elements = (
            lmax,
            channels_in,
            channels_out,
            num_elements,
        )
        self.weight = torch.nn.Parameter(torch.randn(lmax + 1, num_elements * channels_in, channels_out))
        self.register_buffer("degree_index", degree_index(lmax).clone(), persistent=False)

    def forward(self, x: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        N, K, C = x.shape
        xz = (one_hot[:, None, :, None] * x[:, :, None, :]).reshape(N, K, self.num_elements * C)
        W = self.weight.to(x.dtype)[self.degree_index] / math.sqrt(self.channels_in)
        return torch.einsum("nkc,kcd->nkd", xz, W)

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}, {self.channels_in} -> {self.channels_out}, num_elements={self.num_elements}"


class Interaction(torch.nn.Module):
    """One message-passing step: ``linear_up``, the point convolution with edge harmonics to ``max_ell`` (sum over
    neighbours divided by ``avg_num_neighbors``), a linear map, and either an element-dependent linear on the
    message (first layer, ``residual=False``) or an element-dependent skip connection from the input features to
    ``lmax_skip`` (``residual=True``).

    ``convolution="per_path"`` (MACE's): a radial weight per path ``(l_in, l_sh) -> l_out`` and channel, each path
    in a slot of its own, mixed by a :class:`~torch_gaunt.nn.PathLinear`
    (:class:`~torch_gaunt.nn.PathConvolution`). ``convolution="gaunt"``: a radial weight per degree of the edge
    harmonics and channel, all paths summed by one Gaunt product (:class:`~torch_gaunt.nn.EquivariantConvolution`),
    then a :class:`~torch_gaunt.nn.SphericalLinear`.

    ``forward(x [N, (L_in+1)**2, C], one_hot [N, Z], edge_vectors [E, 3], edge_index [2, E])`` returns
    ``(message [N, (max_ell+1)**2, C], skip [N, (lmax_skip+1)**2, C] or None)``; degrees of the skip above
    ``L_in`` are zero (a first layer's skip from the scalar embedding has only ``l = 0``).

    ``edge_chunk_size`` (attribute, default None): with more edges than this, the convolution's per-edge work runs
    over chunks of edges under activation checkpointing
    (:meth:`~torch_gaunt.nn.EquivariantConvolution.forward_in_chunks`): only each edge's radial weights and basis
    are kept, the rest of a chunk's per-edge tensors (the radial MLP's activations) is recomputed in the backward
    pass. For first derivatives (forces, stress) of large structures, not for training (which differentiates
    twice).
    """

    edge_chunk_size: int | None = None

    def __init__(
        self,
        lmax_in: int,
        max_ell: int,
        channels: int,
        num_elements: int,
        radial: torch.nn.Module,
        radial_hidden: list[int],
        avg_num_neighbors: float,
        residual: bool,
        lmax_skip: int = 0,
        method: str = "auto",
        convolution: str = "gaunt",
    ):
        super().__init__()
        self.linear_up = SphericalLinear(lmax_in, channels, channels)
        if convolution == "per_path":
            self.conv = PathConvolution(
                lmax_in, max_ell, max_ell, channels, radial=radial, avg_num_neighbors=avg_num_neighbors,
                radial_hidden=radial_hidden,
            )  # fmt: skip
            self.linear = PathLinear(self.conv.description.paths_per_degree, channels, channels)
        elif convolution == "gaunt":
            self.conv = EquivariantConvolution(
                lmax_in, max_ell, max_ell, channels, radial=radial, avg_num_neighbors=avg_num_neighbors,
                method=method, radial_hidden=radial_hidden,
            )  # fmt: skip
            self.linear = SphericalLinear(max_ell, channels, channels)
        else:
            raise ValueError(f"convolution: expected 'per_path' or 'gaunt', got {convolution!r}")
        self.residual, self.lmax_skip = residual, lmax_skip
        if residual:  # degrees of the skip above lmax_in are zero
            self.skip = ElementLinear(min(lmax_skip, lmax_in), channels, channels, num_elements)
        else:
            self.skip = ElementLinear(max_ell, channels, channels, num_elements)

    def forward(
        self, x: torch.Tensor, one_hot: torch.Tensor, edge_vectors: torch.Tensor, edge_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        skip = None
        if self.residual:
            skip = self.skip(x[:, : (self.skip.lmax + 1) ** 2], one_hot)
            missing = (self.lmax_skip + 1) ** 2 - skip.shape[1]
            skip = torch.nn.functional.pad(skip, (0, 0, 0, missing)) if missing else skip
        message = self.linear(self._convolution(self.linear_up(x), edge_vectors, edge_index))
        if not self.residual:
            message = self.skip(message, one_hot)
        return message, skip

    def _convolution(self, x: torch.Tensor, edge_vectors: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        chunk = self.edge_chunk_size
        if chunk is None or edge_vectors.shape[0] <= chunk:
            return self.conv(x, edge_vectors, edge_index)
        if isinstance(self.conv, EquivariantConvolution):
            return self.conv.forward_in_chunks(x, edge_vectors, edge_index, chunk)
        parts = checkpointed_chunks(
            self.conv, edge_vectors.shape[0], chunk, lambda s: (x, edge_vectors[s], edge_index[:, s])
        )
        return sum(parts)  # the messages of the chunks add up to those of all edges


class ProductBasis(torch.nn.Module):
    """MACE's product basis on the sphere: the element-weighted many-body Gaunt product of the messages up to
    ``correlation`` copies, projected to ``lmax_out``, then a linear map, plus the skip connection if given.

    ``many_body="per_degree"``: per-degree weights of each copy, multiplied
    (:class:`~torch_gaunt.nn.ManyBodyInteraction`); ``"coupled"``: a weight per coupling, element and channel
    (:class:`~torch_gaunt.nn.CoupledManyBodyInteraction`).

    ``forward(message [N, (max_ell+1)**2, C], one_hot [N, Z], skip)`` -> ``[N, (lmax_out+1)**2, C]``.

    ``node_chunk_size`` (attribute, default None): with more nodes than this, the product runs over chunks of
    nodes under activation checkpointing, so that only one chunk's grid tensors are alive at a time (for first
    derivatives of large structures, as :class:`Interaction`'s ``edge_chunk_size``).
    """

    node_chunk_size: int | None = None

    def __init__(
        self,
        max_ell: int,
        lmax_out: int,
        channels: int,
        correlation: int,
        num_elements: int,
        method="auto",
        many_body: str = "per_degree",
    ):
        super().__init__()
        if many_body == "coupled":
            self.many_body = CoupledManyBodyInteraction(
                max_ell, channels, correlation=correlation, num_elements=num_elements, lmax_out=lmax_out
            )
        elif many_body == "per_degree":
            self.many_body = ManyBodyInteraction(
                max_ell, channels, correlation=correlation, num_elements=num_elements, lmax_out=lmax_out, method=method
            )
        else:
            raise ValueError(f"many_body: expected 'coupled' or 'per_degree', got {many_body!r}")
        self.linear = SphericalLinear(lmax_out, channels, channels)

    def forward(self, message: torch.Tensor, one_hot: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        chunk, N = self.node_chunk_size, message.shape[0]
        if chunk is None or N <= chunk:
            y = self._product(message, one_hot)
        else:
            y = torch.cat(list(checkpointed_chunks(self._product, N, chunk, lambda s: (message[s], one_hot[s]))))
        return y if skip is None else y + skip

    def _product(self, message: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        return self.linear(self.many_body(message, one_hot))


class SelfMix(torch.nn.Module):
    """The Gaunt paper's Selfmix: ``x + W(x ⊗ x)``, a node's features Gaunt-multiplied with themselves
    (:class:`~torch_gaunt.nn.FeatureInteraction`), as a residual update; ``[N, (L+1)**2, C]`` in and out."""

    def __init__(self, lmax: int, channels: int, method: str = "auto"):
        super().__init__()
        self.interaction = FeatureInteraction(lmax, channels, lmax_out=lmax, method=method)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.interaction(x, x)


class LinearReadout(torch.nn.Module):
    """``x [N, (L+1)**2, C] -> [N]``: a linear map of the invariant (l = 0) channels."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, :] @ self.weight.to(x.dtype) / math.sqrt(self.weight.shape[0])


class NonLinearReadout(torch.nn.Module):
    """``x [N, (L+1)**2, C] -> [N]``: an MLP ``C -> hidden -> 1`` with SiLU on the invariant channels."""

    def __init__(self, channels: int, hidden: int = 16):
        super().__init__()
        self.w1 = torch.nn.Parameter(torch.randn(channels, hidden))
        self.w2 = torch.nn.Parameter(torch.randn(hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.silu(x[:, 0, :] @ self.w1.to(x.dtype) / math.sqrt(self.w1.shape[0]))
        return h @ self.w2.to(x.dtype) / math.sqrt(self.w2.shape[0])
