"""The charged-particle N-body system of the EGNN / SEGNN / Frame Averaging papers, simulated here.

Five particles with charges ±1 (like charges repel) move under the pairwise Coulomb force
``F_i = Σ_j q_i q_j (x_i - x_j) / |x_i - x_j|³``, its norm clipped to 100 so that close encounters stay finite,
integrated with a symplectic Euler step ``dt = 0.001`` in free space. NRI's simulator, which EGNN's data come
from, clips each *component* at ±100 instead; that breaks the rotation symmetry of the ground truth in close
encounters (here in 18 % of the trajectories within the predicted window), so the norm is clipped. Starting
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
    force = (strength[..., None] * r).sum(2)
    norm = force.norm(dim=-1, keepdim=True)
    return force * (max_force / norm).clamp(max=1.0)  # the norm clipped: rotation-equivariant


def integrate(
    positions: torch.Tensor, velocities: torch.Tensor, charges: torch.Tensor, steps: int, dt: float = 1e-3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advance ``positions, velocities [S, n, 3]`` with ``charges [S, n]`` by ``steps`` symplectic Euler steps."""
    x, v = positions, velocities
    for _ in range(steps):
        v = v + dt * _forces(x, charges, 0.1 / dt)
        x = x + dt * v
    return x, v


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
    x, v = integrate(x, v, q, burn_in, dt)
    target, _ = integrate(x, v, q, steps, dt)
    return NBodySet(x, v, q, target)
