"""Batched atomic graphs as plain tensors: what a potential reads and what a training loop feeds it.

Conventions (``docs/potential.md``): ``edge_index[0]`` is the sender ``j`` and ``edge_index[1]`` the receiver
``i``; the edge vector is ``positions[i] - positions[j] + shifts`` with ``shifts = unit_shifts @ cell`` (Cartesian),
computed inside the model so that forces and stress come from autograd.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch

__all__ = ["AtomicGraph", "batch_graphs"]


@dataclass
class AtomicGraph:
    """One structure or a batch of ``B`` structures with ``N`` atoms and ``E`` directed edges in all.

    Attributes:
        positions: ``[N, 3]`` in Å.
        species: ``[N]`` int64, indices into the model's element list.
        edge_index: ``[2, E]`` int64, ``(sender j, receiver i)``.
        shifts: ``[E, 3]`` Cartesian periodic shifts, ``unit_shifts @ cell[batch[j]]``.
        cell: ``[B, 3, 3]`` lattice vectors as rows (zeros for a molecule).
        pbc: ``[B, 3]`` bool.
        batch: ``[N]`` int64, structure of each atom.
        energy, forces, stress: references, ``[B]`` eV, ``[N, 3]`` eV/Å, ``[B, 3, 3]`` eV/Å^3 (NaN where missing).
        weight: ``[B]`` per-structure loss weight.
        energy_weight, forces_weight, stress_weight: ``[B]``, 1 where the reference exists, else 0.
    """

    positions: torch.Tensor
    species: torch.Tensor
    edge_index: torch.Tensor
    shifts: torch.Tensor
    cell: torch.Tensor
    pbc: torch.Tensor
    batch: torch.Tensor
    energy: torch.Tensor
    forces: torch.Tensor
    stress: torch.Tensor
    weight: torch.Tensor
    energy_weight: torch.Tensor
    forces_weight: torch.Tensor
    stress_weight: torch.Tensor

    @property
    def num_graphs(self) -> int:
        return self.cell.shape[0]

    @property
    def num_atoms(self) -> torch.Tensor:
        """``[B]`` atoms per structure."""
        return torch.bincount(self.batch, minlength=self.num_graphs)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> AtomicGraph:
        """The same graph on ``device``, with floating tensors cast to ``dtype`` (integers and bools keep theirs)."""
        moved = {}
        for f in fields(self):
            t = getattr(self, f.name)
            cast = dtype if (dtype is not None and t.is_floating_point()) else None
            moved[f.name] = t.to(device=device, dtype=cast)
        return replace(self, **moved)


def batch_graphs(graphs: list[AtomicGraph]) -> AtomicGraph:
    """Concatenate structures into one disconnected graph: node indices of edges are offset, ``batch`` numbers
    the structures in order."""
    if not graphs:
        raise ValueError("graphs: expected at least one AtomicGraph, got an empty list")
    if any(g.num_graphs != 1 for g in graphs):
        raise ValueError("graphs: expected single structures (num_graphs == 1) to batch")
    counts = [g.positions.shape[0] for g in graphs]
    offsets = torch.tensor([0] + counts[:-1]).cumsum(0)
    per_node = ("positions", "species", "forces")
    per_graph = ("cell", "pbc", "energy", "stress", "weight", "energy_weight", "forces_weight", "stress_weight")
    out = {name: torch.cat([getattr(g, name) for g in graphs]) for name in per_node + per_graph + ("shifts",)}
    out["edge_index"] = torch.cat([g.edge_index + off for g, off in zip(graphs, offsets.tolist())], dim=1)
    out["batch"] = torch.cat([g.batch + b for b, g in enumerate(graphs)])
    return AtomicGraph(**out)
