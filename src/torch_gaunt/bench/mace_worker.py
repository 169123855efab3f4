"""Time mace-torch's SymmetricContraction in its own Python environment (mace-torch pins e3nn 0.4.4, so it cannot
share ours), round by round on request, so that ``torch_gaunt.bench.layers`` interleaves it with our ops.

torch-gaunt need not be installed there: the worker loads the torch-only ``timing.py`` beside it by path, so both
sides are timed and measured by the same code. Protocol, one line each way:

    python mace_worker.py L L_out channels nodes correlation elements float32 [device]
    -> @ ready
    forward | forward_backward      -> @ seconds per call over one round
    memory                          -> @ peak bytes of one forward + backward
    quit

Answers start with "@ ", so that whatever MACE's imports print on stdout is told apart.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

# e3nn 0.4.4 (pinned by mace-torch) loads its own packaged constants with torch.load, which torch >= 2.6
# refuses by default (weights_only=True); those files ship inside e3nn, so allow them in this process only.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch  # noqa: E402


def load_timing():
    """``timing.py`` beside this file, loaded by path (torch-gaunt need not be installed here)."""
    name = "torch_gaunt_bench_timing"
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("timing.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def main():
    from e3nn import o3
    from mace.modules.symmetric_contraction import SymmetricContraction

    L, L_out, C, N, correlation, elements = (int(a) for a in sys.argv[1:7])
    dtype = getattr(torch, sys.argv[7])
    device = sys.argv[8] if len(sys.argv) > 8 else "cpu"
    torch.set_default_dtype(dtype)
    torch.set_default_device(device)
    timing = load_timing()
    irreps_in = o3.Irreps([(C, (l, (-1) ** l)) for l in range(L + 1)])
    irreps_out = o3.Irreps([(C, (l, (-1) ** l)) for l in range(L_out + 1)])
    contraction = SymmetricContraction(irreps_in, irreps_out, correlation=correlation, num_elements=elements)
    x = torch.randn(N, C, (L + 1) ** 2, requires_grad=True)  # MACE's layout: [nodes, channels, (L+1)**2]
    y = torch.nn.functional.one_hot(torch.randint(0, elements, (N,)), elements).to(dtype)
    forward = lambda: contraction(x, y)  # noqa: E731
    params = [x, *contraction.parameters()]
    ops = {
        "forward": timing.InProcess(timing.inference(forward), device, 2, 0.02),
        "forward_backward": timing.InProcess(timing.training_step(forward, params), device, 2, 0.02),
    }
    print("@ ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command in ops:
            print("@", json.dumps(ops[command].round()), flush=True)
        elif command == "memory":
            print("@", json.dumps(timing.peak_memory(timing.training_step(forward, params), device)), flush=True)
        else:
            break


if __name__ == "__main__":
    main()
