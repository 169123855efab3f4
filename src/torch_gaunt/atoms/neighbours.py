"""Neighbour lists with vesin, and structures as :class:`~torch_gaunt.models.AtomicGraph` objects.

Edges are directed and both directions are kept: ``(j -> i)`` for every pair closer than ``r_max`` (periodic
images included, self-images too, an atom never with itself at zero shift). The shift of an edge is kept as
``unit_shifts @ cell`` so that the model recomputes edge vectors from positions and stays differentiable.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from vesin import NeighborList

from ..models import AtomicGraph
from .data import Configuration

__all__ = ["neighbour_list", "to_graph", "unlabelled_graph", "species_of", "species_indices"]


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
    return species_indices(config.numbers, atomic_numbers, config.source)


def species_indices(numbers: np.ndarray, atomic_numbers: list[int], source: str = "structure") -> np.ndarray:
    """``numbers [N]`` (atomic numbers) -> ``[N]`` indices into ``atomic_numbers``; an element outside it is a
    ``ValueError`` that names ``source``, the unknown elements and the known ones."""
    numbers = np.asarray(numbers, dtype=np.int64)
    lookup = np.full(119, -1, dtype=np.int64)
    lookup[np.asarray(atomic_numbers, dtype=np.int64)] = np.arange(len(atomic_numbers))
    species = lookup[numbers]
    if (species < 0).any():
        from ase.data import chemical_symbols

        unknown = sorted({chemical_symbols[z] for z in numbers[species < 0]})
        known = [chemical_symbols[z] for z in atomic_numbers]
        raise ValueError(f"{source}: element(s) {unknown} are not among the model's elements {known}")
    return species


def _float64(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def unlabelled_graph(
    positions: np.ndarray,
    species: np.ndarray,
    edge_index: np.ndarray,
    shifts: np.ndarray,
    cell: np.ndarray,
    pbc: np.ndarray,
) -> AtomicGraph:
    """One structure without references as a float64 :class:`~torch_gaunt.models.AtomicGraph`: labels are NaN
    and their loss weights zero. Shapes as in :func:`neighbour_list`; ``species [N]`` are model element indices."""
    n = len(positions)

    def nan(*shape):
        return torch.full(shape, float("nan"), dtype=torch.float64)

    return AtomicGraph(
        positions=_float64(positions),
        species=torch.as_tensor(np.asarray(species, dtype=np.int64)),
        edge_index=torch.as_tensor(np.asarray(edge_index, dtype=np.int64)),
        shifts=_float64(shifts),
        cell=_float64(cell).reshape(1, 3, 3),
        pbc=torch.as_tensor(np.asarray(pbc, dtype=bool)).reshape(1, 3),
        batch=torch.zeros(n, dtype=torch.int64),
        energy=nan(1),
        forces=nan(n, 3),
        stress=nan(1, 3, 3),
        weight=torch.ones(1, dtype=torch.float64),
        energy_weight=torch.zeros(1, dtype=torch.float64),
        forces_weight=torch.zeros(1, dtype=torch.float64),
        stress_weight=torch.zeros(1, dtype=torch.float64),
    )


def to_graph(config: Configuration, atomic_numbers: list[int], r_max: float) -> AtomicGraph:
    """One structure as an :class:`~torch_gaunt.models.AtomicGraph` in float64 (labels that the file does not give
    are NaN with a zero loss weight)."""
    edge_index, shifts = neighbour_list(config.positions, config.cell, config.pbc, r_max)
    species = species_of(config, atomic_numbers)
    graph = unlabelled_graph(config.positions, species, edge_index, shifts, config.cell, config.pbc)
    labels = {"weight": _float64([config.weight])}
    if config.energy is not None:
        labels.update(energy=_float64([config.energy]), energy_weight=torch.ones(1, dtype=torch.float64))
    if config.forces is not None:
        labels.update(forces=_float64(config.forces), forces_weight=torch.ones(1, dtype=torch.float64))
    if config.stress is not None:
        labels.update(stress=_float64(config.stress)[None], stress_weight=torch.ones(1, dtype=torch.float64))
    return replace(graph, **labels)
