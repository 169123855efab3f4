"""Equivariant linear maps: channel mixing within each irrep (e3nn ``o3.Linear`` semantics).

:class:`Linear` works on the e3nn layout ``[..., irreps.dim]``: output block ``i_out`` is

    y_out = Σ_{i_in : ir_in = ir_out} x_in @ W[i_in, i_out] / sqrt(Σ_{paths into i_out} mul_in)  (+ b on 0e),

with ``W ~ N(0, 1)`` of shape ``[mul_in, mul_out]`` stored flat in e3nn's order, so weights copied from an
e3nn ``o3.Linear`` give the same outputs. :class:`SphericalLinear` is the same map for spherical tensors
``[..., (L+1)**2, C_in] -> [..., (L+1)**2, C_out]``: one ``[C_in, C_out]`` matrix per degree. :class:`PathLinear`
mixes the slots and channels of a per-path message ``[..., (L+1)**2, S, C_in]`` (one slot per path into each
degree, :func:`~torch_gaunt.products.path_convolution`) into ``[..., (L+1)**2, C_out]``.
"""

from __future__ import annotations

import math

import torch

from .._checks import check_last_dims, check_spherical_tensor, check_tensor
from ..so3.irreps import Irreps, IrrepsLike
from ..so3.spherical_tensor import degree_index

__all__ = ["Linear", "SphericalLinear", "PathLinear"]


class Linear(torch.nn.Module):
    """``[..., irreps_in.dim] -> [..., irreps_out.dim]``, mixing the copies of each irrep (e3nn ``o3.Linear``).

    Args:
        irreps_in, irreps_out: e3nn irreps.
        biases: add a learnable bias (initialised to zero) to the ``0e`` outputs.
    """

    def __init__(self, irreps_in: IrrepsLike, irreps_out: IrrepsLike, biases: bool = False):
        super().__init__()
        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        self.paths = [
            (i_in, i_out)
            for i_in, (_, ir_in) in enumerate(self.irreps_in)
            for i_out, (_, ir_out) in enumerate(self.irreps_out)
            if ir_in == ir_out
        ]
        fan_in = {i_out: sum(self.irreps_in[i].mul for i, o in self.paths if o == i_out) for _, i_out in self.paths}
        self.path_constants = [1 / math.sqrt(fan_in[i_out]) if fan_in[i_out] else 1.0 for _, i_out in self.paths]
        self.weight_numel = sum(self.irreps_in[i].mul * self.irreps_out[o].mul for i, o in self.paths)
        self.weight = torch.nn.Parameter(torch.randn(self.weight_numel))
        self.bias_blocks = [i for i, (_, ir) in enumerate(self.irreps_out) if biases and ir.is_scalar()]
        bias_numel = sum(self.irreps_out[i].mul for i in self.bias_blocks)
        self.bias = torch.nn.Parameter(torch.zeros(bias_numel)) if bias_numel else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_dim=1)
        check_last_dims("x", x, (self.irreps_in.dim,), f"irreps {self.irreps_in}")
        batch = x.shape[:-1]
        weight = self.weight.to(x.dtype)
        inputs = [
            x[..., sl].reshape(batch + (mul, ir.dim)) for (mul, ir), sl in zip(self.irreps_in, self.irreps_in.slices())
        ]
        outputs: list[torch.Tensor | None] = [None] * len(self.irreps_out)
        offset = 0
        for (i_in, i_out), c in zip(self.paths, self.path_constants):
            m_in, m_out = self.irreps_in[i_in].mul, self.irreps_out[i_out].mul
            W = weight[offset : offset + m_in * m_out].view(m_in, m_out)
            offset += m_in * m_out
            y = c * torch.einsum("...ui,uw->...wi", inputs[i_in], W)
            outputs[i_out] = y if outputs[i_out] is None else outputs[i_out] + y
        offset = 0
        for i_out in self.bias_blocks:
            m = self.irreps_out[i_out].mul
            b = self.bias[offset : offset + m].to(x.dtype)[:, None]
            offset += m
            outputs[i_out] = b.expand(batch + (m, 1)) if outputs[i_out] is None else outputs[i_out] + b
        parts = [
            x.new_zeros(batch + (mul * ir.dim,)) if out is None else out.reshape(batch + (mul * ir.dim,))
            for (mul, ir), out in zip(self.irreps_out, outputs)
        ]
        return torch.cat(parts, dim=-1) if parts else x.new_zeros(batch + (0,))

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}, {len(self.paths)} paths, weight_numel={self.weight_numel}"


class SphericalLinear(torch.nn.Module):
    """Per-degree channel mixing of spherical tensors: ``[..., (L+1)**2, C_in] -> [..., (L+1)**2, C_out]``.

    ``y[..., lm, d] = Σ_c x[..., lm, c] W[l, c, d] / sqrt(C_in)`` (+ ``b[d]`` on ``l = 0`` if ``bias``), with
    ``W ~ N(0, 1)``: the e3nn ``Linear`` between ``C_in x l`` and ``C_out x l`` for every degree.
    """

    def __init__(self, lmax: int, channels_in: int, channels_out: int, bias: bool = False):
        super().__init__()
        self.lmax, self.channels_in, self.channels_out = lmax, channels_in, channels_out
        self.weight = torch.nn.Parameter(torch.randn(lmax + 1, channels_in, channels_out))
        self.bias = torch.nn.Parameter(torch.zeros(channels_out)) if bias else None
        self.register_buffer("degree_index", degree_index(lmax).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_spherical_tensor("x", x, lmax=self.lmax, channels=self.channels_in)
        W = self.weight.to(x.dtype)[self.degree_index] / math.sqrt(self.channels_in)  # [K, C_in, C_out]
        y = torch.einsum("...kc,kcd->...kd", x, W)
        if self.bias is not None:
            y = torch.cat([y[..., :1, :] + self.bias.to(x.dtype), y[..., 1:, :]], dim=-2)
        return y

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}, {self.channels_in} -> {self.channels_out}, bias={self.bias is not None}"


class PathLinear(torch.nn.Module):
    """Per-degree mixing of path slots and channels: ``[..., (L+1)**2, S, C_in] -> [..., (L+1)**2, C_out]``.

    ``y[..., lm, d] = Σ_{s < P_l, c} x[..., lm, s, c] W_l[s, c, d] / sqrt(P_l C_in)`` with ``W_l ~ N(0, 1)`` of shape
    ``[P_l, C_in, C_out]``, where ``P_l = slots_per_degree[l]`` (slots ``s >= P_l`` of degree ``l`` are empty and
    have no weights). This is e3nn's ``Linear`` from the ``P_l x C_in`` copies of degree ``l`` (MACE's linear
    after its convolution).
    """

    def __init__(self, slots_per_degree: tuple[int, ...] | list[int], channels_in: int, channels_out: int):
        super().__init__()
        self.slots_per_degree = tuple(int(p) for p in slots_per_degree)
        if not self.slots_per_degree or min(self.slots_per_degree) < 1:
            raise ValueError(f"slots_per_degree: expected at least one slot for each degree, got {slots_per_degree!r}")
        self.lmax, self.num_slots = len(self.slots_per_degree) - 1, max(self.slots_per_degree)
        self.channels_in, self.channels_out = channels_in, channels_out
        self.weight = torch.nn.Parameter(torch.randn(sum(self.slots_per_degree) * channels_in, channels_out))
        used = torch.zeros(self.lmax + 1, self.num_slots, channels_in, dtype=torch.bool)
        scale = torch.zeros(self.lmax + 1, 1, 1, dtype=torch.float64)
        for l, p in enumerate(self.slots_per_degree):
            used[l, :p] = True
            scale[l] = 1 / math.sqrt(p * channels_in)
        self.register_buffer("used", used.reshape(self.lmax + 1, -1), persistent=False)
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("degree_index", degree_index(self.lmax).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_dim=3)
        check_last_dims(
            "x", x, ((self.lmax + 1) ** 2, self.num_slots, self.channels_in), f"degree {self.lmax}, slots and channels"
        )
        W = x.new_zeros(self.lmax + 1, self.num_slots * self.channels_in, self.channels_out)
        W = W.index_put((self.used,), self.weight.to(x.dtype)) * self.scale.to(x.dtype)
        flat = x.reshape(x.shape[:-2] + (self.num_slots * self.channels_in,))
        return torch.einsum("...kc,kcd->...kd", flat, W[self.degree_index])

    def extra_repr(self) -> str:
        return f"slots_per_degree={self.slots_per_degree}, {self.channels_in} -> {self.channels_out}"
