r"""Vector-neuron layers (Deng et al., ICCV 2021; as used by EqMotion and PARE-Net) on features ``[..., C, 3]``.

A vector-neuron feature is a list of ``C`` 3-vectors. Every layer here commutes with any orthogonal ``g``
acting on the last axis (``x -> x g^T``): linear maps mix channels only, the nonlinearity acts on the
component along a learned direction, and invariants are inner products. In e3nn terms the features are
``C x 1o`` (:func:`vectors_to_irreps`, :func:`vectors_to_spherical_tensor` and their inverses convert), and a
vector-neuron network is a cheap equivariant model restricted to degree 1.

- :class:`VNLinear`: ``y_o = Σ_c W_oc x_c``;
- :class:`VNLeakyReLU`: ``q = W x``, direction ``k = U x``; where ``q·k < 0`` the component of ``q`` along
  ``k`` is removed (leaky with slope ``α``);
- :func:`vn_centre`: subtract the mean over points (translation invariance);
- :class:`VNInvariant`: ``[..., C, 3] -> [..., C, K]`` inner products with ``K`` learned vector combinations;
- :class:`VNKabschHead`: a rotation ``[..., 3, 3]`` from features, by aligning learned reference vectors
  with ``K`` output vectors (Kabsch): ``R(x g^T) = g R(x)`` for rotations ``g``.
"""

from __future__ import annotations

import math

import torch

from .._checks import check_last_dims, check_tensor
from .._safe import safe_ratio
from ..so3.rotations import special_procrustes

__all__ = [
    "VNLinear",
    "VNLeakyReLU",
    "VNInvariant",
    "VNKabschHead",
    "vn_centre",
    "vectors_to_irreps",
    "irreps_to_vectors",
    "vectors_to_spherical_tensor",
    "spherical_tensor_to_vectors",
]


def _check_vectors(name: str, x: object, channels: int | None = None) -> torch.Tensor:
    x = check_tensor(name, x, min_dim=2)
    check_last_dims(name, x, (3,), "vector-neuron features [..., C, 3]")
    if channels is not None and x.shape[-2] != channels:
        raise ValueError(
            f"{name}: expected {channels} channels in axis -2 ([..., {channels}, 3]), got {tuple(x.shape)}"
        )
    return x


class VNLinear(torch.nn.Module):
    """``[..., C_in, 3] -> [..., C_out, 3]``: ``y_o = Σ_c W_oc x_c`` (no bias: a bias vector would break equivariance)."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(channels_out, channels_in) / math.sqrt(channels_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_vectors("x", x, self.weight.shape[1])
        return self.weight @ x

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]} -> {self.weight.shape[0]} vector channels"


class VNLeakyReLU(torch.nn.Module):
    """``[..., C, 3] -> [..., C_out, 3]``, the vector-neuron ReLU.

    With ``q = W x`` and a learned direction ``k = U x`` per output channel,
    ``y = q`` where ``q·k >= 0`` and ``q - (q·k / |k|²) k`` otherwise; ``negative_slope`` blends in ``α q``.
    With one input channel ``q`` and ``k`` are parallel and the layer is linear: give it two or more.
    """

    def __init__(self, channels: int, channels_out: int | None = None, negative_slope: float = 0.2):
        super().__init__()
        channels_out = channels if channels_out is None else channels_out
        self.features = VNLinear(channels, channels_out)
        self.direction = VNLinear(channels, channels_out)
        self.negative_slope = float(negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k = self.features(x), self.direction(x)
        dot = (q * k).sum(-1, keepdim=True)
        removed = q - safe_ratio(dot, (k * k).sum(-1, keepdim=True), 0.0) * k
        relu = torch.where(dot >= 0, q, removed)
        return self.negative_slope * q + (1 - self.negative_slope) * relu


class VNInvariant(torch.nn.Module):
    """``[..., C, 3] -> [..., C, K]``: inner products ``<x_c, Σ_d T_kd x_d>`` with ``K`` learned combinations.

    The output is invariant under every orthogonal ``g``; use it to feed scalar heads.
    """

    def __init__(self, channels: int, num_invariants: int = 3):
        super().__init__()
        self.combine = VNLinear(channels, num_invariants)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.combine(x).transpose(-1, -2)


class VNKabschHead(torch.nn.Module):
    """``[..., C, 3] -> [..., 3, 3]``: the rotation that best aligns ``K`` learned reference vectors with ``K``
    vectors made from the features (weighted Kabsch without translation).

    ``R(x g^T) = g R(x)`` for every rotation ``g``; reflections cannot be represented by a rotation, so the head
    is SO(3)- and not O(3)-equivariant. ``K >= 2`` non-parallel outputs are needed for a unique rotation.
    """

    def __init__(self, channels: int, num_vectors: int = 3):
        super().__init__()
        if num_vectors < 2:
            raise ValueError(
                f"num_vectors: expected at least 2 (one vector does not fix a rotation), got {num_vectors}"
            )
        self.vectors = VNLinear(channels, num_vectors)
        self.reference = torch.nn.Parameter(torch.randn(num_vectors, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.vectors(x)  # [..., K, 3]
        # argmin_R Σ_k |R r_k - y_k|² over rotations: the special Procrustes solution of Σ_k y_k r_k^T
        return special_procrustes(y.transpose(-1, -2) @ self.reference.to(y.dtype))


def vn_centre(x: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Subtract the mean over ``dim`` (the points of ``x [..., n, C, 3]`` by default): translation invariance."""
    return x - x.mean(dim, keepdim=True)


def vectors_to_irreps(x: torch.Tensor) -> torch.Tensor:
    """``[..., C, 3]`` Cartesian vectors -> ``[..., 3 C]`` in the e3nn layout of ``C x 1o``.

    The real spherical harmonics of degree 1 are proportional to ``(x, y, z)`` in this library (and in e3nn),
    so the Wigner-D matrix of ``1o`` is ``R`` itself and the conversion only changes the layout.
    """
    x = _check_vectors("x", x)
    return x.flatten(-2)


def irreps_to_vectors(x: torch.Tensor) -> torch.Tensor:
    """``[..., 3 C]`` (e3nn layout of ``C x 1o`` or ``C x 1e``) -> ``[..., C, 3]`` Cartesian vectors."""
    x = check_tensor("x", x, min_dim=1)
    if x.shape[-1] % 3:
        raise ValueError(f"x: expected [..., 3 C] (C x 1o in the e3nn layout), got {tuple(x.shape)}")
    return x.unflatten(-1, (-1, 3))


def vectors_to_spherical_tensor(x: torch.Tensor) -> torch.Tensor:
    """``[..., C, 3]`` -> spherical tensor ``[..., 4, C]`` of degree 1 (the degree-0 row is zero)."""
    x = _check_vectors("x", x)
    l1 = x.transpose(-1, -2)
    return torch.cat([torch.zeros_like(l1[..., :1, :]), l1], -2)


def spherical_tensor_to_vectors(x: torch.Tensor) -> torch.Tensor:
    """The degree-1 part of a spherical tensor ``[..., (L+1)**2, C]`` (``L >= 1``) as vectors ``[..., C, 3]``."""
    x = check_tensor("x", x, min_dim=2)
    if x.shape[-2] < 4 or math.isqrt(x.shape[-2]) ** 2 != x.shape[-2]:
        raise ValueError(f"x: expected a spherical tensor [..., (L+1)**2, C] with L >= 1, got {tuple(x.shape)}")
    return x[..., 1:4, :].transpose(-1, -2)
