r"""Wigner-D matrices of the real spherical-harmonic basis, for any degree.

``D^l(R)`` is the matrix with ``Y_l(R x) = D^l(R) Y_l(x)`` for all unit vectors ``x``. It is computed as
the exact projection

.. math::  D^l_{ab}(R) = \int_{S^2} Y_{la}(R x)\, Y_{lb}(x)\, d\Omega(x),

on a Gauss-Legendre product grid that integrates degree ``2l`` exactly, so it is consistent with
:func:`~torch_gaunt.so3.spherical_harmonics` to rounding error at every degree, differentiable (twice) in
``R``, and equal to e3nn's ``Irrep(l, p).D_from_matrix`` / ``wigner_D``. For an improper ``R``
(``det R = -1``) the rotation ``-R`` is used and the result is multiplied by the parity ``p``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._cache import cached_table
from .._checks import check_degree, check_last_dims, check_tensor
from .quadrature import exact_grid_size, sphere_grid_points
from .rotations import angles_to_matrix, axis_angle_to_matrix, quaternion_to_matrix
from .spherical_harmonics import spherical_harmonics

__all__ = [
    "wigner_D",
    "representation_matrix",
    "wigner_D_blocks",
    "wigner_D_matrix",
    "wigner_D_from_angles",
    "wigner_D_from_quaternion",
    "wigner_D_from_axis_angle",
]


@cached_table
def _projection_grid(lmax: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Grid points ``[G, 3]`` and weighted harmonics ``w Y [G, (lmax+1)**2]``, exact for degree ``2 lmax``."""
    points, weights = sphere_grid_points(*exact_grid_size(2 * lmax), dtype=torch.float64, device=device)
    points = points.reshape(-1, 3)
    weighted = weights.reshape(-1, 1) * spherical_harmonics(points, lmax)
    return points.to(dtype), weighted.to(dtype)


def wigner_D_blocks(lmax: int, R: torch.Tensor) -> list[torch.Tensor]:
    """``[D^0, D^1, ..., D^lmax]`` of the proper part of ``R``; ``D^l`` has shape ``[..., 2l+1, 2l+1]``.

    Args:
        lmax: largest degree.
        R: ``[..., 3, 3]`` orthogonal matrices; for ``det R < 0`` the rotation ``-R`` is used.
    """
    check_degree("lmax", lmax)
    check_tensor("R", R, min_dim=2)
    check_last_dims("R", R, (3, 3), "rotation matrices")
    det = torch.linalg.det(R.detach())
    R = torch.where((det < 0)[..., None, None], -R, R)
    points, weighted = _projection_grid(lmax, R.dtype, R.device)
    rotated = spherical_harmonics(points @ R.transpose(-1, -2), lmax)  # [..., G, (lmax+1)**2]
    blocks = []
    for l in range(lmax + 1):
        sl = slice(l * l, (l + 1) ** 2)
        blocks.append(torch.einsum("...ga,gb->...ab", rotated[..., sl], weighted[:, sl]))
    return blocks


def representation_matrix(irreps: Sequence[tuple[int, int]], R: torch.Tensor) -> torch.Tensor:
    """Block-diagonal representation of orthogonal matrices on a sum of irreps, one block per entry.

    The block of ``(l, p)`` is ``D^l(R)`` for ``det R > 0`` and ``p D^l(-R)`` for ``det R < 0`` (``-R`` is then a
    rotation). Every other representation matrix of the library (:func:`wigner_D`, :func:`wigner_D_matrix`,
    ``Irreps.D_from_matrix``) is this one.

    Args:
        irreps: ``(l, p)`` per block, in order (repeat an entry for multiplicities).
        R: ``[..., 3, 3]`` orthogonal matrices.

    Returns:
        ``[..., Σ (2l+1), Σ (2l+1)]``.
    """
    check_tensor("R", R, min_dim=2)
    check_last_dims("R", R, (3, 3), "rotation matrices")
    irreps = [(check_degree("l", l), p) for l, p in irreps]
    for _, p in irreps:
        if p not in (1, -1):
            raise ValueError(f"parity: expected +1 or -1, got {p!r}")
    if not irreps:
        return R.new_zeros(R.shape[:-2] + (0, 0))
    blocks = wigner_D_blocks(max(l for l, _ in irreps), R)
    improper = (torch.linalg.det(R.detach()) < 0)[..., None, None]
    odd = {l: torch.where(improper, -blocks[l], blocks[l]) for l, p in irreps if p == -1}
    mats = [odd[l] if p == -1 else blocks[l] for l, p in irreps]
    if len(mats) == 1:
        return mats[0]
    n = sum(m.shape[-1] for m in mats)
    out = mats[0].new_zeros(mats[0].shape[:-2] + (n, n))
    start = 0
    for m in mats:
        k = m.shape[-1]
        out[..., start : start + k, start : start + k] = m
        start += k
    return out


def wigner_D(l: int, R: torch.Tensor, parity: int = 1) -> torch.Tensor:
    """Real Wigner-D matrix ``[..., 2l+1, 2l+1]`` of degree ``l`` for ``R [..., 3, 3]``.

    ``parity`` (+1 or -1) multiplies the matrix of improper ``R``: use ``(-1)**l`` for spherical
    harmonics of a vector, so that ``D(R) Y(x) = Y(R x)`` holds for reflections too.
    """
    if parity not in (1, -1):
        raise ValueError(f"parity: expected +1 or -1, got {parity!r}")
    return representation_matrix([(l, parity)], R)


def wigner_D_matrix(lmax: int, R: torch.Tensor, p: int = 1) -> torch.Tensor:
    """Block-diagonal ``[..., (lmax+1)**2, (lmax+1)**2]`` acting on a spherical tensor's coefficient axis.

    Degree ``l`` has parity ``p (-1)**l`` (``p = 1``: ordinary, like spherical harmonics of a vector).
    Rotate a spherical tensor ``x [..., (L+1)**2, C]`` with ``D @ x``.
    """
    if p not in (1, -1):
        raise ValueError(f"p: expected +1 or -1, got {p!r}")
    return representation_matrix([(l, p * (-1) ** l) for l in range(check_degree("lmax", lmax) + 1)], R)


def wigner_D_from_angles(l: int, alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """``D^l`` of e3nn Euler angles ``R_y(alpha) R_x(beta) R_y(gamma)`` (as e3nn's ``wigner_D``)."""
    return wigner_D(l, angles_to_matrix(alpha, beta, gamma))


def wigner_D_from_quaternion(l: int, q: torch.Tensor) -> torch.Tensor:
    """``D^l`` of quaternions ``q [..., 4]`` ``(w, x, y, z)``."""
    return wigner_D(l, quaternion_to_matrix(q))


def wigner_D_from_axis_angle(l: int, axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """``D^l`` of the rotation by ``angle [...]`` about ``axis [..., 3]``."""
    return wigner_D(l, axis_angle_to_matrix(axis, angle))
