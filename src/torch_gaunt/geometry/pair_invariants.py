r"""Invariants of pairs of points, oriented points and poses (PONITA, Bekkers et al. ICLR 2024; the point-pair
features of Drost et al. 2010 used by RoITr).

A message from ``j`` to ``i`` in a rigid-motion invariant network may depend on the pair only through its
invariants. A set of invariants is *complete* when equal values imply that one pair is carried onto the other
by a rigid motion; otherwise the network cannot tell such pairs apart.

======================================  ==========  ====================================================
function                                 group       complete?
======================================  ==========  ====================================================
:func:`point_pair_invariants`            E(3)        yes: ``|p_j - p_i|``
:func:`ponita_invariants`                E(3)        **no** (3 numbers; the orbit space has dimension 4)
:func:`point_pair_features`              E(3)        yes for E(3) generically; mirror images share them
:func:`oriented_pair_invariants`         SE(3)       yes (SE(3): rotations and translations)
:func:`pose_pair_invariants`             SE(3)       yes
======================================  ==========  ====================================================

PONITA's three attributes of ``(p_i, o_i), (p_j, o_j)`` are ``o_i·d``, ``|d - (o_i·d) o_i|`` and the angle
between ``o_i`` and ``o_j`` (``d = p_j - p_i``). They miss where ``o_j`` points *around* ``o_i``: with
``p_i = 0, o_i = e_z, p_j = e_x`` the orientations ``o_j = (e_x + e_z)/√2`` and ``(e_y + e_z)/√2`` give the same
three numbers, but no rotation fixing ``p_i, o_i, p_j`` (hence none at all) maps one onto the other
(:func:`ponita_counterexample`). :func:`oriented_pair_invariants` adds ``o_j``'s components in the pair's own
frame, which closes the gap; its pseudoscalar component changes sign under reflections.

Angles are computed as ``atan2(|a × b|, a · b)``: accurate near 0 and π, where ``acos`` of a dot product
loses half the digits and has an infinite derivative.
"""

from __future__ import annotations

import torch

from .._checks import check_last_dims, check_tensor
from .._safe import safe_norm, safe_ratio

__all__ = [
    "angle_between",
    "point_pair_invariants",
    "ponita_invariants",
    "point_pair_features",
    "oriented_pair_invariants",
    "pose_pair_invariants",
    "ponita_counterexample",
]


def _vectors(**tensors: torch.Tensor) -> list[torch.Tensor]:
    out = []
    for name, v in tensors.items():
        check_tensor(name, v, min_dim=1)
        check_last_dims(name, v, (3,), "3-vectors")
        out.append(v)
    try:
        return list(torch.broadcast_tensors(*out))
    except RuntimeError as error:
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in tensors.items())
        raise ValueError(f"expected shapes that broadcast, got {shapes}") from error


def angle_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in ``[0, π]`` between ``a, b [..., 3]`` as ``atan2(|a × b|, a · b)``; returns ``[...]``."""
    a, b = _vectors(a=a, b=b)
    return torch.atan2(safe_norm(torch.linalg.cross(a, b)), (a * b).sum(-1))


def point_pair_invariants(p_i: torch.Tensor, p_j: torch.Tensor) -> torch.Tensor:
    """``[..., 1]``: the distance ``|p_j - p_i|`` of points ``[..., 3]``, the complete invariant of a pair in R^3."""
    p_i, p_j = _vectors(p_i=p_i, p_j=p_j)
    return safe_norm(p_j - p_i)[..., None]


def ponita_invariants(p_i: torch.Tensor, o_i: torch.Tensor, p_j: torch.Tensor, o_j: torch.Tensor) -> torch.Tensor:
    """PONITA's attributes of position-orientation pairs ``(p, o) ∈ R^3 x S^2`` (``o`` unit vectors ``[..., 3]``).

    Returns:
        ``[..., 3]``: ``o_i·d``, ``|d - (o_i·d) o_i|`` and ``angle(o_i, o_j)``, with ``d = p_j - p_i``.
        Invariant under rotations, reflections and translations, but not complete (see the module notes).
    """
    p_i, o_i, p_j, o_j = _vectors(p_i=p_i, o_i=o_i, p_j=p_j, o_j=o_j)
    d = p_j - p_i
    along = (o_i * d).sum(-1)
    across = safe_norm(d - along[..., None] * o_i)
    return torch.stack([along, across, angle_between(o_i, o_j)], -1)


def point_pair_features(p_i: torch.Tensor, n_i: torch.Tensor, p_j: torch.Tensor, n_j: torch.Tensor) -> torch.Tensor:
    """The point-pair feature of oriented points (Drost et al.; RoITr): ``[..., 4]``.

    ``(|d|, angle(n_i, d), angle(n_j, d), angle(n_i, n_j))`` with ``d = p_j - p_i``. Invariant under rigid
    motions and reflections; together they fix the pair up to E(3) except where ``n_i`` or ``n_j`` is parallel
    to ``d``. A pair and its mirror image have equal features, so they do not separate SE(3) orbits.
    """
    p_i, n_i, p_j, n_j = _vectors(p_i=p_i, n_i=n_i, p_j=p_j, n_j=n_j)
    d = p_j - p_i
    return torch.stack([safe_norm(d), angle_between(n_i, d), angle_between(n_j, d), angle_between(n_i, n_j)], -1)


def oriented_pair_invariants(
    p_i: torch.Tensor, o_i: torch.Tensor, p_j: torch.Tensor, o_j: torch.Tensor
) -> torch.Tensor:
    """A complete set of SE(3) invariants of position-orientation pairs (``o`` unit vectors ``[..., 3]``).

    In the frame of the pair (``e_3 = o_i``, ``e_1`` along the part of ``d = p_j - p_i`` across ``o_i``,
    ``e_2 = e_3 × e_1``) the invariants are ``d``'s two coordinates and ``o_j``'s three:

    Returns:
        ``[..., 5]``: ``(o_i·d, |d_⊥|, o_j·e_1, o_j·e_2, o_j·e_3)``; irreps ``0e + 0e + 0e + 0o + 0e`` under O(3)
        (``o_j·e_2`` is a triple product). Where ``d_⊥ = 0`` every rotation about ``o_i`` fixes the pair's first
        half and ``o_j`` is reported by its height and its distance from the axis: ``(.., 0, |o_j⊥|, 0, o_j·o_i)``
        (also where ``|d_⊥|`` is below rounding level relative to ``|d|``).
    """
    p_i, o_i, p_j, o_j = _vectors(p_i=p_i, o_i=o_i, p_j=p_j, o_j=o_j)
    d = p_j - p_i
    along = (o_i * d).sum(-1)
    d_across = d - along[..., None] * o_i
    across = safe_norm(d_across)
    # below rounding level d_across has no direction: treat the pair as on the axis
    axial = across <= 64 * torch.finfo(d.dtype).eps * safe_norm(d)
    across = torch.where(axial, torch.zeros_like(across), across)
    e1 = d_across * safe_ratio(torch.ones_like(across), across, 0.0)[..., None]
    e2 = torch.linalg.cross(o_i, e1)
    height = (o_j * o_i).sum(-1)
    c1, c2 = (o_j * e1).sum(-1), (o_j * e2).sum(-1)
    off_axis = safe_norm(o_j - height[..., None] * o_i)
    c1 = torch.where(axial, off_axis, c1)
    return torch.stack([along, across, c1, c2, height], -1)


def pose_pair_invariants(p_i: torch.Tensor, R_i: torch.Tensor, p_j: torch.Tensor, R_j: torch.Tensor) -> torch.Tensor:
    """The complete SE(3) invariant of two poses ``(p, R)`` (``p [..., 3]``, ``R [..., 3, 3]`` rotations).

    Returns:
        ``[..., 12]``: ``R_i^T (p_j - p_i)`` (3) and ``R_i^T R_j`` flattened row by row (9): the pose of ``j`` seen
        from ``i``, unchanged when both poses are moved by the same rigid motion ``(t, g)``: ``p -> g p + t``,
        ``R -> g R``.
    """
    p_i, p_j = _vectors(p_i=p_i, p_j=p_j)
    for name, R in (("R_i", R_i), ("R_j", R_j)):
        check_tensor(name, R, min_dim=2)
        check_last_dims(name, R, (3, 3), "rotation matrices")
    relative_position = (R_i.transpose(-1, -2) @ (p_j - p_i)[..., None])[..., 0]
    relative_rotation = (R_i.transpose(-1, -2) @ R_j).flatten(-2)
    batch = torch.broadcast_shapes(relative_position.shape[:-1], relative_rotation.shape[:-1])
    return torch.cat([relative_position.expand(*batch, 3), relative_rotation.expand(*batch, 9)], -1)


def ponita_counterexample(
    dtype: torch.dtype = torch.float64,
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Two position-orientation pairs with equal :func:`ponita_invariants` that no rigid motion relates.

    Returns:
        ``((p_i, o_i, p_j, o_j), (p_i, o_i, p_j, o_j'))``, each entry ``[3]``.
    """
    s = 2**-0.5
    p_i, o_i, p_j, o_j, o_j_turned = torch.tensor(
        [[0.0, 0, 0], [0, 0, 1], [1, 0, 0], [s, 0, s], [0, s, s]], dtype=dtype
    ).unbind(0)
    return (p_i, o_i, p_j, o_j), (p_i, o_i, p_j, o_j_turned)
