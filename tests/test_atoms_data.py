"""Reading labelled structures, E0s, training statistics and neighbour lists, with the errors bad data gets."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.neighborlist import neighbor_list

from atoms_helpers import DEMO, ELEMENTS, copper, molecule
from torch_gaunt.atoms import (
    Keys,
    check_e0s,
    configuration_from_atoms,
    fit_e0s,
    neighbour_list,
    read_configurations,
    resolve_e0s,
    scale_shift,
    to_graph,
)


def test_reads_single_point_calculator_labels():
    """ASE >= 3.23 moves plain energy/forces into a SinglePointCalculator: they are read from there."""
    configs = read_configurations(DEMO)
    assert len(configs) == 203
    assert [c.config_type for c in configs[:3]] == ["IsolatedAtom"] * 3
    c = configs[3]
    assert c.energy == pytest.approx(-9391.45554428476)
    assert c.forces.shape == (15, 3) and np.abs(c.forces).max() > 0.1
    assert c.config_type == "300K_MD" and "frame 3" in c.source


def test_reads_custom_keys_weights_stress_and_virials(tmp_path):
    a = copper()
    a.info.update(REF_energy=-3.5, config_weight=2.0, config_type="bulk")
    a.arrays["REF_forces"] = np.ones((1, 3))
    a.info["REF_stress"] = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    b = copper(1)
    b.info.update(REF_energy=-3.4)
    b.arrays["REF_forces"] = np.zeros((1, 3))
    b.info["REF_virials"] = np.eye(3).ravel() * b.get_volume()
    write(tmp_path / "x.xyz", [a, b])
    keys = Keys(energy="REF_energy", forces="REF_forces", stress="REF_stress", virials="REF_virials")
    ca, cb = read_configurations(tmp_path / "x.xyz", keys)
    assert ca.energy == -3.5 and ca.weight == 2.0 and ca.config_type == "bulk"
    np.testing.assert_allclose(ca.stress, [[1, 6, 5], [6, 2, 4], [5, 4, 3]])  # Voigt xx yy zz yz xz xy
    np.testing.assert_allclose(cb.stress, -np.eye(3))  # stress = -virials / V
    assert cb.weight == 1.0 and cb.config_type == "Default"


def _with_calc(atoms, energy, forces=None):
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
    return atoms


def test_missing_key_names_file_and_frame(tmp_path):
    frames = [_with_calc(molecule(k), -10.0 - k, np.zeros((7, 3))) for k in range(3)]
    frames[1].calc = SinglePointCalculator(frames[1], energy=-5.0)  # no forces
    write(tmp_path / "bad.xyz", frames)
    with pytest.raises(ValueError, match=r"bad.xyz, frame 1: no forces under the key 'forces'"):
        read_configurations(tmp_path / "bad.xyz")
    with pytest.raises(ValueError, match="no frame has an energy under the key 'REF_energy'"):
        read_configurations(tmp_path / "bad.xyz", Keys(energy="REF_energy", forces="nope"), require_energy=True)


def test_bad_structures_are_refused():
    nan = molecule()
    nan.positions[2, 1] = np.nan
    with pytest.raises(ValueError, match="s.xyz, frame 4: positions: NaN or inf"):
        configuration_from_atoms(nan, source="s.xyz, frame 4")
    with pytest.raises(ValueError, match="no atoms"):
        configuration_from_atoms(Atoms(), source="empty")
    flat = Atoms("Cu2", positions=[[0, 0, 0], [1, 1, 0]], cell=[[3, 0, 0], [0, 3, 0], [3, 3, 0]], pbc=True)
    with pytest.raises(ValueError, match="zero volume"):
        configuration_from_atoms(flat, source="flat")
    bad_energy = _with_calc(molecule(), np.inf)
    with pytest.raises(ValueError, match="energy .energy.: NaN or inf"):
        configuration_from_atoms(bad_energy, source="inf")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_configurations("/nonexistent/file.xyz")


def test_unknown_element_is_named():
    config = configuration_from_atoms(Atoms("CuAu", positions=[[0, 0, 0], [2, 0, 0]]), source="alloy.xyz, frame 7")
    with pytest.raises(ValueError, match=r"alloy.xyz, frame 7: element\(s\) \['Au'\] are not among"):
        to_graph(config, ELEMENTS, 3.0)


@pytest.mark.parametrize(
    "pbc", [(True, True, True), (True, False, True), (False, False, False)], ids=["periodic", "mixed", "open"]
)
def test_neighbour_list_matches_ase(pbc):
    rng = np.random.default_rng(0)
    cell = np.array([[3.0, 0.2, 0.1], [0.5, 3.2, 0.0], [0.3, -0.4, 2.9]])  # non-orthogonal
    atoms = Atoms("Cu5", positions=rng.random((5, 3)) * 3, cell=cell, pbc=pbc)
    i, j, S = neighbor_list("ijS", atoms, 3.5)
    edge_index, shifts = neighbour_list(atoms.positions, atoms.cell.array, atoms.pbc, 3.5)
    ours = sorted(zip(edge_index[0], edge_index[1], map(tuple, np.rint(shifts @ np.linalg.inv(cell)).astype(int))))
    assert ours == sorted(zip(i, j, map(tuple, S.astype(int))))
    vectors = atoms.positions[edge_index[1]] - atoms.positions[edge_index[0]] + shifts
    assert np.linalg.norm(vectors, axis=1).max() < 3.5


def test_e0s_sources(tmp_path):
    configs = read_configurations(DEMO)
    from_frames = resolve_e0s("auto", configs, [1, 6, 8])
    assert from_frames == {1: -13.568422178253735, 6: -1026.8538996116154, 8: -2037.796869412825}
    assert resolve_e0s("{1: -1, 6: -2, 8: -3}", configs, [1, 6, 8]) == {1: -1.0, 6: -2.0, 8: -3.0}
    (tmp_path / "e0s.json").write_text('{"1": -1.5, "6": -2.5, "8": -3.5}')
    assert resolve_e0s(str(tmp_path / "e0s.json"), configs, [1, 6, 8])[8] == -3.5
    with pytest.raises(ValueError, match=r"no isolated-atom energy for atomic numbers \[29\]"):
        resolve_e0s("isolated", configs, [1, 6, 8, 29])
    with pytest.raises(ValueError, match="expected 'auto'"):
        resolve_e0s("zero", configs, [1, 6, 8])


def test_least_squares_e0s_recover_known_values():
    rng = np.random.default_rng(1)
    truth = {1: -13.6, 6: -1027.0, 8: -2038.0}
    configs = []
    for k in range(12):
        numbers = rng.choice([1, 6, 8], size=rng.integers(3, 9))
        atoms = _with_calc(Atoms(numbers=numbers, positions=rng.normal(size=(len(numbers), 3)) * 3), 0.0)
        atoms.calc.results["energy"] = sum(truth[int(z)] for z in numbers) - 0.01 * len(numbers)
        configs.append(configuration_from_atoms(atoms, source=f"frame {k}"))
    fitted = fit_e0s(configs, [1, 6, 8])
    for z in truth:
        assert fitted[z] == pytest.approx(truth[z] - 0.01, abs=1e-8)


def test_bad_e0s_warn():
    configs = read_configurations(DEMO)
    good = resolve_e0s("auto", configs, [1, 6, 8])
    assert abs(check_e0s(configs, good)) < 10  # -4.9 eV/atom of binding
    hartree = {z: e / 27.211386 for z, e in good.items()}  # E0s in the wrong unit
    with pytest.warns(UserWarning, match="mean interaction energy is"):
        check_e0s(configs, hartree)


def test_scale_shift_and_graph_labels():
    configs = read_configurations(DEMO)[:23]
    e0s = resolve_e0s("auto", configs, [1, 6, 8])
    scale, shift = scale_shift(configs, e0s)
    forces = np.concatenate([c.forces for c in configs[3:]])
    assert scale == pytest.approx(np.sqrt(np.mean(forces**2)))
    assert shift == pytest.approx(np.mean([(c.energy - sum(e0s[z] for z in c.numbers)) / 15 for c in configs[3:]]))
    graph = to_graph(configs[3], [1, 6, 8], 5.0)
    assert graph.energy_weight.item() == 1 and graph.stress_weight.item() == 0
    assert graph.stress.isnan().all()
