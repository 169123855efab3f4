"""The exported potential: a torch.export archive that a fresh process loads without torch-gaunt, giving the
same energies and forces as the model, for structures of any size."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from atoms_helpers import copper, energy_of, graph_of, molecule, tiny_model
from torch_gaunt.models.export import export_model, load_exported

LOADER = """
import sys, torch
program = torch.export.load(sys.argv[1]).module()
inputs = torch.load(sys.argv[2], weights_only=True)
assert not any(name.startswith("torch_gaunt") for name in sys.modules), "the loader imported torch_gaunt"
results = []
for x in inputs:
    positions = x["positions"].clone().requires_grad_(True)
    node = program(positions, x["species"], x["edge_index"], x["shifts"])
    forces = -torch.autograd.grad(node.sum(), positions)[0]
    results.append({"energy": node.sum().detach(), "forces": forces})
torch.save(results, sys.argv[3])
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny_model()
    path = export_model(model, tmp_path_factory.mktemp("export") / "model.pt2")
    return model, path


def test_exported_model_loads_without_torch_gaunt_and_agrees(exported, tmp_path):
    model, path = exported
    structures = [molecule(3), copper(1, cubic=True)]  # 7 and 4 atoms: the sizes are dynamic
    inputs = []
    for atoms in structures:
        g = graph_of(atoms)
        inputs.append({"positions": g.positions, "species": g.species, "edge_index": g.edge_index, "shifts": g.shifts})
    torch.save(inputs, tmp_path / "inputs.pt")
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    result = subprocess.run([sys.executable, str(script), str(path), str(tmp_path / "inputs.pt"),
                             str(tmp_path / "out.pt")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = torch.load(tmp_path / "out.pt", weights_only=True)
    for atoms, out in zip(structures, outputs):
        reference = energy_of(model, atoms)
        torch.testing.assert_close(out["energy"], reference["energy"][0].detach(), rtol=0, atol=1e-10)
        torch.testing.assert_close(out["forces"], reference["forces"].detach(), rtol=0, atol=1e-10)


def test_exported_metadata(exported):
    model, path = exported
    program, metadata = load_exported(path)
    assert metadata["atomic_numbers"] == list(model.config.atomic_numbers)
    assert metadata["r_max"] == model.config.r_max and metadata["dtype"] == "float64"
    g = graph_of(molecule(0))
    node = program(g.positions, g.species, g.edge_index, g.shifts)
    torch.testing.assert_close(node.sum(), energy_of(model, molecule(0))["energy"][0].detach(), rtol=0, atol=1e-10)


def test_export_command(tmp_path, capsys):
    from torch_gaunt.cli import main
    from torch_gaunt.models import save_model

    model_file = save_model(tmp_path / "model.pt", tiny_model())
    assert main(["export", "--model", str(model_file), "--output", str(tmp_path / "model.pt2")]) == 0
    assert "wrote" in capsys.readouterr().out
    program, metadata = load_exported(tmp_path / "model.pt2")
    g = graph_of(copper(2))
    energy = program(g.positions, g.species, g.edge_index, g.shifts).sum()
    torch.testing.assert_close(energy, energy_of(tiny_model(), copper(2))["energy"][0].detach(), rtol=0, atol=1e-10)
