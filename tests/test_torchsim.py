"""Gaunt-MACE behind torch-sim's ModelInterface: per-system results equal GauntCalculator's, a batched NVT
Langevin run and a batched FIRE cell relaxation run to the end."""

import numpy as np
import pytest
import torch
import torch_sim as ts
from ase.build import bulk

from atoms_helpers import DEMO, molecule, tiny_model
from torch_gaunt.atoms import GauntCalculator
from torch_gaunt.atoms.torchsim import GauntTorchSimModel


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def _cells() -> list:
    cells = []
    for k, (repeat, strain) in enumerate([((1, 1, 1), 0.02), ((2, 1, 1), -0.03), ((2, 2, 1), 0.04)]):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat)
        atoms.numbers[0] = 8
        atoms.set_cell(
            atoms.cell.array @ (np.eye(3) + strain * np.array([[1, 0.2, 0], [0.2, -0.5, 0], [0, 0, 0.3]])),
            scale_atoms=True,
        )
        atoms.rattle(0.05, seed=k)
        cells.append(atoms)
    return cells


@pytest.mark.parametrize("kind", ["molecules", "periodic cells"])
def test_batch_equals_the_calculator_per_system(kind, model):
    systems = [molecule(0), molecule(1)[:5], molecule(2)[:6]] if kind == "molecules" else _cells()
    sizes = [len(s) for s in systems]
    assert len(set(sizes)) == len(sizes)  # different sizes in one batch
    state = ts.initialize_state(systems, device=torch.device("cpu"), dtype=torch.float64)
    out = GauntTorchSimModel(model)(state)
    assert out["energy"].shape == (len(systems),) and out["forces"].shape == (sum(sizes), 3)
    start = 0
    for k, atoms in enumerate(systems):
        atoms = atoms.copy()
        atoms.calc = GauntCalculator(model)
        assert out["energy"][k].item() == pytest.approx(atoms.get_potential_energy(), rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(out["forces"][start : start + len(atoms)].numpy(), atoms.get_forces(), atol=1e-10)
        if atoms.pbc.all():
            np.testing.assert_allclose(out["stress"][k].numpy(), atoms.get_stress(voigt=False), atol=1e-10)
        start += len(atoms)


def test_forces_follow_system_idx_when_atoms_are_interleaved(model):
    systems = [molecule(0), molecule(1)]
    state = ts.initialize_state(systems, device=torch.device("cpu"), dtype=torch.float64)
    ordered = GauntTorchSimModel(model)(state)
    perm = torch.randperm(state.n_atoms, generator=torch.Generator().manual_seed(0))
    shuffled = {
        "positions": state.positions[perm], "cell": state.cell, "pbc": state.pbc,
        "atomic_numbers": state.atomic_numbers[perm], "system_idx": state.system_idx[perm],
    }  # fmt: skip
    out = GauntTorchSimModel(model)(shuffled)
    torch.testing.assert_close(out["forces"], ordered["forces"][perm], rtol=0, atol=1e-12)
    torch.testing.assert_close(out["energy"], ordered["energy"], rtol=0, atol=1e-12)


def test_nvt_langevin_of_eight_acac_molecules(model):
    from ase.io import read

    frames = [f for f in read(DEMO, index=":") if len(f) > 1][:8]
    final = ts.integrate(
        system=frames, model=GauntTorchSimModel(model), integrator=ts.nvt_langevin, n_steps=20, temperature=300.0,
        timestep=0.0002,
    )  # fmt: skip
    assert final.n_systems == 8 and final.positions.shape == (15 * 8, 3)
    assert torch.isfinite(final.positions).all() and torch.isfinite(final.energy).all()
    assert not torch.allclose(final.positions.cpu(), torch.as_tensor(np.concatenate([f.positions for f in frames])))


def test_batched_fire_relaxes_strained_copper_cells(model):
    cells = _cells()
    torch_model = GauntTorchSimModel(model)
    start = torch_model(ts.initialize_state(cells, torch.device("cpu"), torch.float64))
    final = ts.optimize(
        system=cells, model=torch_model, optimizer=ts.frechet_cell_fire,
        convergence_fn=ts.generate_force_convergence_fn(force_tol=0.02), max_steps=400,
    )  # fmt: skip
    out = torch_model(final)
    assert final.n_systems == 3
    assert out["forces"].norm(dim=1).max() < 0.02  # every system converged
    assert out["stress"].abs().amax(dim=(1, 2)).max() < start["stress"].abs().amax(dim=(1, 2)).max()
    assert (out["energy"] < start["energy"]).all()
