r"""Frame averaging (Puny et al., ICLR 2022) and one-frame canonicalisation of point clouds.

Any network ``φ`` becomes exactly invariant or equivariant if it is evaluated in the coordinate frames of the
input and its outputs are mapped back and averaged:

.. math::  \langle φ \rangle(X) = \frac{1}{|F(X)|} \sum_{(Q, t) \in F(X)} ρ_{out}(Q)\, φ\big((X - t) Q\big).

The frames ``F(X)`` of a point cloud ``X [n, 3]`` come from principal component analysis: ``t`` is the centroid
and the columns of ``Q`` the eigenvectors of the covariance ``(X - t)^T (X - t)``, largest eigenvalue first. An
eigenvector's sign is arbitrary, so all sign choices are kept: 8 frames for O(3) (``group="O3"``, rotations
and reflections) and the 4 with ``det Q = +1`` for SO(3). Rotating the cloud by ``g`` rotates the set of frames,
``F(g X) = g F(X)``, which makes the average exact. It fails where two eigenvalues are (nearly) equal: the
eigenvectors are then not determined by the cloud, and :func:`pca_frames` warns
(:class:`DegenerateFrameWarning`).

``ρ_out`` is the identity for invariant outputs, ``Q`` for vectors (``v Q^T``), ``Q`` plus the centroid for
positions, and the Wigner-D matrices of ``Q`` (with parity for reflections) for outputs described by irreps.

:func:`canonical_frame` picks one frame by the sign of the third moment along each axis (the canonicalisation
of TinvNN-style models): one network call instead of 4 or 8, exact as long as no third moment vanishes, and
discontinuous where one changes sign: the baseline that frame averaging improves on.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from .._checks import check_choice, check_last_dims, check_tensor
from ..so3.irreps import Irreps, IrrepsLike

__all__ = ["DegenerateFrameWarning", "pca_frames", "canonical_frame", "frame_signs", "FrameAverage", "Canonicalisation"]

GROUPS = ("SO3", "O3")
OUTPUTS = ("invariant", "vector", "position")


class DegenerateFrameWarning(UserWarning):
    """Two covariance eigenvalues of a point cloud are so close that its PCA frames are not stable."""


def frame_signs(group: str, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """The sign patterns ``[F, 3]`` applied to the eigenvector columns: 8 for ``"O3"``, the 4 even ones for ``"SO3"``."""
    check_choice("group", group, GROUPS)
    signs = torch.tensor([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)], dtype=dtype, device=device)
    return signs if group == "O3" else signs[signs.prod(-1) > 0]


def _check_cloud(positions: object) -> torch.Tensor:
    positions = check_tensor("positions", positions, min_dim=2)
    check_last_dims("positions", positions, (3,), "point clouds [..., n, 3]")
    if positions.shape[-2] < 1:
        raise ValueError(f"positions: expected at least one point, got shape {tuple(positions.shape)}")
    return positions


def _principal_axes(positions: torch.Tensor, degenerate_tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    centre = positions.mean(-2)
    centred = positions - centre[..., None, :]
    covariance = centred.transpose(-1, -2) @ centred
    eigenvalues, axes = torch.linalg.eigh(covariance)
    eigenvalues, axes = eigenvalues.flip(-1), axes.flip(-1)  # largest variance first
    if degenerate_tol > 0:
        with torch.no_grad():
            scale = eigenvalues[..., :1].clamp_min(torch.finfo(eigenvalues.dtype).tiny)
            gap = ((eigenvalues[..., :-1] - eigenvalues[..., 1:]) / scale).amin(-1)
            bad = int((gap < degenerate_tol).sum())
        if bad:
            warnings.warn(
                f"positions: {bad} of {gap.numel()} point clouds have covariance eigenvalues closer than "
                f"{degenerate_tol:g} (relative; smallest gap {gap.min().item():.2e}); their PCA frames are not "
                "determined by the points, so frame averaging is not equivariant for them",
                DegenerateFrameWarning,
                stacklevel=3,
            )
    return axes, centre


def pca_frames(
    positions: torch.Tensor, group: str = "O3", degenerate_tol: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    """The PCA frames of point clouds.

    Args:
        positions: ``[..., n, 3]``.
        group: ``"O3"`` (8 frames, rotations and reflections) or ``"SO3"`` (4 frames, ``det = +1``).
        degenerate_tol: warn (:class:`DegenerateFrameWarning`) where two eigenvalues differ by less than this
            fraction of the largest; 0 turns the check off.

    Returns:
        ``frames [..., F, 3, 3]`` (orthogonal; column ``k`` is the ``k``-th axis, largest variance first) and
        the centroids ``[..., 3]``. Local coordinates are ``(positions - centre) @ frame``.
    """
    check_choice("group", group, GROUPS)
    axes, centre = _principal_axes(_check_cloud(positions), degenerate_tol)
    if group == "SO3":  # make the eigenvector basis proper, then keep the sign flips that stay proper
        flip = torch.linalg.det(axes.detach()) < 0
        axes = torch.cat([axes[..., :2], torch.where(flip[..., None, None], -axes[..., 2:], axes[..., 2:])], -1)
    signs = frame_signs(group, axes.dtype, axes.device)  # [F, 3]
    return axes[..., None, :, :] * signs[:, None, :], centre


def canonical_frame(
    positions: torch.Tensor, group: str = "O3", degenerate_tol: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    """One PCA frame per cloud, each axis pointing where the cloud's third moment along it is positive.

    For ``"SO3"`` the third axis is the cross product of the first two (a rotation); for ``"O3"`` all three
    are chosen by their moments. Same arguments and warning as :func:`pca_frames`.

    Returns:
        ``frames [..., 1, 3, 3]`` and centroids ``[..., 3]``.
    """
    check_choice("group", group, GROUPS)
    positions = _check_cloud(positions)
    axes, centre = _principal_axes(positions, degenerate_tol)
    third = (((positions - centre[..., None, :]) @ axes) ** 3).sum(-2)  # [..., 3]
    sign = torch.where(third < 0, -1.0, 1.0).to(axes.dtype)
    axes = axes * sign[..., None, :]
    if group == "SO3":
        axes = torch.cat([axes[..., :2], torch.linalg.cross(axes[..., 0], axes[..., 1])[..., None]], -1)
    return axes[..., None, :, :], centre


class FrameAverage(torch.nn.Module):
    """Make ``net`` invariant or equivariant by averaging it over the PCA frames of its input point cloud.

    Args:
        net: called as ``net(local_positions [B F, n, 3], **invariants)`` or, when ``vectors`` are given,
            ``net(local_positions, local_vectors [B F, m, 3], **invariants)``, with coordinates in one frame.
        group: ``"O3"`` (8 frames) or ``"SO3"`` (4 frames).
        output: ``"invariant"`` (any shape, averaged as is), ``"vector"`` (``[..., 3]``, rotated back),
            ``"position"`` (``[..., 3]``, rotated back and shifted by the centroid) or irreps
            (``[..., irreps.dim]`` in the e3nn layout, mapped back with the Wigner-D matrices of the frame).
        stochastic: in training mode, evaluate one random frame per cloud instead of all (an unbiased,
            cheaper estimate of the average; equivariant in distribution). Evaluation mode averages all.
        degenerate_tol: see :func:`pca_frames`.

    ``forward(positions [B, n, 3] or [n, 3], vectors=None [B, m, 3], **invariants [B, ...])``: returns the
    averaged output, ``[B, ...]`` (no batch axis for an unbatched cloud). Vectors (velocities, normals) are
    rotated into the frames but not shifted; ``invariants`` (charges, species) are passed through unchanged.
    """

    def __init__(
        self,
        net: Callable[..., torch.Tensor],
        group: str = "O3",
        output: str | IrrepsLike = "invariant",
        stochastic: bool = False,
        degenerate_tol: float = 1e-6,
    ):
        super().__init__()
        self.net, self.group = net, check_choice("group", group, GROUPS)
        try:
            self.irreps_out = None if isinstance(output, str) and output in OUTPUTS else Irreps(output)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"output: expected one of {OUTPUTS} or irreps such as '1o + 2e', got {output!r}"
            ) from error
        self.output = "irreps" if self.irreps_out is not None else output
        self.stochastic, self.degenerate_tol = stochastic, degenerate_tol

    def frames(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, F, 3, 3]`` frames and ``[B, 3]`` centroids of ``positions [B, n, 3]``."""
        return pca_frames(positions, self.group, self.degenerate_tol)

    def forward(self, positions: torch.Tensor, vectors: torch.Tensor | None = None, **invariants) -> torch.Tensor:
        positions = _check_cloud(positions)
        single = positions.dim() == 2
        if single:
            positions = positions[None]
            vectors = vectors[None] if vectors is not None else None
            invariants = {k: v[None] for k, v in invariants.items()}
        if positions.dim() != 3:
            raise ValueError(f"positions: expected [B, n, 3] or [n, 3], got shape {tuple(positions.shape)}")
        B = positions.shape[0]
        frames, centre = self.frames(positions)
        if self.stochastic and self.training and frames.shape[1] > 1:
            pick = torch.randint(frames.shape[1], (B,), device=frames.device)
            frames = frames[torch.arange(B, device=frames.device), pick][:, None]
        F = frames.shape[1]
        local = ((positions - centre[:, None])[:, None] @ frames).flatten(0, 1)  # [B F, n, 3]
        args = [local]
        if vectors is not None:
            check_tensor("vectors", vectors)
            if vectors.dim() != 3 or vectors.shape[0] != B or vectors.shape[-1] != 3:
                raise ValueError(f"vectors: expected shape [{B}, m, 3], got {tuple(vectors.shape)}")
            args.append((vectors.to(frames.dtype)[:, None] @ frames).flatten(0, 1))
        for name, value in invariants.items():
            if not isinstance(value, torch.Tensor) or value.dim() == 0 or value.shape[0] != B:
                raise ValueError(f"{name}: expected a tensor with one row per cloud ([{B}, ...]), got {value!r:.80}")
        repeated = {k: v.repeat_interleave(F, dim=0) for k, v in invariants.items()}
        out = self.net(*args, **repeated)
        if not isinstance(out, torch.Tensor) or out.dim() == 0 or out.shape[0] != B * F:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"net: expected an output with one row per cloud and frame ([{B * F}, ...]), got {shape}")
        out = out.view(B, F, *out.shape[1:])
        out = self._to_global(out, frames, centre).mean(1)
        return out[0] if single else out

    def _to_global(self, out: torch.Tensor, frames: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        """Map ``out [B, F, ...]`` from frame coordinates back to the input's."""
        if self.output == "invariant":
            return out
        extra = out.dim() - 3  # axes between the frame axis and the last one
        if self.output == "irreps":
            D = self.irreps_out.D_from_matrix(frames)
            if out.shape[-1] != D.shape[-1]:
                raise ValueError(
                    f"net: expected outputs [..., {D.shape[-1]}] ({self.irreps_out}), got {tuple(out.shape)}"
                )
            return (D.view(*D.shape[:2], *(1,) * extra, *D.shape[2:]) @ out[..., None])[..., 0]
        if out.shape[-1] != 3:
            raise ValueError(f"net: expected {self.output} outputs [..., 3], got {tuple(out.shape)}")
        Q = frames.view(*frames.shape[:2], *(1,) * extra, 3, 3)
        out = (Q @ out[..., None])[..., 0]
        if self.output == "position":
            out = out + centre.view(centre.shape[0], 1, *(1,) * extra, 3)
        return out

    def extra_repr(self) -> str:
        output = self.irreps_out if self.irreps_out is not None else self.output
        return f"group={self.group!r}, output={str(output)!r}, stochastic={self.stochastic}"


class Canonicalisation(FrameAverage):
    """The one-frame baseline of :class:`FrameAverage`: ``net`` evaluated in :func:`canonical_frame` only.

    Same arguments and shapes as :class:`FrameAverage` (``stochastic`` has no effect: there is one frame).
    """

    def frames(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, 1, 3, 3]`` canonical frames and ``[B, 3]`` centroids."""
        return canonical_frame(positions, self.group, self.degenerate_tol)
