"""Clebsch-Gordan tensor product with e3nn's path semantics: the reference for every other product.

For each instruction ``(i1, i2, i_out, mode, has_weight[, path_weight])`` the output block ``i_out`` receives

    out[w, k] += c Σ W[...] Σ_ij C(l1, l2, l_out)[i, j, k] x1[u, i] x2[v, j]

with ``C`` = :func:`~torch_gaunt.so3.clebsch_gordan` (e3nn's ``wigner_3j``) and the weight/multiplicity pattern
of the mode: ``"uvw"`` (fully connected, ``W [mul1, mul2, mul_out]``), ``"uvu"`` (``W [mul1, mul2]``, output
channel ``u``) and ``"uuu"`` (channel-wise, ``W [mul]``). The path constant ``c = sqrt(alpha)`` follows e3nn:
``alpha`` is ``2 l_out + 1`` (``irrep_normalization="component"``), ``(2l1+1)(2l2+1)`` (``"norm"``) or 1
(``"none"``), divided by the number of elements summed into the output (``path_normalization="element"``), by
that of this path times the number of paths (``"path"``) or by nothing (``"none"``), times ``path_weight``.
Inputs and outputs use the e3nn layout ``[..., irreps.dim]``, so e3nn modules and ours are interchangeable.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._checks import check_choice, check_last_dims, check_same_dtype_device, check_tensor
from ..so3.coefficients import clebsch_gordan, triangle
from ..so3.irreps import Irreps, IrrepsLike

__all__ = ["CGTensorProduct", "Instruction", "channelwise_instructions", "fully_connected_instructions"]

_MODES = ("uvw", "uvu", "uuu")


class Instruction(NamedTuple):
    i_in1: int
    i_in2: int
    i_out: int
    connection_mode: str
    has_weight: bool
    path_weight: float = 1.0


def fully_connected_instructions(irreps_in1: Irreps, irreps_in2: Irreps, irreps_out: Irreps) -> list[Instruction]:
    """Every allowed ``uvw`` path (as e3nn's ``FullyConnectedTensorProduct``)."""
    return [
        Instruction(i1, i2, io, "uvw", True)
        for i1, (_, ir1) in enumerate(irreps_in1)
        for i2, (_, ir2) in enumerate(irreps_in2)
        for io, (_, ir_out) in enumerate(irreps_out)
        if ir_out in ir1 * ir2
    ]


def channelwise_instructions(
    irreps_in1: Irreps, irreps_in2: Irreps, irreps_out: Irreps, has_weight: bool = True, even_only: bool = False
) -> list[Instruction]:
    """Every allowed ``uuu`` path between blocks of equal multiplicity; ``even_only`` keeps ``l1+l2+l3`` even
    (the paths of a Gaunt product)."""
    return [
        Instruction(i1, i2, io, "uuu", has_weight)
        for i1, (m1, ir1) in enumerate(irreps_in1)
        for i2, (m2, ir2) in enumerate(irreps_in2)
        for io, (mo, ir_out) in enumerate(irreps_out)
        if m1 == m2 == mo and ir_out in ir1 * ir2 and not (even_only and (ir1.l + ir2.l + ir_out.l) % 2)
    ]


class CGTensorProduct(torch.nn.Module):
    """Reference Clebsch-Gordan tensor product with e3nn's instruction semantics.

    Args:
        irreps_in1, irreps_in2, irreps_out: e3nn irreps of ``x1 [..., dim1]``, ``x2 [..., dim2]`` and the output.
        instructions: list of ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])``, modes ``uvw``,
            ``uvu``, ``uuu``.
        irrep_normalization: ``"component"``, ``"norm"`` or ``"none"``.
        path_normalization: ``"element"``, ``"path"`` or ``"none"``.
        internal_weights: hold the weights as a parameter (standard normal, as e3nn). If False, pass
            ``weight [..., weight_numel]`` to ``forward``.
    """

    def __init__(
        self,
        irreps_in1: IrrepsLike,
        irreps_in2: IrrepsLike,
        irreps_out: IrrepsLike,
        instructions: list,
        irrep_normalization: str = "component",
        path_normalization: str = "element",
        internal_weights: bool = True,
    ):
        super().__init__()
        self.irreps_in1, self.irreps_in2, self.irreps_out = Irreps(irreps_in1), Irreps(irreps_in2), Irreps(irreps_out)
        check_choice("irrep_normalization", irrep_normalization, ("component", "norm", "none"))
        check_choice("path_normalization", path_normalization, ("element", "path", "none"))
        self.instructions = [self._check_instruction(Instruction(*ins)) for ins in instructions]
        self.path_constants = [
            self._path_constant(ins, irrep_normalization, path_normalization) for ins in self.instructions
        ]
        self.weight_shapes = [self._weight_shape(ins) for ins in self.instructions]
        self.weight_numel = sum(math.prod(s) for s in self.weight_shapes if s)
        self.internal_weights = internal_weights
        self.weight = torch.nn.Parameter(torch.randn(self.weight_numel)) if internal_weights else None

    def _ir(self, ins: Instruction) -> tuple[int, int, int]:
        return self.irreps_in1[ins.i_in1].ir.l, self.irreps_in2[ins.i_in2].ir.l, self.irreps_out[ins.i_out].ir.l

    def _check_instruction(self, ins: Instruction) -> Instruction:
        for name, i, irreps in (("i_in1", ins.i_in1, self.irreps_in1), ("i_in2", ins.i_in2, self.irreps_in2), ("i_out", ins.i_out, self.irreps_out)):  # fmt: skip
            if not 0 <= i < len(irreps):
                raise ValueError(
                    f"instructions: {name} = {i} is out of range for irreps {irreps} ({len(irreps)} entries)"
                )
        check_choice("instructions (connection mode)", ins.connection_mode, _MODES)
        (m1, ir1), (m2, ir2), (mo, iro) = (
            self.irreps_in1[ins.i_in1],
            self.irreps_in2[ins.i_in2],
            self.irreps_out[ins.i_out],
        )
        if ir1.p * ir2.p != iro.p or not triangle(ir1.l, ir2.l, iro.l):
            raise ValueError(f"instructions: {ir1} x {ir2} cannot produce {iro} (parity or triangle rule)")
        need = {"uvw": True, "uvu": m1 == mo, "uuu": m1 == m2 == mo}[ins.connection_mode]
        if not need:
            raise ValueError(
                f"instructions: mode {ins.connection_mode!r} needs matching multiplicities, got {m1}, {m2} -> {mo}"
            )
        if ins.connection_mode == "uvw" and not ins.has_weight:
            raise ValueError("instructions: mode 'uvw' needs has_weight=True (its weights map u, v to w)")
        return ins

    def _num_elements(self, ins: Instruction) -> int:
        m1, m2 = self.irreps_in1[ins.i_in1].mul, self.irreps_in2[ins.i_in2].mul
        return {"uvw": m1 * m2, "uvu": m2, "uuu": 1}[ins.connection_mode]

    def _path_constant(self, ins: Instruction, irrep_normalization: str, path_normalization: str) -> float:
        l1, l2, l3 = self._ir(ins)
        alpha = {"component": 2 * l3 + 1, "norm": (2 * l1 + 1) * (2 * l2 + 1), "none": 1}[irrep_normalization]
        same_out = [i for i in self.instructions if i.i_out == ins.i_out]
        if path_normalization == "element":
            x = sum(self._num_elements(i) for i in same_out)
        elif path_normalization == "path":
            x = self._num_elements(ins) * len(same_out)
        else:
            x = 1
        if x > 0:
            alpha /= x
        return math.sqrt(alpha * ins.path_weight)

    def _weight_shape(self, ins: Instruction) -> tuple[int, ...] | None:
        if not ins.has_weight:
            return None
        m1, m2, mo = self.irreps_in1[ins.i_in1].mul, self.irreps_in2[ins.i_in2].mul, self.irreps_out[ins.i_out].mul
        return {"uvw": (m1, m2, mo), "uvu": (m1, m2), "uuu": (m1,)}[ins.connection_mode]

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x1 [..., dim1]``, ``x2 [..., dim2]`` (broadcasting), ``weight [..., weight_numel]`` -> ``[..., dim_out]``."""
        check_tensor("x1", x1, min_dim=1)
        check_tensor("x2", x2, min_dim=1)
        check_same_dtype_device(x1=x1, x2=x2)
        check_last_dims("x1", x1, (self.irreps_in1.dim,), f"irreps {self.irreps_in1}")
        check_last_dims("x2", x2, (self.irreps_in2.dim,), f"irreps {self.irreps_in2}")
        if weight is None:
            if self.weight is None and self.weight_numel > 0:
                raise ValueError(
                    f"weight: expected a tensor [..., {self.weight_numel}] (internal_weights=False), got None"
                )
            weight = self.weight
        elif weight.shape[-1] != self.weight_numel:
            raise ValueError(f"weight: expected shape [..., {self.weight_numel}], got {tuple(weight.shape)}")
        batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        blocks1 = [
            x1[..., sl].reshape(x1.shape[:-1] + (mul, ir.dim))
            for (mul, ir), sl in zip(self.irreps_in1, self.irreps_in1.slices())
        ]
        blocks2 = [
            x2[..., sl].reshape(x2.shape[:-1] + (mul, ir.dim))
            for (mul, ir), sl in zip(self.irreps_in2, self.irreps_in2.slices())
        ]
        outputs: list[torch.Tensor | None] = [None] * len(self.irreps_out)
        offset = 0
        for ins, shape, c in zip(self.instructions, self.weight_shapes, self.path_constants):
            cg = clebsch_gordan(*self._ir(ins), dtype=x1.dtype, device=x1.device)  # exact, cached per dtype
            a, b = blocks1[ins.i_in1], blocks2[ins.i_in2]
            w = None
            if shape is not None:
                n = math.prod(shape)
                w = weight[..., offset : offset + n].reshape(weight.shape[:-1] + shape)
                offset += n
            mode = ins.connection_mode
            if mode == "uvw":
                out = torch.einsum("...uvk,...uvw->...wk", torch.einsum("...ui,...vj,ijk->...uvk", a, b, cg), w)
            elif mode == "uvu":
                out = torch.einsum("...ui,...vj,ijk->...uvk", a, b, cg)
                out = (out * w[..., None]).sum(-2) if w is not None else out.sum(-2)
            else:
                out = torch.einsum("...ui,...uj,ijk->...uk", a, b, cg)
                out = out * w[..., None] if w is not None else out
            out = c * out
            outputs[ins.i_out] = out if outputs[ins.i_out] is None else outputs[ins.i_out] + out
        parts = []
        for (mul, ir), out in zip(self.irreps_out, outputs):
            if out is None:
                parts.append(x1.new_zeros(batch + (mul * ir.dim,)))
            else:
                parts.append(out.expand(batch + out.shape[-2:]).reshape(batch + (mul * ir.dim,)))
        return torch.cat(parts, dim=-1) if parts else x1.new_zeros(batch + (0,))

    def extra_repr(self) -> str:
        return f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, {len(self.instructions)} paths, weight_numel={self.weight_numel}"
