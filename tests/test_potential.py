"""The Gaunt-MACE potential: symmetries, forces and stress against finite differences, periodic images, batching,
isolated atoms, saving and loading."""

import numpy as np
import pytest
import torch
from ase.build import make_supercell

from atoms_helpers import ELEMENTS, copper, energy_of, graph_of, molecule, tiny_model
from torch_gaunt.models import GauntMACE, ModelConfig, batch_graphs, load_model, save_model
from torch_gaunt.so3.rotations import random_rotation


@pytest.mark.parametrize("selfmix", [False, True])
def test_energy_invariant_forces_equivariant(selfmix):
    model = tiny_model(selfmix=selfmix)
    atoms = molecule()
    ref = energy_of(model, atoms)
    torch.manual_seed(3)
    R = random_rotation(dtype=torch.float64).numpy()
    for Q in (R, -R):  # rotation, and rotation with inversion
        moved = atoms.copy()
        moved.positions = atoms.positions @ Q.T + np.array([0.3, -1.2, 2.0])
        out = energy_of(model, moved)
        assert abs(out["energy"].item() - ref["energy"].item()) < 1e-10
        assert torch.allclose(out["forces"], ref["forces"] @ torch.from_numpy(Q).T, atol=1e-10)
    # permutation of same-element atoms (the two carbons, the hydrogens)
    perm = [1, 0, 2, 5, 3, 4, 6]
    out = energy_of(model, atoms[perm])
    assert abs(out["energy"].item() - ref["energy"].item()) < 1e-10
    assert torch.allclose(out["forces"], ref["forces"][perm], atol=1e-10)


def _finite_difference(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        d = np.zeros_like(x)
        d[idx] = h
        grad[idx] = (f(x + d) - f(x - d)) / (2 * h)
    return grad


def test_forces_are_minus_gradient():
    model = tiny_model()
    atoms = molecule(1)

    def energy(pos):
        moved = atoms.copy()
        moved.positions = pos
        return energy_of(model, moved, compute_forces=False)["energy"].item()

    forces = energy_of(model, atoms)["forces"].numpy()
    assert np.abs(forces).max() > 1e-3
    np.testing.assert_allclose(forces, -_finite_difference(energy, atoms.positions), atol=1e-7)


@pytest.mark.parametrize("pbc", [(True, True, True), (True, True, False)], ids=["periodic", "mixed"])
def test_stress_is_strain_derivative(pbc):
    """stress = (1/V) dE/dε (ASE's sign), in a non-orthogonal cell, periodic and mixed."""
    model = tiny_model()
    atoms = copper(2) * (1, 1, 2)
    atoms.set_cell(atoms.cell.array + np.array([[0, 0.2, 0.1], [0.3, 0, 0], [0, -0.2, 0]]), scale_atoms=True)
    atoms.pbc = pbc
    out = energy_of(model, atoms, compute_stress=True)

    def energy(eps):
        strained = atoms.copy()
        sym = 0.5 * (eps + eps.T)
        strained.set_cell(atoms.cell.array @ (np.eye(3) + sym), scale_atoms=True)
        return energy_of(model, strained, compute_forces=False)["energy"].item()

    expected = _finite_difference(energy, np.zeros((3, 3))) / atoms.get_volume()
    assert np.abs(expected).max() > 1e-4
    np.testing.assert_allclose(out["stress"][0].numpy(), expected, atol=1e-9)
    np.testing.assert_allclose(out["virials"][0].numpy(), -expected * atoms.get_volume(), atol=1e-7)


def test_molecule_has_zero_stress():
    out = energy_of(tiny_model(), molecule(), compute_stress=True)
    assert torch.equal(out["stress"], torch.zeros(1, 3, 3, dtype=torch.float64))


def test_supercell_energy_per_atom():
    model = tiny_model()
    atoms = copper(4, cubic=True)
    big = make_supercell(atoms, np.diag([2, 1, 2]))
    small_out, big_out = energy_of(model, atoms, compute_stress=True), energy_of(model, big, compute_stress=True)
    assert abs(small_out["energy"].item() / len(atoms) - big_out["energy"].item() / len(big)) < 1e-10
    assert torch.allclose(small_out["stress"], big_out["stress"], atol=1e-10)
    assert torch.allclose(big_out["forces"][: len(atoms)], small_out["forces"], atol=1e-10)


def test_batch_equals_single_structures():
    model = tiny_model()
    structures = [molecule(0), copper(1), molecule(2)]
    graphs = [graph_of(a) for a in structures]
    together = model(batch_graphs(graphs), compute_stress=True)
    for k, g in enumerate(graphs):
        alone = model(batch_graphs([g]), compute_stress=True)
        assert abs(together["energy"][k].item() - alone["energy"].item()) < 1e-10
        assert torch.allclose(together["stress"][k], alone["stress"][0], atol=1e-10)


@pytest.mark.parametrize("options", [{"residual_first": True}, {"residual_first": False, "energy_offset": False}])
def test_isolated_atom_energy_is_e0_plus_one_body_term(options):
    """An atom without neighbours gets a constant per element (its messages vanish), zero force, and the same energy
    when it sits far away from a molecule in the same structure. Without the first layer's skip connection and the
    energy offsets that constant is E0 + shift (the readouts of zero features vanish)."""
    from ase import Atoms

    model = tiny_model(**options)
    alone = energy_of(model, Atoms("O", positions=[[0, 0, 0]]))
    assert torch.equal(alone["forces"], torch.zeros(1, 3, dtype=torch.float64))
    moved = energy_of(model, Atoms("O", positions=[[3.0, -1.0, 7.0]]))
    assert abs(moved["energy"].item() - alone["energy"].item()) < 1e-12
    mol = molecule()
    far = mol + Atoms("O", positions=[[40.0, 0, 0]])
    combined = energy_of(model, far)["energy"].item()
    assert abs(combined - energy_of(model, mol)["energy"].item() - alone["energy"].item()) < 1e-10
    if not options["residual_first"]:
        expected = model.e0s[ELEMENTS.index(8)].item() + model.shift.item()
        assert alone["energy"].item() == pytest.approx(expected, abs=1e-12)


def test_float32_close_to_float64():
    m64 = tiny_model(torch.float64)
    m32 = tiny_model(torch.float64).to(torch.float32)
    atoms = molecule()
    e64, e32 = energy_of(m64, atoms), energy_of(m32, atoms)
    assert e32["energy"].dtype == torch.float32
    assert abs(e32["energy"].item() - e64["energy"].item()) < 1e-4
    assert torch.allclose(e32["forces"].double(), e64["forces"], atol=1e-4)


def test_training_graph_is_differentiable_twice():
    """training=True keeps the graph of the forces: a force loss has gradients for every parameter but the per-element
    energy offsets (constants, which no force depends on)."""
    model = tiny_model()
    out = model(batch_graphs([graph_of(molecule())]), training=True)
    (out["forces"] ** 2).sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert grads.pop("energy_offset") is None
    assert all(g is not None for g in grads.values())
    assert sum(float(g.abs().sum()) for g in grads.values()) > 0


def test_save_and_load(tmp_path):
    model = tiny_model(selfmix=True)
    path = save_model(tmp_path / "model.pt", model, extra={"note": "test"})
    loaded = load_model(path)
    atoms = copper(3)
    a, b = energy_of(model, atoms, compute_stress=True), energy_of(loaded, atoms, compute_stress=True)
    for key in ("energy", "forces", "stress"):
        assert torch.equal(a[key], b[key])
    assert loaded.config == model.config
    assert load_model(path, dtype=torch.float32).embedding.dtype == torch.float32
    # the file holds no pickled modules: weights_only loading works
    assert torch.load(path, weights_only=True)["format"] == "torch-gaunt-model"


def test_load_refuses_other_format_and_non_models(tmp_path):
    model = tiny_model()
    path = save_model(tmp_path / "model.pt", model)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 99
    payload["torch_gaunt_version"] = "9.0.0"
    torch.save(payload, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="torch-gaunt 9.0.0 in format 99"):
        load_model(tmp_path / "future.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a torch-gaunt model"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="not a torch-gaunt model"):
        load_model(tmp_path / "text.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.pt")


def test_config_errors():
    with pytest.raises(ValueError, match="num_channels"):
        ModelConfig(atomic_numbers=[1], num_channels=0)
    with pytest.raises(ValueError, match="max_L"):
        ModelConfig(atomic_numbers=[1], max_L=4, max_ell=3)
    with pytest.raises(ValueError, match="e0s"):
        ModelConfig(atomic_numbers=[1, 8], e0s=[1.0])
    with pytest.raises(ValueError, match="unknown fields"):
        ModelConfig.from_dict({"atomic_numbers": [1], "hidden_irreps": "8x0e"})
    with pytest.raises(ValueError, match="at least one element"):
        GauntMACE(ModelConfig())


def test_edge_and_node_chunks_give_the_same_energy_forces_and_stress():
    model = tiny_model()
    atoms = copper(2, cubic=True).repeat((2, 1, 1))
    whole = energy_of(model, atoms, compute_stress=True)
    model.set_chunk_sizes(edges=37, nodes=3)
    chunked = energy_of(model, atoms, compute_stress=True)
    model.set_chunk_sizes()
    for key in ("energy", "forces", "stress"):
        torch.testing.assert_close(chunked[key], whole[key], rtol=0, atol=1e-11)
    with pytest.raises(ValueError, match="edges"):
        model.set_chunk_sizes(edges=0)
