"""torch.compile on the Gaunt-MACE potential: eager vs compiled energy + forces, interleaved, on the AcAc demo batch
(5 molecules) and a periodic Cu cell (256 atoms), 64 channels, max_L 1, float64 and float32; and whether a
training step (which differentiates the forces again) compiles.

Run from the repository root:  python benchmarks/compile_potential.py [--out docs/benchmarks/compile]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from ase.build import bulk

from torch_gaunt.atoms import configuration_from_atoms, read_configurations, to_graph, weighted_loss
from torch_gaunt.bench.report import markdown_table, write_report
from torch_gaunt.bench.timing import compare, machine_info
from torch_gaunt.models import GauntMACE, ModelConfig, batch_graphs
from torch_gaunt.utils import tune_cpu_allocator

DYNAMIC = False  # dynamic=True fails in Inductor (torch 2.13): see the report
DEMO = Path(__file__).resolve().parents[1] / "src" / "torch_gaunt" / "atoms" / "demo" / "acac_300K_demo.xyz"


def structures():
    acac = [c for c in read_configurations(DEMO) if len(c) > 1][:5]
    copper = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((4, 4, 4))
    copper.rattle(0.05, seed=0)
    return {
        "AcAc, 5 molecules (75 atoms)": ([to_graph(c, [1, 6, 8], 5.0) for c in acac], [1, 6, 8]),
        "Cu, periodic (256 atoms)": ([to_graph(configuration_from_atoms(copper, source="Cu"), [29], 5.0)], [29]),
    }


def model_for(numbers, dtype):
    torch.manual_seed(0)
    config = ModelConfig(atomic_numbers=numbers, num_channels=64, max_L=1, avg_num_neighbors=12.0)
    return GauntMACE(config).to(dtype).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    tuned = tune_cpu_allocator()
    rows, data = [], {}
    for dtype in (torch.float64, torch.float32):
        for name, (graphs, numbers) in structures().items():
            batch = batch_graphs(graphs).to(dtype=dtype)
            eager = model_for(numbers, dtype)
            compiled = model_for(numbers, dtype)
            torch._dynamo.reset()  # a fresh compilation for each structure
            compiled.node_energies = torch.compile(compiled.node_energies, dynamic=DYNAMIC)
            start = time.perf_counter()
            compiled(batch)["forces"]
            compile_s = time.perf_counter() - start
            torch.testing.assert_close(compiled(batch)["forces"], eager(batch)["forces"], rtol=1e-4, atol=1e-6)
            ops = {
                "eager": lambda m=eager, b=batch: m(b)["forces"],
                "compiled": lambda m=compiled, b=batch: m(b)["forces"],
            }
            t = compare(ops, rounds=7, round_time=0.5)
            e, c = t["eager"].median, t["compiled"].median
            rows.append([name, str(dtype).split(".")[-1], f"{e * 1e3:.1f}", f"{c * 1e3:.1f}", f"{e / c:.2f}x",
                         f"{compile_s:.0f}"])  # fmt: skip
            data[f"{name} {dtype}"] = {"eager_s": e, "compiled_s": c, "compile_s": compile_s}
            print(rows[-1], flush=True)
    # training: forces with create_graph, then backward through them; with AOTAutograd's donated buffers on
    # (the default) and off
    import torch._functorch.config as functorch_config

    graphs, numbers = structures()["AcAc, 5 molecules (75 atoms)"]
    attempts = []
    for donated in (True, False):
        functorch_config.donated_buffer = donated
        torch._dynamo.reset()
        batch = batch_graphs(graphs)
        model = model_for(numbers, torch.float64)
        model.node_energies = torch.compile(model.node_energies, dynamic=DYNAMIC)
        try:
            out = model(batch, training=True)
            batch.energy[:], batch.forces[:] = 0.0, 0.0
            weighted_loss(out, batch, (1.0, 100.0, 0.0)).backward()
            attempts.append(f"donated buffers {donated}: a training step ran compiled")
        except Exception as error:  # report what PyTorch says
            first = str(error).splitlines()[0][:240]
            attempts.append(f"donated buffers {donated}: {type(error).__name__}: {first}")
    training = "; ".join(attempts)
    print(training)
    table = markdown_table(["structures", "dtype", "eager (ms)", "compiled (ms)", "speed-up", "compile (s)"], rows)
    print(table)
    if args.out:
        notes = (__doc__.split("\n\n")[0] + "\n\nCompiled: `model.node_energies = torch.compile(model.node_energies, "
                 "dynamic=False)` (one compilation per structure size: `dynamic=True` stops in Inductor with "
                 "`AssertionError: For s22*s90 + s90, expected [s22] to have been codegen-ed`); forces by autograd "
                 "through the compiled energy. Medians of 7 interleaved rounds.\n\n"
                 f"Training: {training}.")  # fmt: skip
        write_report(args.out, "potential", "torch.compile on Gaunt-MACE: energy + forces",
                     "python benchmarks/compile_potential.py --out " + args.out,
                     machine_info() + f", allocator tuned: {bool(tuned)}", [("Energy + forces", table)],
                     {"results": data, "training": training}, None, notes)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
