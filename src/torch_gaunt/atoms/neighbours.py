"""Neighbour lists with vesin, and structures as :class:`~torch_gaunt.models.AtomicGraph` objects.

Edges are directed and both directions are kept: ``(j -> i)`` for every pair closer than ``r_max`` (periodic
images included, self-images too, an atom never with itself at zero shift). The shift of an edge is kept as
``unit_shifts @ cell`` so that the model recomputes edge vectors from positions and stays differentiable.
"""

from __future__ import annotations

import numpy as np
import torch
from vesin import NeighborList

from ..models import AtomicGraph
from .data import Configuration

__all__ = ["neighbour_list", "to_graph", "species_of"]


def neighbour_list(
    positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, r_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """``positions [N, 3]``, ``cell [3, 3]``, ``pbc [3]`` -> ``edge_index [2, E]`` (sender, receiver) and
    ``shifts [E, 3]`` (Cartesian) with ``positions[receiver] - positions[sender] + shifts`` shorter than ``r_max``."""
    pbc = np.asarray(pbc, dtype=bool)
    box = np.asarray(cell, dtype=np.float64) if pbc.any() else np.zeros((3, 3))
    i, j, S = NeighborList(cutoff=float(r_max), full_list=True).compute(
        points=np.ascontiguousarray(positions, dtype=np.float64), box=box, periodic=pbc.tolist(), quantities="ijS"
    )
    S = np.asarray(S, dtype=np.float64)
    edge_index = np.stack([np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)])
    return edge_index, S @ box


def species_of(config: Configuration, atomic_numbers: list[int]) -> np.ndarray:
    """Indices of ``config``'s atoms in ``atomic_numbers``; an element outside it is a ``ValueError``."""
    lookup = np.full(119, -1, dtype=np.int64)
    lookup[np.asarray(atomic_numbers, dtype=np.int64)] = np.arange(len(atomic_numbers))
    species = lookup[config.numbers]
    if (species < 0).any():
        from ase.data import chemical_symbols

        unknown = sorted({chemical_symbols[z] for z in config.numbers[species < 0]})
        known = [chemical_symbols[z] for z in atomic_numbers]
        raise ValueError(f"{config.source}: element(s) {unknown} are not among the model's elements {known}")
    return species


def to_graph(config: Configuration, atomic_numbers: list[int], r_max: float) -> AtomicGraph:
    """One structure as an :class:`~torch_gaunt.models.AtomicGraph` in float64 (labels that the file does not give
    are NaN with a zero loss weight)."""
    edge_index, shifts = neighbour_list(config.positions, config.cell, config.pbc, r_max)
    n = len(config)
    nan = float("nan")

    def tensor(x):
        return torch.as_tensor(np.asarray(x), dtype=torch.float64)

    return AtomicGraph(
        positions=tensor(config.positions),
        species=torch.as_tensor(species_of(config, atomic_numbers)),
        edge_index=torch.as_tensor(edge_index),
        shifts=tensor(shifts),
        cell=tensor(config.cell)[None],
        pbc=torch.as_tensor(config.pbc)[None],
        batch=torch.zeros(n, dtype=torch.int64),
        energy=tensor([config.energy if config.energy is not None else nan]),
        forces=tensor(config.forces) if config.forces is not None else torch.full((n, 3), nan, dtype=torch.float64),
        stress=tensor(config.stress)[None]
        if config.stress is not None
        else torch.full((1, 3, 3), nan, dtype=torch.float64),
        weight=tensor([config.weight]),
        energy_weight=tensor([float(config.energy is not None)]),
        forces_weight=tensor([float(config.forces is not None)]),
        stress_weight=tensor([float(config.stress is not None)]),
    )
