"""The ASE calculator: agreement with the model and with `torch-gaunt evaluate`, forces/stress/Hessian against
finite differences, the neighbour-list skin, and its errors."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

from atoms_helpers import copper, energy_of, molecule, tiny_model
from torch_gaunt.atoms import GauntCalculator, evaluate_potential, hessian
from torch_gaunt.models import save_model


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_calculator_equals_model(model):
    atoms = molecule(1)
    atoms.calc = GauntCalculator(model)
    out = energy_of(model, atoms)
    assert atoms.get_potential_energy() == pytest.approx(float(out["energy"][0].detach()), abs=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), out["forces"].detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(atoms.get_potential_energies().sum(), atoms.get_potential_energy(), atol=1e-12)
    assert atoms.get_potential_energy(force_consistent=True) == atoms.get_potential_energy()


def test_forces_are_minus_finite_differences(model):
    atoms = molecule(2)
    atoms.calc = GauntCalculator(model)
    numerical = calculate_numerical_forces(atoms, eps=1e-5)
    np.testing.assert_allclose(atoms.get_forces(), numerical, atol=1e-7)


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True)])
def test_stress_is_voigt_strain_derivative(model, pbc):
    atoms = copper(3)
    atoms.set_cell(atoms.cell.array + np.array([[0, 0.2, 0], [0.1, 0, 0.3], [0, 0, 0.1]]), scale_atoms=True)
    atoms.pbc = pbc
    atoms.calc = GauntCalculator(model)
    stress = atoms.get_stress()
    assert stress.shape == (6,)
    numerical = calculate_numerical_stress(atoms, eps=1e-6, voigt=True)
    np.testing.assert_allclose(stress, numerical, atol=1e-8)


def test_stress_of_a_molecule_is_not_implemented(model):
    atoms = molecule(0)
    atoms.calc = GauntCalculator(model)
    with pytest.raises(PropertyNotImplementedError, match="periodic"):
        atoms.get_stress()


def test_skin_reuses_the_list_and_gives_the_same_results(model):
    atoms = copper(4, cubic=True)
    fresh, cached = GauntCalculator(model), GauntCalculator(model, skin=0.6)
    rng = np.random.default_rng(0)
    for _ in range(6):
        atoms.positions += rng.normal(scale=0.03, size=atoms.positions.shape)
        fresh.calculate(atoms, ["energy", "forces", "stress"])
        cached.calculate(atoms, ["energy", "forces", "stress"])
        assert cached.results["energy"] == pytest.approx(fresh.results["energy"], abs=1e-12)
        np.testing.assert_allclose(cached.results["forces"], fresh.results["forces"], atol=1e-12)
        np.testing.assert_allclose(cached.results["stress"], fresh.results["stress"], atol=1e-12)
    assert fresh.neighbour_list_builds == 6
    assert cached.neighbour_list_builds < 6
    builds = cached.neighbour_list_builds
    atoms.positions[0] += [0.5, 0.0, 0.0]  # more than skin / 2 from where the list was built
    cached.calculate(atoms, ["energy"])
    assert cached.neighbour_list_builds == builds + 1


def test_unknown_element_is_a_clear_error(model):
    atoms = Atoms("CHFe", positions=[[0, 0, 0], [1.0, 0, 0], [0, 1.5, 0]])
    atoms.calc = GauntCalculator(model)
    with pytest.raises(ValueError, match=r"\['Fe'\] are not among the model's elements"):
        atoms.get_potential_energy()


def test_bad_arguments(model, tmp_path):
    with pytest.raises(ValueError, match="skin"):
        GauntCalculator(model, skin=-1.0)
    with pytest.raises(ValueError, match="dtype"):
        GauntCalculator(model, dtype="float16")
    with pytest.raises(FileNotFoundError):
        GauntCalculator(tmp_path / "missing.pt")


def test_calculator_from_file_agrees_with_evaluate(model, tmp_path):
    path = save_model(tmp_path / "model.pt", model)
    frames = [copper(5), copper(6)]
    ase.io.write(tmp_path / "cu.xyz", frames)
    evaluate_potential(path, tmp_path / "cu.xyz", tmp_path / "out.xyz")
    evaluated = ase.io.read(tmp_path / "out.xyz", ":")
    calc = GauntCalculator(path)
    for atoms, ref in zip(frames, evaluated):
        atoms.calc = calc
        assert atoms.get_potential_energy() == pytest.approx(ref.info["gaunt_energy"], abs=1e-9)
        np.testing.assert_allclose(atoms.get_forces(), ref.arrays["gaunt_forces"], atol=1e-9)
        np.testing.assert_allclose(atoms.get_stress(), ref.info["gaunt_stress"], atol=1e-9)
    single = GauntCalculator(path, dtype="float32")
    assert single.model.embedding.dtype == torch.float32
    frames[0].calc = single
    assert frames[0].get_potential_energy() == pytest.approx(evaluated[0].info["gaunt_energy"], rel=1e-5)


def test_hessian_matches_finite_differences_of_forces(model):
    atoms = molecule(5)
    calc = GauntCalculator(model)
    H = calc.get_hessian(atoms)
    n = 3 * len(atoms)
    assert H.shape == (n, n)
    np.testing.assert_allclose(H, H.T, atol=1e-9)
    d = 1e-5
    numerical = np.zeros((n, n))
    for k in range(n):
        a, i = divmod(k, 3)
        forces = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[a, i] += sign * d
            calc.calculate(moved, ["forces"])
            forces.append(calc.results["forces"].reshape(-1))
        numerical[k] = -(forces[0] - forces[1]) / (2 * d)
    np.testing.assert_allclose(H, numerical, atol=1e-6)


def test_hessian_refuses_a_batch(model):
    from atoms_helpers import graph_of
    from torch_gaunt.models import batch_graphs

    graphs = batch_graphs([graph_of(molecule(0)), graph_of(molecule(1))])
    with pytest.raises(ValueError, match="one structure"):
        hessian(model, graphs)
