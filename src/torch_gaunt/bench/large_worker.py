"""Time and peak memory of one potential on one large structure, in a fresh process (so that the peak belongs to
this structure alone). Run by ``torch_gaunt.bench.large`` with our Python (``ours``) or MACE's (``mace``):

    python large_worker.py ours|mace periodic|molecules ATOMS float64|float32 CHANNELS MAX_L R_MAX CHUNK
    -> one JSON line: atoms, edges, seconds (median of 3 calls after one warm-up), peak_mb, parameters

A call is the energy and the forces. ``periodic`` is an fcc Cu supercell (a = 3.61 Å, rattled by 0.05 Å);
``molecules`` is a cubic grid of acetylacetone molecules 7 Å apart, without periodic boundaries. ``CHUNK`` is our
convolutions' edge chunk, and ``CHUNK // 16`` our product basis's atom chunk (0: none); MACE has no such option.

Peak memory on the CPU is the growth of the resident set (``ru_maxrss``) over the process's size just before the
first call, taken after the heap's free memory is handed back to the system (glibc's ``malloc_trim``): otherwise
memory that building the model allocated and freed stays resident, and the call reuses it without growing the
resident set (mace-torch's construction leaves about 100 MB so, which hid most of its small-structure peaks). On
CUDA it is the peak allocation.
"""

import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ACAC = [  # one acetylacetone (enol) geometry, Å
    ("O", (1.23, 1.25, 0.0)), ("O", (-1.27, 1.22, 0.0)), ("C", (1.24, -0.02, 0.0)), ("C", (0.0, -0.7, 0.0)),
    ("C", (-1.21, -0.05, 0.0)), ("C", (2.55, -0.75, 0.0)), ("C", (-2.52, -0.79, 0.0)), ("H", (0.0, -1.78, 0.0)),
    ("H", (0.0, 1.5, 0.0)), ("H", (3.39, -0.06, 0.0)), ("H", (2.62, -1.4, 0.88)), ("H", (2.62, -1.4, -0.88)),
    ("H", (-3.37, -0.11, 0.0)), ("H", (-2.57, -1.44, 0.88)), ("H", (-2.57, -1.44, -0.88)),
]  # fmt: skip


def structure(kind: str, atoms: int):
    """The ``kind`` structure with about ``atoms`` atoms (the nearest size the construction allows)."""
    from ase import Atoms
    from ase.build import bulk

    if kind == "periodic":
        n = max(1, round((atoms / 4) ** (1 / 3)))
        out = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((n, n, n))
        out.rattle(0.05, seed=0)
        return out
    k = max(1, round((atoms / len(ACAC)) ** (1 / 3)))
    symbols, positions = [], []
    for i in range(k):
        for j in range(k):
            for m in range(k):
                for s, p in ACAC:
                    symbols.append(s)
                    positions.append(np.asarray(p) + 7.0 * np.array([i, j, m]))
    return Atoms(symbols=symbols, positions=positions)


def ours(atoms, dtype, channels, max_L, r_max, chunk, device):
    from torch_gaunt.atoms import configuration_from_atoms, to_graph
    from torch_gaunt.models import GauntMACE, ModelConfig

    numbers = sorted({int(z) for z in atoms.numbers})
    graph = to_graph(configuration_from_atoms(atoms, source="bench"), numbers, r_max).to(device, dtype)
    torch.manual_seed(0)
    config = ModelConfig(
        atomic_numbers=numbers, r_max=r_max, num_channels=channels, max_L=max_L, avg_num_neighbors=12.0
    )
    model = GauntMACE(config).to(device=device, dtype=dtype).eval()
    model.set_chunk_sizes(edges=chunk or None, nodes=chunk // 16 or None)
    call = lambda: model(graph)["forces"]  # noqa: E731
    return call, graph.edge_index.shape[1], sum(p.numel() for p in model.parameters())


def mace(atoms, dtype, channels, max_L, r_max, device):
    from mace import data, tools
    from mace.tools import torch_geometric
    from mace_potential_worker import build_mace  # beside this file, in MACE's environment

    numbers = sorted({int(z) for z in atoms.numbers})
    z_table = tools.AtomicNumberTable(numbers)
    config = data.config_from_atoms(atoms, key_specification=data.KeySpecification())
    graph = data.AtomicData.from_config(config, z_table=z_table, cutoff=r_max)
    batch = next(iter(torch_geometric.dataloader.DataLoader([graph], batch_size=1))).to(device).to_dict()
    model = build_mace(numbers, channels, max_L, r_max).to(device)
    call = lambda: model(batch, training=False, compute_force=True)["forces"]  # noqa: E731
    return call, int(batch["edge_index"].shape[1]), sum(p.numel() for p in model.parameters())


def release_free_heap() -> None:
    """Hand the C heap's free memory back to the system (glibc ``malloc_trim(0)``); nothing where that is not glibc."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def main():
    which, kind, n, dtype, channels, max_L, r_max, chunk = sys.argv[1:9]
    device = sys.argv[9] if len(sys.argv) > 9 else "cpu"
    dtype = getattr(torch, dtype)
    torch.set_default_dtype(dtype)
    atoms = structure(kind, int(n))
    args = (atoms, dtype, int(channels), int(max_L), float(r_max))
    call, edges, params = ours(*args, int(chunk), device) if which == "ours" else mace(*args, device)
    cuda = device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        release_free_heap()
        with open("/proc/self/statm") as handle:
            base = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    times = []
    for k in range(4):
        sync()
        start = time.perf_counter()
        call()
        sync()
        if k:
            times.append(time.perf_counter() - start)
    if cuda:
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    result = {"atoms": len(atoms), "edges": edges, "seconds": statistics.median(times), "peak_mb": peak / 2**20}
    print("@", json.dumps({**result, "parameters": params}), flush=True)


if __name__ == "__main__":
    main()
