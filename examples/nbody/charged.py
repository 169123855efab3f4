"""The charged-particle N-body system of the EGNN / SEGNN / Frame Averaging papers, simulated here.

Five particles with charges ±1 (like charges repel) move under the pairwise Coulomb force
``F_i = Σ_j q_i q_j (x_i - x_j) / |x_i - x_j|³`` (each component clipped to ±100, as in NRI's simulator, so that
close encounters stay finite), integrated with a symplectic Euler step ``dt = 0.001`` in free space. Starting
positions are ``N(0, 1)`` and velocities random directions of norm 0.5 (NRI's settings); the state after
``burn_in`` steps is the input and the positions ``steps`` later the target (EGNN: 3000 and 1000 steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class NBodySet:
    """``positions, velocities [S, n, 3]``, ``charges [S, n]`` at the start and ``target [S, n, 3]`` positions."""

    positions: torch.Tensor
    velocities: torch.Tensor
    charges: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return self.positions.shape[0]

    def batch(self, index: torch.Tensor) -> NBodySet:
        return NBodySet(self.positions[index], self.velocities[index], self.charges[index], self.target[index])

    def to(self, dtype: torch.dtype) -> NBodySet:
        return NBodySet(*(t.to(dtype) for t in (self.positions, self.velocities, self.charges, self.target)))


def _forces(x: torch.Tensor, q: torch.Tensor, max_force: float) -> torch.Tensor:
    r = x[:, :, None] - x[:, None]  # [S, n, n, 3]: x_i - x_j
    dist3 = (r * r).sum(-1).pow(1.5)
    n = x.shape[1]
    dist3 = dist3 + torch.eye(n, dtype=x.dtype, device=x.device)  # the diagonal has r = 0
    strength = (q[:, :, None] * q[:, None]) / dist3
    return (strength[..., None] * r).sum(2).clamp(-max_force, max_force)


def simulate(
    systems: int,
    particles: int = 5,
    burn_in: int = 3000,
    steps: int = 1000,
    dt: float = 1e-3,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> NBodySet:
    """Simulate ``systems`` independent systems (vectorised) and return their start states and targets."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(systems, particles, 3, generator=g, dtype=dtype)
    v = torch.randn(systems, particles, 3, generator=g, dtype=dtype)
    v = 0.5 * v / v.norm(dim=-1, keepdim=True)
    q = torch.where(torch.rand(systems, particles, generator=g) < 0.5, -1.0, 1.0).to(dtype)
    max_force = 0.1 / dt
    start = None
    for step in range(burn_in + steps):
        if step == burn_in:
            start = (x.clone(), v.clone())
        v = v + dt * _forces(x, q, max_force)
        x = x + dt * v
    if start is None:  # no steps at all
        start = (x.clone(), v.clone())
    return NBodySet(start[0], start[1], q, x)
