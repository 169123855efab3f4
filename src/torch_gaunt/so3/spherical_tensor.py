"""The spherical-tensor layout ``[..., (L+1)**2, C]`` and converters to and from the e3nn layout.

A spherical tensor of degree ``L`` holds, for each of ``C`` channels, the real-SH coefficients of one
function on the sphere: coefficient ``(l, m)`` sits at index ``l*l + l + m`` (``m = -l..l``), channels
last. Its irreps are ``C x l p_l`` for ``l = 0..L``; usually ``p_l = p (-1)**l`` with ``p = +1``
(ordinary, ``0e + 1o + 2e + ...``) or ``p = -1`` (pseudo, ``0o + 1e + 2o + ...``).

>>> import torch
>>> irreps = Irreps("4x0e + 4x1o + 4x2e")
>>> x = torch.randn(10, irreps.dim)
>>> t = irreps_to_spherical_tensor(x, irreps)
>>> t.shape
torch.Size([10, 9, 4])
>>> torch.equal(spherical_tensor_to_irreps(t, irreps), x)
True
"""

from __future__ import annotations

import torch

from .._cache import cached_table
from .._checks import check_degree, check_tensor, square_degree
from .irreps import Irrep, Irreps, IrrepsLike

__all__ = [
    "num_coefficients",
    "degree_of",
    "degree_slice",
    "degree_index",
    "lm_index",
    "spherical_tensor_irreps",
    "spherical_tensor_layout",
    "irreps_to_spherical_tensor",
    "spherical_tensor_to_irreps",
]


def num_coefficients(lmax: int) -> int:
    """Number of real-SH coefficients up to degree ``lmax``: ``(lmax + 1)**2``."""
    return (check_degree("lmax", lmax) + 1) ** 2


def degree_of(num: int, name: str = "coefficient axis") -> int:
    """Degree ``L`` of a coefficient axis of size ``num = (L + 1)**2``; ``ValueError`` if not a square."""
    L = square_degree(num)
    if L < 0:
        raise ValueError(f"{name}: expected a size (L+1)**2 (1, 4, 9, 16, ...), got {num}")
    return L


def degree_slice(l: int) -> slice:
    """Slice of degree ``l`` in the coefficient axis: ``l*l : (l+1)**2``."""
    l = check_degree("l", l)
    return slice(l * l, (l + 1) ** 2)


def degree_index(lmax: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The degree ``l`` of each coefficient, ``[(lmax+1)**2]`` (long): ``w.index_select(0, degree_index(L))``
    spreads per-degree values ``w [L+1, ...]`` over the coefficient axis. Cached; do not modify it."""
    return _degree_index(
        check_degree("lmax", lmax), torch.device(device) if device is not None else torch.device("cpu")
    )


def _build_degree_index(lmax: int, device: torch.device) -> torch.Tensor:
    return torch.repeat_interleave(torch.arange(lmax + 1), torch.arange(1, 2 * lmax + 2, 2)).to(device)


_degree_index = cached_table(_build_degree_index)


def lm_index(l: int, m: int) -> int:
    """Index of ``(l, m)`` in the coefficient axis: ``l*l + l + m``."""
    l = check_degree("l", l)
    if not -l <= m <= l:
        raise ValueError(f"m: expected -{l} <= m <= {l} for l = {l}, got {m}")
    return l * l + l + m


def spherical_tensor_irreps(lmax: int, channels: int = 1, p: int = 1) -> Irreps:
    """Irreps ``C x 0 + C x 1 + ... + C x L`` with parity ``p (-1)**l`` for degree ``l``.

    >>> spherical_tensor_irreps(2, 8)
    Irreps('8x0e+8x1o+8x2e')
    >>> spherical_tensor_irreps(1, 1, p=-1)
    Irreps('1x0o+1x1e')
    """
    check_degree("lmax", lmax)
    if p not in (1, -1):
        raise ValueError(f"p: expected +1 or -1, got {p!r}")
    return Irreps([(channels, Irrep(l, p * (-1) ** l)) for l in range(lmax + 1)])


def spherical_tensor_layout(irreps: IrrepsLike) -> tuple[int, int]:
    """``(lmax, channels)`` of the spherical tensor that holds ``irreps``.

    Every degree present must have the same total multiplicity ``C``; degrees that are absent
    are zero in the spherical tensor. Raises ``ValueError`` otherwise.
    """
    irreps = Irreps(irreps)
    if irreps.dim == 0:
        raise ValueError(f"irreps: expected at least one irrep with multiplicity > 0, got {irreps!r}")
    muls: dict[int, int] = {}
    for mul, ir in irreps:
        muls[ir.l] = muls.get(ir.l, 0) + mul
    present = {l: m for l, m in muls.items() if m > 0}
    channels = set(present.values())
    if len(channels) != 1:
        raise ValueError(
            f"irreps: a spherical tensor needs the same multiplicity for every degree, got {irreps} "
            f"(multiplicity per degree {present})"
        )
    return max(present), channels.pop()


def _block_positions(irreps: Irreps) -> list[tuple[slice, int, int, int]]:
    """For each ``mul x irrep``: (slice in e3nn layout, l, first channel, mul)."""
    channel_start: dict[int, int] = {}
    out = []
    for (mul, ir), sl in zip(irreps, irreps.slices()):
        c0 = channel_start.get(ir.l, 0)
        channel_start[ir.l] = c0 + mul
        if mul > 0:
            out.append((sl, ir.l, c0, mul))
    return out


def irreps_to_spherical_tensor(x: torch.Tensor, irreps: IrrepsLike) -> torch.Tensor:
    """Convert a tensor in the e3nn layout to a spherical tensor.

    Args:
        x: ``[..., irreps.dim]``, blocks ``[mul, 2l + 1]`` flattened multiplicity-first (e3nn).
        irreps: irreps of ``x``; each degree present must have the same total multiplicity ``C``
            (several entries of one degree are stacked along the channels in order).

    Returns:
        ``[..., (L + 1)**2, C]`` with ``L = irreps.lmax``; absent degrees are zero.
    """
    irreps = Irreps(irreps)
    check_tensor("x", x, min_dim=1)
    if x.shape[-1] != irreps.dim:
        raise ValueError(f"x: expected shape [..., {irreps.dim}] for irreps {irreps}, got {tuple(x.shape)}")
    lmax, channels = spherical_tensor_layout(irreps)
    batch = x.shape[:-1]
    blocks: dict[int, list[torch.Tensor]] = {}
    for sl, l, _, mul in _block_positions(irreps):
        blocks.setdefault(l, []).append(x[..., sl].reshape(batch + (mul, 2 * l + 1)))
    out = []
    for l in range(lmax + 1):
        if l in blocks:
            out.append(torch.cat(blocks[l], dim=-2).transpose(-1, -2))
        else:
            out.append(x.new_zeros(batch + (2 * l + 1, channels)))
    return torch.cat(out, dim=-2)


def spherical_tensor_to_irreps(t: torch.Tensor, irreps: IrrepsLike) -> torch.Tensor:
    """Convert a spherical tensor to the e3nn layout of ``irreps`` (inverse of :func:`irreps_to_spherical_tensor`).

    Args:
        t: ``[..., (L + 1)**2, C]`` with ``L >= irreps.lmax`` and ``C`` the multiplicity per degree.
        irreps: target irreps (same rules as :func:`irreps_to_spherical_tensor`).

    Returns:
        ``[..., irreps.dim]``.
    """
    irreps = Irreps(irreps)
    check_tensor("t", t, min_dim=2)
    lmax, channels = spherical_tensor_layout(irreps)
    L = degree_of(t.shape[-2], "t (coefficient axis -2)")
    if L < lmax or t.shape[-1] != channels:
        raise ValueError(
            f"t: expected shape [..., >= {(lmax + 1) ** 2}, {channels}] for irreps {irreps}, got {tuple(t.shape)}"
        )
    batch = t.shape[:-2]
    parts = []
    for _, l, c0, mul in _block_positions(irreps):
        block = t[..., l * l : (l + 1) ** 2, c0 : c0 + mul]
        parts.append(block.transpose(-1, -2).reshape(batch + (mul * (2 * l + 1),)))
    return torch.cat(parts, dim=-1)
