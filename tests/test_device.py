"""The same results on any device: the products, the layers, the potential's energies, forces and stresses, a
training step, the ASE calculator, the exported model and one-process DDP, computed on ``--device`` and compared
with the CPU. On a machine with a GPU: ``python -m pytest tests/test_device.py --device cuda``. On the default
``--device cpu`` the same tests check that every path keeps its tensors on the device it is given."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from atoms_helpers import DEMO, copper, graph_of, molecule, tiny_model
from torch_gaunt.atoms import GauntCalculator, weighted_loss
from torch_gaunt.models import batch_graphs
from torch_gaunt.models.export import export_model, load_exported
from torch_gaunt.nn import FeatureInteraction, SphereGridActivation
from torch_gaunt.products import gaunt_tensor_product, many_body_product, pointwise_on_sphere, vector_gaunt_product

F64 = torch.float64


def _same(on_device: torch.Tensor, on_cpu: torch.Tensor, device: torch.device, atol: float = 1e-10):
    assert on_device.device.type == device.type, f"result on {on_device.device}, expected {device}"
    torch.testing.assert_close(on_device.cpu(), on_cpu, rtol=0, atol=atol)


@pytest.mark.parametrize("method", ["dense", "grid", "fourier"])
@pytest.mark.parametrize("degrees", [(1, 1, 2), (3, 2, 3), (6, 6, 6)], ids=str)
def test_gaunt_product_and_its_gradient(device, method, degrees):
    L1, L2, L3 = degrees
    x = torch.randn(7, (L1 + 1) ** 2, 5, dtype=F64, requires_grad=True)
    y = torch.randn(7, (L2 + 1) ** 2, 5, dtype=F64, requires_grad=True)
    z = gaunt_tensor_product(x, y, L3, method=method)
    grads = torch.autograd.grad(z.square().sum(), (x, y))
    xd, yd = (t.detach().to(device).requires_grad_(True) for t in (x, y))
    zd = gaunt_tensor_product(xd, yd, L3, method=method)
    grads_d = torch.autograd.grad(zd.square().sum(), (xd, yd))
    _same(zd, z.detach(), device)
    for g_d, g in zip(grads_d, grads):
        _same(g_d, g, device, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_grid_triton_on_the_device(device, dtype):
    """The fused Triton kernel on the device (skipped where it cannot run: no Triton, or a CPU without
    ``TRITON_INTERPRET=1``) against the grid executor on the CPU, with its gradients."""
    from torch_gaunt.products.backends import grid_triton

    if not grid_triton.available(device):
        pytest.skip(f"grid_triton cannot run on {device}")
    x = torch.randn(33, 16, 6, dtype=dtype, requires_grad=True)  # 198 rows: seven tiles, the last one partial
    y = torch.randn(33, 9, 1, dtype=dtype, requires_grad=True)
    z = gaunt_tensor_product(x, y, 4, method="grid")
    grads = torch.autograd.grad(z.square().sum(), (x, y))
    xd, yd = (t.detach().to(device).requires_grad_(True) for t in (x, y))
    zd = gaunt_tensor_product(xd, yd, 4, method="grid_triton")
    grads_d = torch.autograd.grad(zd.square().sum(), (xd, yd))
    atol = 1e-10 if dtype == F64 else 1e-4
    _same(zd, z.detach(), device, atol=atol)
    for g_d, g in zip(grads_d, grads):
        _same(g_d, g, device, atol=100 * atol)


def test_many_body_vector_and_pointwise_products(device):
    x = torch.randn(4, 9, 3, dtype=F64)
    w_in, w_out = torch.randn(4, 6, 3, 3, dtype=F64), torch.randn(4, 3, 2, 3, dtype=F64)
    expected = many_body_product(x, w_in, w_out, 1)
    _same(many_body_product(x.to(device), w_in.to(device), w_out.to(device), 1), expected, device)
    u, v = torch.randn(5, 12, 2, dtype=F64), torch.randn(5, 27, 2, dtype=F64)
    _same(vector_gaunt_product(u.to(device), v.to(device)), vector_gaunt_product(u, v), device)
    expected = pointwise_on_sphere(x, torch.tanh, 4, 12)
    _same(pointwise_on_sphere(x.to(device), torch.tanh, 4, 12), expected, device)


def test_layers_follow_the_module(device):
    torch.manual_seed(1)
    interaction = FeatureInteraction(2, 4, lmax_out=3).to(F64)
    activation = SphereGridActivation(3, torch.nn.functional.silu).to(F64)
    x, y = torch.randn(6, 9, 4, dtype=F64), torch.randn(6, 9, 4, dtype=F64)
    expected = activation(interaction(x, y))
    on_device = copy.deepcopy(activation).to(device)(copy.deepcopy(interaction).to(device)(x.to(device), y.to(device)))
    _same(on_device, expected, device)


def _structures():
    return [molecule(1), copper(2, cubic=True)]  # a molecule and a periodic cell: stress too


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_potential_energy_forces_and_stress(device, dtype):
    model = tiny_model(dtype=dtype)
    batch = batch_graphs([graph_of(atoms, model.config.r_max, dtype) for atoms in _structures()])
    expected = model(batch, compute_stress=True)
    out = copy.deepcopy(model).to(device)(batch.to(device), compute_stress=True)
    atol = 1e-10 if dtype == F64 else 1e-4
    for key in ("energy", "forces", "stress"):
        _same(out[key].detach(), expected[key].detach(), device, atol)


def test_forces_are_minus_gradient_on_the_device(device):
    model = tiny_model().to(device)
    atoms = molecule(2)

    def energy(positions: np.ndarray) -> float:
        moved = atoms.copy()
        moved.positions = positions
        graph = graph_of(moved, model.config.r_max).to(device)
        return model(batch_graphs([graph]), compute_forces=False)["energy"].item()

    forces = model(batch_graphs([graph_of(atoms, model.config.r_max).to(device)]))["forces"].detach().cpu().numpy()
    h, numerical = 1e-5, np.zeros_like(forces)
    for idx in np.ndindex(*forces.shape):
        step = np.zeros_like(forces)
        step[idx] = h
        numerical[idx] = -(energy(atoms.positions + step) - energy(atoms.positions - step)) / (2 * h)
    np.testing.assert_allclose(forces, numerical, atol=1e-7)


def test_training_step(device):
    model = tiny_model()
    on_device = copy.deepcopy(model).to(device)
    batch = batch_graphs([graph_of(atoms, model.config.r_max) for atoms in _structures()])
    for m, b in ((model, batch), (on_device, batch.to(device))):
        optimizer = torch.optim.Adam(m.parameters(), lr=1e-2, amsgrad=True)
        weighted_loss(m(b, compute_stress=True, training=True), b, (1.0, 100.0, 1.0)).backward()
        optimizer.step()
    for (name, p), p_d in zip(model.named_parameters(), on_device.parameters()):
        assert p_d.grad is not None and torch.isfinite(p_d.grad).all(), name
        _same(p_d.grad, p.grad, device, atol=1e-9)
        _same(p_d.detach(), p.detach(), device, atol=1e-9)


def test_calculator(device):
    model = tiny_model()
    for atoms in _structures():
        reference = atoms.copy()
        reference.calc = GauntCalculator(copy.deepcopy(model))
        atoms.calc = GauntCalculator(copy.deepcopy(model), device=device)
        assert atoms.get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(atoms.get_forces(), reference.get_forces(), atol=1e-10)
        if atoms.pbc.all():
            np.testing.assert_allclose(atoms.get_stress(), reference.get_stress(), atol=1e-10)


def test_exported_model_runs_on_the_device(device, tmp_path):
    model = tiny_model()
    program, _ = load_exported(export_model(copy.deepcopy(model), tmp_path / "model.pt2"))
    program = program.to(device)
    for atoms in _structures():
        g = graph_of(atoms, model.config.r_max)
        expected = model.node_energies(g.species, g.edge_index, g.positions[g.edge_index[1]]
                                       - g.positions[g.edge_index[0]] + g.shifts)  # fmt: skip
        inputs = (g.positions, g.species, g.edge_index, g.shifts)
        _same(program(*(t.to(device) for t in inputs)).detach(), expected.detach(), device)


def test_one_process_ddp_trains_on_the_device(device, tmp_path):
    """``torchrun --nproc_per_node 1 ... --distributed --device D``: backend nccl on CUDA, gloo on the CPU."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
               "-m", "torch_gaunt.cli", "train", "--train_file", str(DEMO), "--max_train", "12", "--num_channels", "4",
               "--max_ell", "2", "--correlation", "2", "--radial_MLP", "[8]", "--batch_size", "3", "--no-progress",
               "--max_num_epochs", "1", "--work_dir", str(tmp_path), "--name", "ddp", "--distributed",
               "--device", str(device)]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    backend = "nccl" if device.type == "cuda" else "gloo"
    assert f"distributed: 1 processes, backend {backend}" in result.stdout
    metrics = json.loads((tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()[-1])
    assert np.isfinite(metrics["valid_loss"])
