"""Time mace-torch's SymmetricContraction; run by ``torch_gaunt.bench.layers`` with the Python of an environment
that has mace-torch (it pins e3nn 0.4.4, so it cannot share ours). Standalone on purpose: it imports nothing
from torch-gaunt. Prints one JSON line ``{"forward": s, "backward": s, "memory": bytes}``.

    python mace_worker.py L L_out channels nodes correlation elements float32 1
"""

import json
import os
import statistics
import sys
import time

# e3nn 0.4.4 (pinned by mace-torch) loads its own packaged constants with torch.load, which torch >= 2.6
# refuses by default (weights_only=True); those files ship inside e3nn, so allow them in this process only.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import torch  # noqa: E402
from e3nn import o3  # noqa: E402
from mace.modules.symmetric_contraction import SymmetricContraction  # noqa: E402


def median_time(fn, warmup=2, min_repeats=5, min_time=0.3):
    for _ in range(warmup):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    L, L_out, C, N, correlation, elements = (int(a) for a in sys.argv[1:7])
    dtype = getattr(torch, sys.argv[7])
    backward = sys.argv[8] == "1"
    torch.set_default_dtype(dtype)
    irreps_in = o3.Irreps([(C, (l, (-1) ** l)) for l in range(L + 1)])
    irreps_out = o3.Irreps([(C, (l, (-1) ** l)) for l in range(L_out + 1)])
    contraction = SymmetricContraction(irreps_in, irreps_out, correlation=correlation, num_elements=elements)
    x = torch.randn(N, C, (L + 1) ** 2, requires_grad=backward)  # MACE's layout: [nodes, channels, (L+1)**2]
    y = torch.nn.functional.one_hot(torch.randint(0, elements, (N,)), elements).to(dtype)
    result = {}
    with torch.no_grad():
        result["forward"] = median_time(lambda: contraction(x, y))
    if backward:
        params = [x, *contraction.parameters()]

        def step():
            for p in params:
                p.grad = None
            contraction(x, y).sum().backward()

        result["backward"] = median_time(step)
        held = 0

        def pack(t):
            nonlocal held
            held += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = contraction(x, y)
        result["memory"] = held + out.numel() * out.element_size()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
