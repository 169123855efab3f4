"""Time mace-torch's SymmetricContraction; run by ``torch_gaunt.bench.layers`` with the Python of an environment
that has mace-torch (it pins e3nn 0.4.4, so it cannot share ours). torch-gaunt is not installed there: the worker
loads the torch-only ``timing.py`` beside it by path, so both sides are timed and measured by the same code.
Prints one JSON line ``{"forward": s, "backward": s, "memory": bytes}``.

    python mace_worker.py L L_out channels nodes correlation elements float32 1
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
from e3nn import o3  # noqa: E402
from mace.modules.symmetric_contraction import SymmetricContraction  # noqa: E402


def _load_timing():
    spec = importlib.util.spec_from_file_location("torch_gaunt_timing", Path(__file__).with_name("timing.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    result = _load_timing().measure(lambda: contraction(x, y), [x, *contraction.parameters()], "cpu", backward)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
