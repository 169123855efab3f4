"""Time a whole mace-torch potential (``ScaleShiftMACE``) in its own Python environment, round by round on request,
so that ``torch_gaunt.bench.potential`` interleaves it with ours. Same protocol as ``mace_worker.py``:

    python mace_potential_worker.py structures.xyz batch_size r_max channels max_L correlation float64 [device [backend]]
    -> @ ready {"parameters": n, "backend": ..., "cueq_ops": ...}
    forward            -> @ seconds per inference (energy and forces) of the batch, over one round
    forward_backward   -> @ seconds per training step (forces with create_graph, loss, backward, Adam step)
    memory             -> @ peak bytes of one training step
    quit

The model is MACE's default for ``mace_run_train`` (residual interaction blocks, 2 layers, 8 Bessel functions,
polynomial cutoff p = 5, edge harmonics to l = 3, radial MLP [64, 64, 64], MLP readout 16x0e). ``device`` is
``cpu`` (default) or ``cuda``; ``backend`` is ``e3nn`` (default) or ``cueq``: the same model converted by MACE's own
``run_e3nn_to_cueq`` (``mace.cli.convert_e3nn_cueq``, what ``--enable_cueq`` trains with) to cuEquivariance's
kernels. ``cueq_ops`` says whether cuEquivariance's compiled ops were found; without them it runs its slow
reference implementation, which times nothing worth quoting. With ``MACE_CUEQ_CACHE=DIR`` a converted model is
saved there and reused by later workers of the same size and dtype (the conversion takes 25-70 s).
"""

import json
import os
import sys

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch  # noqa: E402
from mace_worker import load_timing  # noqa: E402


def build_mace(numbers: list, channels: int, max_L: int, r_max: float, correlation: int = 3):
    """MACE's default ``ScaleShiftMACE`` at the given size (zero E0s, scale 1, shift 0, 12 average neighbours)."""
    import numpy as np
    from e3nn import o3
    from mace import modules

    hidden = o3.Irreps(" + ".join(f"{channels}x{l}{'eo'[l % 2]}" for l in range(max_L + 1)))
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    return modules.ScaleShiftMACE(
        r_max=r_max, num_bessel=8, num_polynomial_cutoff=5, max_ell=3, interaction_cls=block,
        interaction_cls_first=block, num_interactions=2, num_elements=len(numbers), hidden_irreps=hidden,
        MLP_irreps=o3.Irreps("16x0e"), atomic_energies=np.zeros(len(numbers)), avg_num_neighbors=12.0,
        atomic_numbers=numbers, correlation=correlation, gate=torch.nn.functional.silu, radial_MLP=[64, 64, 64],
        atomic_inter_scale=1.0, atomic_inter_shift=0.0,
    )  # fmt: skip


def with_backend(model, backend: str, device: str, key: str = "model"):
    """``(model, cueq_ops)``: the model itself for ``e3nn``; for ``cueq`` the same weights in a model that runs
    cuEquivariance's kernels, converted by MACE's own ``run_e3nn_to_cueq``, and whether cuEquivariance's compiled
    ops were found (``None`` for ``e3nn``). ``key`` names the model in ``$MACE_CUEQ_CACHE``."""
    if backend == "e3nn":
        return model, None
    if backend != "cueq":
        raise SystemExit(f"backend: expected 'e3nn' or 'cueq', got {backend!r}")
    import importlib.util

    from mace.cli.convert_e3nn_cueq import run as run_e3nn_to_cueq

    cueq_ops = importlib.util.find_spec("cuequivariance_ops_torch") is not None
    cache = os.environ.get("MACE_CUEQ_CACHE")  # converting takes 25-70 s on one CPU core: reuse a converted model
    path = os.path.join(cache, f"{key}.pt") if cache else None
    if path and os.path.isfile(path):
        return torch.load(path, map_location=device, weights_only=False), cueq_ops
    converted = run_e3nn_to_cueq(model, device=torch.device(device).type)
    if path:
        os.makedirs(cache, exist_ok=True)
        torch.save(converted, path + ".part")
        os.replace(path + ".part", path)
    return converted, cueq_ops


def main():
    import ase.io
    from mace import data, tools
    from mace.tools import torch_geometric

    path, batch_size, r_max, C, max_L, correlation, dtype = sys.argv[1:8]
    extra = sys.argv[8:]
    device, backend = (extra[0] if extra else "cpu"), (extra[1] if len(extra) > 1 else "e3nn")
    batch_size, C, max_L, correlation, r_max = int(batch_size), int(C), int(max_L), int(correlation), float(r_max)
    torch.set_default_dtype(getattr(torch, dtype))
    timing = load_timing()
    frames = [a for a in ase.io.read(path, index=":") if len(a) > 1][:batch_size]  # same frames as ours
    numbers = sorted({int(z) for a in frames for z in a.numbers})
    z_table = tools.AtomicNumberTable(numbers)
    configs = []
    for a in frames:
        a.info["REF_energy"], a.arrays["REF_forces"] = a.get_potential_energy(), a.get_forces()
        a.calc = None
        keys = data.KeySpecification(info_keys={"energy": "REF_energy"}, arrays_keys={"forces": "REF_forces"})
        configs.append(data.config_from_atoms(a, key_specification=keys))
    graphs = [data.AtomicData.from_config(c, z_table=z_table, cutoff=r_max) for c in configs]
    batch = next(iter(torch_geometric.dataloader.DataLoader(graphs, batch_size=batch_size))).to(device).to_dict()
    model = build_mace(numbers, C, max_L, r_max, correlation).to(device)
    key = f"{C}x{max_L}_correlation{correlation}_{dtype}_{'-'.join(map(str, numbers))}_rmax{r_max}"
    model, cueq_ops = with_backend(model, backend, device, key)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)

    def step():
        optimizer.zero_grad()
        out = model(batch, training=True, compute_force=True)
        n = batch["ptr"][1:] - batch["ptr"][:-1]
        loss = torch.mean(((out["energy"] - batch["energy"]) / n) ** 2)
        loss = loss + 100 * torch.mean((out["forces"] - batch["forces"]) ** 2)
        loss.backward()
        optimizer.step()

    def infer():
        return model(batch, training=False, compute_force=True)["forces"]

    ops = {
        "forward": timing.InProcess(infer, device, 2, 0.2),
        "forward_backward": timing.InProcess(step, device, 2, 0.2),
    }
    info = {"parameters": sum(p.numel() for p in model.parameters()), "backend": backend, "cueq_ops": cueq_ops}
    print("@ ready", json.dumps(info), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command in ops:
            print("@", json.dumps(ops[command].round()), flush=True)
        elif command == "memory":
            print("@", json.dumps(timing.peak_memory(step, device)), flush=True)
        else:
            break


if __name__ == "__main__":
    main()
