"""Small structures and models shared by the potential tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk

from torch_gaunt.atoms import configuration_from_atoms, to_graph
from torch_gaunt.models import GauntMACE, ModelConfig, batch_graphs

DEMO = Path(__file__).resolve().parents[1] / "src" / "torch_gaunt" / "atoms" / "demo" / "acac_300K_demo.xyz"
ELEMENTS = [1, 6, 8, 29]


def tiny_model(dtype=torch.float64, r_max=3.0, selfmix=False, **kwargs) -> GauntMACE:
    torch.manual_seed(0)
    options = dict(num_channels=4, max_L=1, max_ell=2, correlation=2, radial_mlp=[8], readout_hidden=4)
    options.update(kwargs)
    config = ModelConfig(
        atomic_numbers=ELEMENTS, r_max=r_max, e0s=[-1.0, -2.0, -3.0, -4.0], avg_num_neighbors=4.0, scale=1.3,
        shift=0.2, selfmix=selfmix, **options,
    )  # fmt: skip
    model = GauntMACE(config).to(dtype)
    # random, non-trivial weights everywhere (many are initialised to ones or zeros)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def molecule(seed: int = 0) -> Atoms:
    rng = np.random.default_rng(seed)
    numbers = [6, 6, 8, 1, 1, 1, 8]
    positions = rng.normal(size=(len(numbers), 3)) * 1.1
    return Atoms(numbers=numbers, positions=positions)


def copper(seed: int = 0, cubic=False) -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.6, cubic=cubic)
    atoms.rattle(0.1, seed=seed)
    return atoms


def graph_of(atoms: Atoms, r_max: float = 3.0, dtype=torch.float64):
    return to_graph(configuration_from_atoms(atoms, source="test"), ELEMENTS, r_max).to(dtype=dtype)


def energy_of(model, atoms: Atoms, **kwargs) -> dict:
    dtype = next(model.parameters()).dtype
    return model(batch_graphs([graph_of(atoms, model.config.r_max, dtype)]), **kwargs)
