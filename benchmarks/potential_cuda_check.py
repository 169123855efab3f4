"""CUDA check of the Gaunt-MACE potential: the same energies, forces and stresses on CPU and GPU (float64), a
training step on the GPU, and GPU timings of a training step and an inference at the sizes of docs/potential.md.

Run: ``python benchmarks/potential_cuda_check.py`` on a machine with a GPU (the demo data ships with the package).
"""

import sys
import time

import numpy as np
import torch
from ase.build import bulk

from torch_gaunt.atoms import configuration_from_atoms, read_configurations, to_graph, weighted_loss
from torch_gaunt.cli.train import DEMO_DATA
from torch_gaunt.models import GauntMACE, ModelConfig, batch_graphs


def model_of(channels, max_L, dtype, elements=(1, 6, 8, 29)):
    torch.manual_seed(0)
    config = ModelConfig(atomic_numbers=list(elements), num_channels=channels, max_L=max_L, avg_num_neighbors=12.0)
    return GauntMACE(config).to(dtype)


DEVICE = sys.argv[1] if len(sys.argv) > 1 else "cuda"


def sync():
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def median_ms(f, repeats=20):
    for _ in range(3):
        f()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        sync()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def main():
    print(torch.__version__, torch.cuda.get_device_name(0) if DEVICE.startswith("cuda") else DEVICE)
    configs = read_configurations(DEMO_DATA)[3:8]
    cu = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2)
    cu.rattle(0.05, seed=1)
    graphs = [to_graph(c, [1, 6, 8, 29], 5.0) for c in configs]
    graphs.append(to_graph(configuration_from_atoms(cu, source="Cu"), [1, 6, 8, 29], 5.0))
    batch = batch_graphs(graphs)
    model = model_of(16, 1, torch.float64)
    cpu = model(batch, compute_stress=True)
    gpu = model.to(DEVICE)(batch.to(DEVICE), compute_stress=True)
    for key in ("energy", "forces", "stress"):
        err = (gpu[key].cpu() - cpu[key]).abs().max().item()
        print(f"cpu vs device float64 {key}: max |diff| = {err:.2e}")
        assert err < 1e-9, key
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    out = model(batch.to(DEVICE), compute_stress=True, training=True)
    loss = weighted_loss(out, batch.to(DEVICE), (1.0, 100.0, 1.0))
    loss.backward()
    opt.step()
    print(
        f"training step on the device: loss {loss.item():.4f}, finite grads:",
        all(torch.isfinite(p.grad).all() for p in model.parameters()),
    )
    acac = batch_graphs(graphs[:5])
    print("| channels | max_L | dtype | train step (ms) | inference (ms) |")
    for channels, max_L in ((64, 1), (128, 2)):
        for dtype in (torch.float32, torch.float64):
            m = model_of(channels, max_L, dtype).to(DEVICE)
            b = acac.to(DEVICE, dtype)
            o = torch.optim.Adam(m.parameters(), lr=1e-3, amsgrad=True)

            def step(m=m, b=b, o=o):
                o.zero_grad()
                weighted_loss(m(b, training=True), b, (1.0, 100.0, 1.0)).backward()
                o.step()

            def infer(m=m, b=b):
                m(b)

            print(f"| {channels} | {max_L} | {str(dtype)[6:]} | {median_ms(step):.1f} | {median_ms(infer):.1f} |")


if __name__ == "__main__":
    main()
