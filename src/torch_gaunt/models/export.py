"""A trained potential as a ``torch.export`` program: a file that loads and runs with PyTorch alone.

The exported function maps one structure to its per-atom energies,

    ``node_energy = f(positions [N, 3], species [N] int64, edge_index [2, E] int64, shifts [E, 3])``,

with the conventions of :class:`~torch_gaunt.models.AtomicGraph` (``species`` are indices into
``metadata["atomic_numbers"]``, ``edge_index[0]`` the senders, the edge vector is
``positions[i] - positions[j] + shifts``, pairs within ``metadata["r_max"]``). ``N`` and ``E`` are dynamic. Forces
are ``-d(node_energy.sum())/d positions`` by autograd on the loaded program; a stress is the derivative with
respect to a strain applied to ``positions`` and ``shifts`` before the call. Loading it needs no torch-gaunt:

.. code-block:: python

    program = torch.export.load("model.pt2").module()
    positions.requires_grad_(True)
    energy = program(positions, species, edge_index, shifts).sum()
    forces = -torch.autograd.grad(energy, positions)[0]

The model's metadata (elements, ``r_max``, dtype, version) is stored beside the program in the same archive
(``extra_files["metadata.json"]``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .._io import atomic_write
from .._version import __version__
from .potential import GauntMACE

__all__ = ["export_model", "load_exported", "EnergyFunction"]


class EnergyFunction(torch.nn.Module):
    """``(positions [N, 3], species [N], edge_index [2, E], shifts [E, 3]) -> node_energy [N]`` of one structure."""

    def __init__(self, model: GauntMACE):
        super().__init__()
        self.model = model

    def forward(self, positions, species, edge_index, shifts):
        vectors = positions[edge_index[1]] - positions[edge_index[0]] + shifts
        return self.model.node_energies(species, edge_index, vectors)


def _example(model: GauntMACE, n: int = 6, e: int = 20):
    dtype = model.embedding.dtype
    g = torch.Generator().manual_seed(0)
    positions = torch.randn(n, 3, generator=g, dtype=torch.float64).to(dtype)
    species = torch.arange(n) % model.num_elements
    edge_index = torch.stack([torch.arange(e) % n, (torch.arange(e) + 1) % n])
    shifts = torch.zeros(e, 3, dtype=dtype)
    return positions, species, edge_index, shifts


def export_model(model: GauntMACE, path: str | os.PathLike) -> Path:
    """Export ``model`` (on CPU, in its dtype) with dynamic atom and edge counts and write it to ``path``
    (a ``.pt2`` archive, atomically). Returns the path."""
    model = model.cpu().eval()
    atoms, edges = torch.export.Dim("atoms", min=2), torch.export.Dim("edges", min=2)
    shapes = {"positions": {0: atoms}, "species": {0: atoms}, "edge_index": {1: edges}, "shifts": {0: edges}}
    function, example = EnergyFunction(model), _example(model)
    with torch.no_grad():
        function(*example)  # build the constant tables now: tables first built while tracing would be fake tensors
    program = torch.export.export(function, example, dynamic_shapes=shapes, strict=False)
    metadata = {
        "atomic_numbers": list(model.config.atomic_numbers),
        "r_max": model.config.r_max,
        "dtype": str(model.embedding.dtype).replace("torch.", ""),
        "torch_gaunt_version": __version__,
        "inputs": "positions [N, 3], species [N] (indices into atomic_numbers), edge_index [2, E], shifts [E, 3]",
        "output": "node_energy [N] (eV)",
    }
    extra = {"metadata.json": json.dumps(metadata)}
    return atomic_write(path, lambda tmp: torch.export.save(program, tmp, extra_files=extra))


def load_exported(path: str | os.PathLike) -> tuple[torch.nn.Module, dict]:
    """The callable program and its metadata from a file written by :func:`export_model`."""
    extra = {"metadata.json": ""}
    program = torch.export.load(str(path), extra_files=extra)
    return program.module(), json.loads(extra["metadata.json"])
