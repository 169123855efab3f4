r"""Rotations in 3D: random sampling, conversions between parametrisations, distances and alignment.

Conventions:

- Rotation matrices act on column vectors: ``x' = R @ x`` (for row-stored points, ``x @ R.T``).
- Quaternions are scalar first, ``q = (w, x, y, z)`` with ``R(q) = R(-q)``; inputs need not be unit
  (they are normalised; a zero quaternion is an error).
- Euler angles are e3nn's ``(alpha, beta, gamma)``: ``R = R_y(alpha) R_x(beta) R_y(gamma)``.
- Axis-angle: a unit axis ``[..., 3]`` and an angle ``[...]`` (right-hand rule); a *rotation vector*
  is ``angle * axis``.
- The 6D representation (Zhou et al., CVPR 2019) holds two vectors ``a1, a2`` that Gram-Schmidt turns
  into ``b1 = a1/|a1|``, ``b2 ∝ a2 - (b1·a2) b1``, ``b3 = b1 × b2``. With ``convention="columns"``
  (the paper, and roma) they are the columns of ``R`` and the 6D vector is ``(R[:, 0], R[:, 1])``;
  with ``convention="rows"`` (PyTorch3D) they are its rows, ``(R[0], R[1])``.
"""

from __future__ import annotations

import torch

from .._checks import check_choice, check_last_dims, check_tensor

__all__ = [
    "random_rotation",
    "quaternion_to_matrix",
    "matrix_to_quaternion",
    "axis_angle_to_matrix",
    "rotation_vector_to_matrix",
    "matrix_to_rotation_vector",
    "matrix_to_axis_angle",
    "angles_to_matrix",
    "matrix_to_angles",
    "rotation_6d_to_matrix",
    "matrix_to_rotation_6d",
    "geodesic_angle",
    "special_procrustes",
    "kabsch",
]


def _check_matrix(name: str, R: torch.Tensor) -> None:
    check_tensor(name, R, min_dim=2)
    check_last_dims(name, R, (3, 3), "3x3 rotation matrices")


def random_rotation(
    *shape: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Rotation matrices ``[*shape, 3, 3]`` drawn from the Haar (uniform) measure on SO(3).

    A normalised 4D Gaussian is a uniform unit quaternion, whose matrix is Haar distributed.
    """
    q = torch.randn(*shape, 4, dtype=dtype, device=device, generator=generator)
    return quaternion_to_matrix(q)


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` quaternions ``(w, x, y, z)`` (normalised here) -> ``[..., 3, 3]`` rotation matrices."""
    check_tensor("q", q, min_dim=1)
    check_last_dims("q", q, (4,), "quaternions (w, x, y, z)")
    norm2 = (q * q).sum(-1, keepdim=True)
    if not torch.compiler.is_compiling() and bool((norm2 == 0).any()):
        raise ValueError("q: expected non-zero quaternions, got a quaternion of norm 0")
    q = q / torch.sqrt(norm2)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(q.shape[:-1] + (3, 3))  # fmt: skip


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """``[..., 3, 3]`` rotation matrices -> unit quaternions ``[..., 4]`` ``(w, x, y, z)`` with ``w >= 0``.

    Shepperd's method: of the four algebraically equal formulas, each entry uses the one with the
    largest denominator, so the result is accurate and differentiable everywhere.
    """
    _check_matrix("R", R)
    m = R
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # candidate 4 * q_k * q for k = w, x, y, z
    candidates = torch.stack(
        [
            torch.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                         m[..., 1, 0] - m[..., 0, 1]], -1),
            torch.stack([m[..., 2, 1] - m[..., 1, 2], 1 + 2 * m[..., 0, 0] - trace,
                         m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
            torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                         1 + 2 * m[..., 1, 1] - trace, m[..., 1, 2] + m[..., 2, 1]], -1),
            torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0],
                         m[..., 1, 2] + m[..., 2, 1], 1 + 2 * m[..., 2, 2] - trace], -1),
        ],
        dim=-2,
    )  # fmt: skip
    # 4 q_k^2 is the k-th diagonal entry of the candidates: pick the largest
    best = torch.argmax(torch.diagonal(candidates, dim1=-2, dim2=-1), dim=-1)
    chosen = torch.gather(candidates, -2, best[..., None, None].expand(best.shape + (1, 4))).squeeze(-2)
    q = chosen / torch.linalg.vector_norm(chosen, dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation by ``angle [...]`` about ``axis [..., 3]`` (normalised here) -> ``[..., 3, 3]``."""
    check_tensor("axis", axis, min_dim=1)
    check_last_dims("axis", axis, (3,), "rotation axes")
    check_tensor("angle", angle)
    norm = torch.linalg.vector_norm(axis, dim=-1, keepdim=True)
    if not torch.compiler.is_compiling() and bool((norm == 0).any()):
        raise ValueError("axis: expected non-zero rotation axes, got an axis of length 0")
    half = angle[..., None] / 2
    q = torch.cat([torch.cos(half), torch.sin(half) * axis / norm], dim=-1)
    return quaternion_to_matrix(q)


def rotation_vector_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rotation vectors ``angle * axis [..., 3]`` -> ``[..., 3, 3]`` (smooth at the zero vector)."""
    check_tensor("rotvec", rotvec, min_dim=1)
    check_last_dims("rotvec", rotvec, (3,), "rotation vectors")
    theta2 = (rotvec * rotvec).sum(-1, keepdim=True)
    small = theta2 < 1e-8
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    # sin(θ/2)/θ and cos(θ/2), with Taylor series near 0
    sinc_half = torch.where(small, 0.5 - theta2 / 48, torch.sin(theta / 2) / theta)
    cos_half = torch.where(small, 1 - theta2 / 8, torch.cos(theta / 2))
    return quaternion_to_matrix(torch.cat([cos_half, sinc_half * rotvec], dim=-1))


def matrix_to_rotation_vector(R: torch.Tensor) -> torch.Tensor:
    """``[..., 3, 3]`` rotation matrices -> rotation vectors ``[..., 3]`` with angle in ``[0, π]``."""
    q = matrix_to_quaternion(R)
    w, v = q[..., :1], q[..., 1:]
    s2 = (v * v).sum(-1, keepdim=True)
    small = s2 < 1e-12
    s = torch.sqrt(torch.where(small, torch.ones_like(s2), s2))
    angle = 2 * torch.atan2(s, w)
    factor = torch.where(small, 2 / w * (1 - s2 / (3 * w * w)), angle / s)  # Taylor series of 2 atan2(s, w) / s
    return factor * v


def matrix_to_axis_angle(R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[..., 3, 3]`` -> ``(axis [..., 3], angle [...])``; the axis is arbitrary (``x``) for the identity."""
    rotvec = matrix_to_rotation_vector(R)
    angle = torch.linalg.vector_norm(rotvec, dim=-1)
    safe = torch.where(angle > 0, angle, torch.ones_like(angle))[..., None]
    default = torch.zeros_like(rotvec)
    default[..., 0] = 1
    axis = torch.where(angle[..., None] > 0, rotvec / safe, default)
    return axis, angle


def _matrix_x(angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(angle.shape + (3, 3))


def _matrix_y(angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(angle.shape + (3, 3))


def angles_to_matrix(alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """e3nn Euler angles -> ``R_y(alpha) R_x(beta) R_y(gamma)`` ``[..., 3, 3]`` (inputs broadcast)."""
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        check_tensor(name, value)
    alpha, beta, gamma = torch.broadcast_tensors(alpha, beta, gamma)
    return _matrix_y(alpha) @ _matrix_x(beta) @ _matrix_y(gamma)


def matrix_to_angles(R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``[..., 3, 3]`` rotation matrices -> e3nn Euler angles ``(alpha, beta, gamma)``, each ``[...]``.

    ``beta`` is in ``[0, π]``; at ``beta = 0`` or ``π`` (gimbal lock) ``alpha`` is set by convention.
    """
    _check_matrix("R", R)
    v = R[..., :, 1]  # image of the y axis = R_y(alpha) R_x(beta) e_y
    beta = torch.atan2(torch.linalg.vector_norm(v[..., [0, 2]], dim=-1), v[..., 1])
    alpha = torch.atan2(v[..., 0], v[..., 2])
    rest = (_matrix_y(alpha) @ _matrix_x(beta)).transpose(-1, -2) @ R  # = R_y(gamma)
    gamma = torch.atan2(rest[..., 0, 2], rest[..., 0, 0])
    return alpha, beta, gamma


def rotation_6d_to_matrix(d6: torch.Tensor, convention: str = "columns") -> torch.Tensor:
    """Continuous 6D representation ``[..., 6]`` -> rotation matrices ``[..., 3, 3]`` (Gram-Schmidt).

    Args:
        d6: ``(a1, a2)`` concatenated; ``a1`` and ``a2`` must be linearly independent.
        convention: ``"columns"`` (``b1, b2, b3`` are the columns of ``R``) or ``"rows"``.
    """
    check_tensor("d6", d6, min_dim=1)
    check_last_dims("d6", d6, (6,), "two 3-vectors (a1, a2)")
    check_choice("convention", convention, ("columns", "rows"))
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / torch.linalg.vector_norm(a1, dim=-1, keepdim=True)
    u2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = u2 / torch.linalg.vector_norm(u2, dim=-1, keepdim=True)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1 if convention == "columns" else -2)


def matrix_to_rotation_6d(R: torch.Tensor, convention: str = "columns") -> torch.Tensor:
    """Rotation matrices ``[..., 3, 3]`` -> 6D representation ``[..., 6]`` (inverse of ``rotation_6d_to_matrix``)."""
    _check_matrix("R", R)
    check_choice("convention", convention, ("columns", "rows"))
    if convention == "columns":
        return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)
    return torch.cat([R[..., 0, :], R[..., 1, :]], dim=-1)


def geodesic_angle(R1: torch.Tensor, R2: torch.Tensor | None = None) -> torch.Tensor:
    """Angle ``[...]`` in ``[0, π]`` of the rotation ``R1^T R2`` (of ``R1`` alone if ``R2`` is None).

    Uses ``atan2(|vee(M - M^T)| / 2, (tr M - 1) / 2)``, accurate near 0 and π where ``arccos`` is not,
    with finite gradients there (and zero gradient at exactly the identity).
    """
    _check_matrix("R1", R1)
    M = R1
    if R2 is not None:
        _check_matrix("R2", R2)
        M = R1.transpose(-1, -2) @ R2
    vee = torch.stack([M[..., 2, 1] - M[..., 1, 2], M[..., 0, 2] - M[..., 2, 0], M[..., 1, 0] - M[..., 0, 1]], -1)
    s2 = (vee * vee).sum(-1)
    nonzero = s2 > 0
    sin = torch.where(nonzero, torch.sqrt(torch.where(nonzero, s2, torch.ones_like(s2))), torch.zeros_like(s2)) / 2
    cos = (M[..., 0, 0] + M[..., 1, 1] + M[..., 2, 2] - 1) / 2
    return torch.atan2(sin, cos)


def special_procrustes(M: torch.Tensor) -> torch.Tensor:
    """The rotation nearest to ``M [..., 3, 3]`` in Frobenius norm: ``U diag(1, 1, det(U V^T)) V^T``."""
    _check_matrix("M", M)
    U, _, Vh = torch.linalg.svd(M)
    d = torch.sign(torch.linalg.det(U @ Vh))
    d = torch.where(d == 0, torch.ones_like(d), d)
    scale = torch.ones(M.shape[:-2] + (3,), dtype=M.dtype, device=M.device)
    scale = torch.cat([scale[..., :2], d[..., None]], dim=-1)
    return (U * scale[..., None, :]) @ Vh


def kabsch(P: torch.Tensor, Q: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Optimal rigid alignment (Kabsch / special orthogonal Procrustes).

    Finds the rotation ``R`` and translation ``t`` that minimise ``Σ_i w_i |R p_i + t - q_i|²``.

    Args:
        P: ``[..., N, 3]`` points to move.
        Q: ``[..., N, 3]`` target points.
        weights: optional ``[..., N]`` non-negative weights (default: all ones).

    Returns:
        ``R [..., 3, 3]`` and ``t [..., 3]``, so that ``P @ R.mT + t[..., None, :]`` is aligned with ``Q``.
    """
    check_tensor("P", P, min_dim=2)
    check_tensor("Q", Q, min_dim=2)
    check_last_dims("P", P, (3,), "points")
    if P.shape != Q.shape:
        raise ValueError(f"Q: expected the shape of P {tuple(P.shape)}, got {tuple(Q.shape)}")
    if weights is None:
        weights = torch.ones(P.shape[:-1], dtype=P.dtype, device=P.device)
    else:
        check_tensor("weights", weights)
        if weights.shape != P.shape[:-1]:
            raise ValueError(f"weights: expected shape {tuple(P.shape[:-1])}, got {tuple(weights.shape)}")
    w = (weights / weights.sum(-1, keepdim=True))[..., None]
    p0 = (w * P).sum(-2, keepdim=True)
    q0 = (w * Q).sum(-2, keepdim=True)
    H = ((Q - q0) * w).transpose(-1, -2) @ (P - p0)  # Σ w q p^T
    R = special_procrustes(H)
    t = q0.squeeze(-2) - (R @ p0.squeeze(-2)[..., None]).squeeze(-1)
    return R, t
