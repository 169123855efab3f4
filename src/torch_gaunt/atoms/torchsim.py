"""Gaunt-MACE as a torch-sim model: energies, forces and stresses of a batch of systems in one forward pass.

torch-sim (``pip install "torch-gaunt[torchsim]"``, the package ``torch-sim-atomistic``) runs MD and relaxations
of many systems at once: its ``SimState`` holds the atoms of every system, with ``system_idx`` saying which system
each atom belongs to. :class:`GauntTorchSimModel` builds one neighbour list per system (vesin, on the CPU), joins
them into one disconnected graph and evaluates the model once for the whole batch::

    import torch_sim as ts
    from torch_gaunt.atoms.torchsim import GauntTorchSimModel

    model = GauntTorchSimModel("model.pt")
    final = ts.integrate(system=list_of_atoms, model=model, integrator=ts.nvt_langevin, n_steps=1000,
                         temperature=300, timestep=0.0005)   # ps

Units are torch-sim's (eV, Å, ps, amu); stress is ASE's (eV/Å³, positive when the cell pulls inward), as
torch-sim's own models return it.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ..models import GauntMACE, batch_graphs, load_model
from .neighbours import neighbour_list, species_indices, unlabelled_graph

try:
    from torch_sim.models.interface import ModelInterface
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError(
        f'torch-sim is not installed ({error}); pip install "torch-gaunt[torchsim]" (torch-sim-atomistic)'
    ) from None

__all__ = ["GauntTorchSimModel"]


class GauntTorchSimModel(ModelInterface):
    """A Gaunt-MACE model behind torch-sim's ``ModelInterface``.

    Args:
        model: a model file (``model.pt``) or a :class:`~torch_gaunt.models.GauntMACE`.
        device, dtype: where and in which precision to evaluate (default: CPU, the model's dtype).
        compute_forces, compute_stress: which outputs :meth:`forward` returns besides the energy.

    :meth:`forward` takes a ``SimState`` (or its dict) with ``positions [N, 3]``, ``cell [B, 3, 3]`` (torch-sim's
    column vectors), ``pbc``, ``atomic_numbers [N]`` and ``system_idx [N]``, and returns ``energy [B]``,
    ``forces [N, 3]`` and ``stress [B, 3, 3]`` (periodic systems).
    """

    def __init__(
        self,
        model: str | os.PathLike | GauntMACE,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        *,
        compute_forces: bool = True,
        compute_stress: bool = True,
    ):
        super().__init__()
        module = model if isinstance(model, GauntMACE) else load_model(model)
        dtype = dtype or module.embedding.dtype
        self.model = module.to(device=device, dtype=dtype).eval()
        self._device, self._dtype = torch.device(device), dtype
        self._compute_forces, self._compute_stress = compute_forces, compute_stress
        self._memory_scales_with = "n_atoms_x_density"  # a radial cutoff: neighbours grow with density
        self.r_max = float(self.model.config.r_max)

    def forward(self, state, **kwargs) -> dict[str, torch.Tensor]:
        """Energy ``[B]``, forces ``[N, 3]`` and stress ``[B, 3, 3]`` of every system of ``state``."""
        get = state.get if isinstance(state, dict) else lambda key: getattr(state, key)
        positions = get("positions").detach().to("cpu", torch.float64).numpy()
        cells = get("cell").detach().to("cpu", torch.float64).transpose(-1, -2).numpy()  # rows: lattice vectors
        numbers = get("atomic_numbers").detach().cpu().numpy()
        system_idx = get("system_idx")
        system_idx = np.zeros(len(positions), dtype=np.int64) if system_idx is None else system_idx.cpu().numpy()
        pbc = get("pbc")
        pbc = np.array(np.broadcast_to(pbc.cpu().numpy() if torch.is_tensor(pbc) else pbc, (3,)), dtype=bool)
        cells = cells.reshape(-1, 3, 3)
        graphs = []
        for b in range(len(cells)):
            mask = system_idx == b
            species = species_indices(numbers[mask], self.model.config.atomic_numbers, f"system {b}")
            edge_index, shifts = neighbour_list(positions[mask], cells[b], pbc, self.r_max)
            graphs.append(unlabelled_graph(positions[mask], species, edge_index, shifts, cells[b], pbc))
        graph = batch_graphs(graphs).to(self._device, self._dtype)
        stress = self._compute_stress and bool(pbc.any())
        out = self.model(graph, compute_forces=self._compute_forces, compute_stress=stress)
        results = {"energy": out["energy"].detach()}
        if self._compute_forces:  # the graph holds system 0's atoms first, then system 1's, ...: put them back
            order = torch.as_tensor(np.argsort(system_idx, kind="stable"), device=self._device)
            results["forces"] = torch.empty_like(out["forces"]).index_copy_(0, order, out["forces"].detach())
        if self._compute_stress:
            results["stress"] = out["stress"].detach() if stress else torch.zeros_like(get("cell"))
        return results
