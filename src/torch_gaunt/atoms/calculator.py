r"""An ASE calculator for a trained Gaunt-MACE model, and Hessians by automatic differentiation.

.. code-block:: python

    from torch_gaunt.atoms import GauntCalculator
    atoms.calc = GauntCalculator("model.pt", device="cpu", dtype="float64", skin=0.5)
    atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

Results follow ASE: ``energy``/``free_energy`` (eV), ``energies [N]`` (eV per atom), ``forces [N, 3]`` (eV/Å) and,
for a structure with at least one periodic direction, ``stress [6]`` (eV/Å^3, Voigt order xx, yy, zz, yz, xz, xy,
``(1/V) dE/dε``). With ``skin > 0`` the neighbour list is built to ``r_max + skin`` and reused until an atom has
moved more than ``skin / 2`` (or the cell, pbc or elements change); pairs beyond ``r_max`` are dropped before the
model sees them, so the results equal a fresh list's.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import torch
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from .._checks import parse_dtype
from ..models import AtomicGraph, GauntMACE, load_model
from .neighbours import neighbour_list, species_indices, unlabelled_graph

__all__ = ["GauntCalculator", "hessian"]


class GauntCalculator(Calculator):
    """ASE calculator of a :class:`~torch_gaunt.models.GauntMACE`.

    Args:
        model: a model file written by :func:`~torch_gaunt.models.save_model` or a ``GauntMACE`` instance.
        device: where to evaluate (``"cpu"``, ``"cuda"``...).
        dtype: ``"float64"``/``"float32"`` or a ``torch.dtype``; default the dtype the model was saved in.
        skin: Verlet skin in Å (0: a new neighbour list on every call).
        edge_chunk_size, node_chunk_size: for large structures, run the convolutions over chunks of this many
            edges and the product basis over chunks of this many atoms, with activation checkpointing (bounded
            memory for some more time); None: all at once.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(
        self,
        model: str | os.PathLike | GauntMACE,
        device: str | torch.device = "cpu",
        dtype: str | torch.dtype | None = None,
        skin: float = 0.0,
        edge_chunk_size: int | None = None,
        node_chunk_size: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            dtype = parse_dtype(dtype)
        if isinstance(model, GauntMACE):
            self.model = model.to(device=device, dtype=dtype).eval()
        else:
            self.model = load_model(model, device=device, dtype=dtype)
        self.model.set_chunk_sizes(edges=edge_chunk_size, nodes=node_chunk_size)
        if not skin >= 0:
            raise ValueError(f"skin: expected a length >= 0 in Å, got {skin}")
        self.skin = float(skin)
        self.device = torch.device(device)
        self.dtype = self.model.embedding.dtype
        self.r_max = float(self.model.config.r_max)
        self._neighbours = None
        self.neighbour_list_builds = 0

    def graph(self, atoms) -> AtomicGraph:
        """``atoms`` as an :class:`~torch_gaunt.models.AtomicGraph` on the model's device and dtype, with the edges
        shorter than ``r_max``."""
        numbers = atoms.get_atomic_numbers()
        species = species_indices(numbers, self.model.config.atomic_numbers, f"atoms {atoms.get_chemical_formula()}")
        positions = np.asarray(atoms.positions, dtype=np.float64)
        cell, pbc = np.asarray(atoms.cell.array, dtype=np.float64), np.asarray(atoms.pbc, dtype=bool)
        if pbc.any() and abs(np.linalg.det(cell)) < 1e-12:
            raise ValueError(f"atoms: periodic (pbc={pbc.tolist()}) but the cell has zero volume")
        edge_index, shifts = self._candidate_edges(numbers, positions, cell, pbc)
        vectors = positions[edge_index[1]] - positions[edge_index[0]] + shifts
        keep = np.einsum("ei,ei->e", vectors, vectors) < self.r_max**2
        graph = unlabelled_graph(positions, species, edge_index[:, keep], shifts[keep], cell, pbc)
        return graph.to(self.device, self.dtype)

    def _candidate_edges(self, numbers, positions, cell, pbc) -> tuple[np.ndarray, np.ndarray]:
        cached = self._neighbours
        reuse = (
            self.skin > 0
            and cached is not None
            and cached["numbers"].shape == numbers.shape
            and np.array_equal(cached["numbers"], numbers)
            and np.array_equal(cached["cell"], cell)
            and np.array_equal(cached["pbc"], pbc)
            and np.max(np.linalg.norm(positions - cached["positions"], axis=1), initial=0.0) <= self.skin / 2
        )
        if not reuse:
            edge_index, shifts = neighbour_list(positions, cell, pbc, self.r_max + self.skin)
            self._neighbours = dict(
                numbers=numbers.copy(),
                positions=positions.copy(),
                cell=cell.copy(),
                pbc=pbc.copy(),
                edge_index=edge_index,
                shifts=shifts,
            )
            self.neighbour_list_builds += 1
        return self._neighbours["edge_index"], self._neighbours["shifts"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties
        if want_stress and not self.atoms.pbc.any():
            raise PropertyNotImplementedError(
                "stress: defined only for structures with a periodic direction; these atoms have pbc=False"
            )
        graph = self.graph(self.atoms)
        out = self.model(graph, compute_forces=True, compute_stress=want_stress)
        energy = float(out["energy"].detach().double().sum())
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": out["node_energy"].detach().double().cpu().numpy(),
            "forces": out["forces"].detach().double().cpu().numpy(),
        }
        if want_stress:
            self.results["stress"] = full_3x3_to_voigt_6_stress(out["stress"][0].detach().double().cpu().numpy())

    def get_hessian(self, atoms=None) -> np.ndarray:
        """The Hessian ``[3N, 3N]`` (eV/Å^2) of ``atoms`` (default: the attached atoms); see :func:`hessian`."""
        atoms = self.atoms if atoms is None else atoms
        if atoms is None:
            raise ValueError("get_hessian: no atoms given and none attached to this calculator")
        return hessian(self.model, self.graph(atoms))


def hessian(model: GauntMACE, graph: AtomicGraph) -> np.ndarray:
    """``d²E / dr_a dr_b`` of one structure as a ``[3N, 3N]`` float64 array (eV/Å^2), row ``3a + i`` for atom ``a``
    and direction ``i``: minus the derivative of the autograd forces, one row per backward pass."""
    if graph.num_graphs != 1:
        raise ValueError(f"graph: expected one structure, got a batch of {graph.num_graphs}")
    positions = graph.positions.detach().clone().requires_grad_(True)
    graph = replace(graph, positions=positions)
    forces = model(graph, compute_forces=True, training=True)["forces"].reshape(-1)
    rows = []
    for k in range(forces.numel()):
        (row,) = torch.autograd.grad(forces[k], positions, retain_graph=k + 1 < forces.numel(), allow_unused=True)
        rows.append(torch.zeros_like(positions) if row is None else row)
    return -torch.stack(rows).reshape(forces.numel(), -1).detach().double().cpu().numpy()
