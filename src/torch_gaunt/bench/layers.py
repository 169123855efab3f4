"""The Gaunt paper's three operation families against the peers they replace, one run per op.

- ``interaction``: :class:`~torch_gaunt.nn.FeatureInteraction` vs e3nn's channel-wise ``TensorProduct`` (all
  paths with ``l1 + l2 + l3`` even) and ``FullyConnectedTensorProduct`` (to L = 3), 256 nodes x 16 channels.
- ``convolution``: :class:`~torch_gaunt.nn.EquivariantConvolution` (plain and edge-frame) vs e3nn's edge
  ``TensorProduct`` (``uvu``, per-edge weights from a radial MLP, as NequIP and MACE) and an eSCN-style SO(2)
  convolution (rotate to the edge frame, mix channels and degrees per order ``m``, rotate back), on a random
  graph of 256 nodes and 4096 edges with 16 channels.
- ``manybody``: :class:`~torch_gaunt.nn.ManyBodyInteraction` vs mace-torch's ``SymmetricContraction``
  (correlation 3, L = 2 and 3, 128 channels, 3 elements). mace-torch pins e3nn 0.4.4, so it runs in its own
  Python environment (``--mace-python``) through ``mace_worker.py``; without one, MACE is reported missing.

Where ``cuequivariance-torch`` is installed, cuEquivariance runs beside them: its ``ChannelWiseTensorProduct`` in the
same edge convolution as e3nn's (the op MACE's ``--enable_cueq`` convolution runs) and its ``SymmetricContraction``
(MACE's product basis). On a CPU, or without its CUDA ops package, cuEquivariance runs its reference
implementation, which times nothing worth quoting: the report says which ran.
"""

from __future__ import annotations

import math
import sys

import torch

from ..nn import BesselBasis, EquivariantConvolution, FeatureInteraction, ManyBodyInteraction, RadialMLP
from ..products import GauntDescription
from ..so3 import edge_frame, spherical_harmonics, spherical_tensor_irreps
from .mace_process import MaceWorker, dtype_name
from .report import (
    check_results,
    format_mb,
    markdown_table,
    noise_summary,
    ratio_cell,
    result_json,
    time_cell,
    write_report,
)
from .timing import machine_info, measure_ops, progress, ratio


def _e3nn():
    try:
        from e3nn import o3

        return o3
    except ImportError:
        return None


def _cueq():
    """``(cue, cuet)`` where cuEquivariance is installed, else None."""
    try:
        import cuequivariance as cue
        import cuequivariance_torch as cuet

        return cue, cuet
    except ImportError:
        return None


def cueq_compiled_ops() -> bool:
    """Whether cuEquivariance's compiled (CUDA) ops are installed; without them it runs its reference code."""
    import importlib.util

    return importlib.util.find_spec("cuequivariance_ops_torch") is not None


# ---- feature interaction ----------------------------------------------------------------------------------
def _interaction_ops(L: int, N: int, C: int, dtype, device) -> dict:
    x = torch.randn(N, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=True)
    y = torch.randn(N, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=True)
    ours = FeatureInteraction(L, C).to(device=device, dtype=dtype)
    ops = {"ours": (lambda: ours(x, y), [x, y, *ours.parameters()])}
    o3 = _e3nn()
    if o3 is not None:
        irreps = o3.Irreps(str(spherical_tensor_irreps(L, C)))
        xe = torch.randn(N, irreps.dim, dtype=dtype, device=device, requires_grad=True)
        ye = torch.randn(N, irreps.dim, dtype=dtype, device=device, requires_grad=True)
        paths = GauntDescription(L, L, L).paths
        cw = o3.TensorProduct(irreps, irreps, irreps, [(a, b, c, "uuu", True) for a, b, c in paths]).to(device, dtype)
        ops["e3nn_channelwise"] = (lambda: cw(xe, ye), [xe, ye, *cw.parameters()])
        if L <= 3:
            fc = o3.FullyConnectedTensorProduct(irreps, irreps, irreps).to(device, dtype)
            ops["e3nn_fully_connected"] = (lambda: fc(xe, ye), [xe, ye, *fc.parameters()])
    return ops


# ---- convolution ------------------------------------------------------------------------------------------
class _EdgeTensorProductConvolution(torch.nn.Module):
    """NequIP/MACE-style: a ``uvu`` tensor product ``tp`` of ``x_j`` with ``Y(r̂)`` (:meth:`harmonics`), weights
    per edge from a radial MLP, summed on the receivers. Subclasses bring the tensor product and the harmonics."""

    def __init__(self, L: int, tp: torch.nn.Module, num_basis: int = 8):
        super().__init__()
        self.L, self.tp = L, tp
        self.radial = BesselBasis(4.0, num_basis)
        self.mlp = RadialMLP([num_basis, 64, tp.weight_numel])

    def harmonics(self, vectors):
        raise NotImplementedError

    def forward(self, x, vectors, edge_index):
        w = self.mlp(self.radial(vectors.norm(dim=-1)))
        messages = self.tp(x[edge_index[0]], self.harmonics(vectors), w)
        return torch.zeros(x.shape[0], messages.shape[1], dtype=x.dtype, device=x.device).index_add(
            0, edge_index[1], messages
        )


class _E3nnEdgeConvolution(_EdgeTensorProductConvolution):
    """The edge convolution with e3nn's ``TensorProduct`` and spherical harmonics."""

    def __init__(self, o3, L: int, C: int, num_basis: int = 8):
        irreps_node = o3.Irreps(str(spherical_tensor_irreps(L, C)))
        irreps_sh = o3.Irreps.spherical_harmonics(L)
        out = []
        instructions = []
        for i1, (mul, ir1) in enumerate(irreps_node):
            for i2, (_, ir2) in enumerate(irreps_sh):
                for ir_out in ir1 * ir2:
                    if ir_out.l <= L and ir_out in o3.Irreps(str(spherical_tensor_irreps(L, 1))):
                        instructions.append((i1, i2, len(out), "uvu", True))
                        out.append((mul, ir_out))
        tp = o3.TensorProduct(
            irreps_node, irreps_sh, o3.Irreps(out), instructions, shared_weights=False, internal_weights=False
        )
        super().__init__(L, tp, num_basis)
        self.o3 = o3

    def harmonics(self, vectors):
        return self.o3.spherical_harmonics(list(range(self.L + 1)), vectors, True)


class _CueqEdgeConvolution(_EdgeTensorProductConvolution):
    """The same edge convolution, its tensor product cuEquivariance's ``ChannelWiseTensorProduct`` (``uvu``,
    per-edge weights; e3nn's ``mul_ir`` layout in and out)."""

    def __init__(self, cue, cuet, L: int, C: int, num_basis: int = 8, device=None, dtype=None):
        irreps_node = cue.Irreps("O3", str(spherical_tensor_irreps(L, C)))
        irreps_sh = cue.Irreps("O3", str(spherical_tensor_irreps(L, 1)))
        tp = cuet.ChannelWiseTensorProduct(
            irreps_node, irreps_sh, irreps_sh, layout=cue.mul_ir, shared_weights=False, internal_weights=False,
            device=device, dtype=dtype,
        )  # fmt: skip
        super().__init__(L, tp, num_basis)

    def harmonics(self, vectors):
        return spherical_harmonics(vectors, self.L, normalization="component")  # e3nn's, values and order


class _SO2Convolution(torch.nn.Module):
    """eSCN-style: rotate ``x_j`` to the edge frame, per order ``m`` mix (degree, channel) with shared weights
    (a complex-like pair for ``±m``) modulated by a radial MLP, rotate back, sum over edges."""

    def __init__(self, L: int, C: int, num_basis: int = 8):
        super().__init__()
        self.L, self.C = L, C
        self.weights = torch.nn.ParameterList(
            [
                torch.nn.Parameter(
                    torch.randn(2 if m else 1, (L + 1 - m) * C, (L + 1 - m) * C) / math.sqrt((L + 1 - m) * C)
                )
                for m in range(L + 1)
            ]
        )
        self.radial = BesselBasis(4.0, num_basis)
        self.mlp = RadialMLP([num_basis, 64, (L + 1) * C])
        self.index = [
            (
                torch.tensor([l * l + l + m for l in range(m, L + 1)]),
                torch.tensor([l * l + l - m for l in range(m, L + 1)]),
            )
            for m in range(L + 1)
        ]

    def forward(self, x, vectors, edge_index):
        E, L, C = vectors.shape[0], self.L, self.C
        frame = edge_frame(vectors, L)
        r = self.mlp(self.radial(vectors.norm(dim=-1))).view(E, L + 1, C)
        xr = frame.to_frame(x[edge_index[0]])
        out = torch.zeros_like(xr)
        for m, (pos, neg) in enumerate(self.index):
            scale = r[:, m:].reshape(E, -1)
            a = xr[:, pos].reshape(E, -1) * scale
            W = self.weights[m]
            if m == 0:
                out[:, pos] = (a @ W[0]).view(E, -1, C)
            else:
                b = xr[:, neg].reshape(E, -1) * scale
                out[:, pos] = (a @ W[0] - b @ W[1]).view(E, -1, C)
                out[:, neg] = (a @ W[1] + b @ W[0]).view(E, -1, C)
        messages = frame.from_frame(out)
        return torch.zeros(x.shape[0], *messages.shape[1:], dtype=x.dtype, device=x.device).index_add(
            0, edge_index[1], messages
        )


def _convolution_ops(L: int, N: int, E: int, C: int, dtype, device) -> dict:
    g = torch.Generator().manual_seed(L)
    pos = 3 * torch.rand(N, 3, generator=g)
    edge_index = torch.randint(0, N, (2, E), generator=g).to(device)
    vectors = (pos[edge_index[1].cpu()] - pos[edge_index[0].cpu()]).to(device=device, dtype=dtype)
    x = torch.randn(N, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=True)
    ops = {}
    for name, method in (("ours_gaunt", "auto"), ("ours_edge_frame", "edge_frame")):
        conv = EquivariantConvolution(L, L, L, C, radial=BesselBasis(4.0, 8), method=method).to(device, dtype)
        ops[name] = (lambda conv=conv: conv(x, vectors, edge_index), [x, *conv.parameters()])
    so2 = _SO2Convolution(L, C).to(device=device, dtype=dtype)
    ops["escn_so2"] = (lambda: so2(x, vectors, edge_index), [x, *so2.parameters()])
    o3 = _e3nn()
    if o3 is not None:
        conv = _E3nnEdgeConvolution(o3, L, C).to(device=device, dtype=dtype)
        xe = torch.randn(N, conv.tp.irreps_in1.dim, dtype=dtype, device=device, requires_grad=True)
        ops["e3nn_edge_tp"] = (lambda: conv(xe, vectors, edge_index), [xe, *conv.parameters()])
    cueq = _cueq()
    if cueq is not None:
        conv = _CueqEdgeConvolution(*cueq, L, C, device=device, dtype=dtype).to(device=device, dtype=dtype)
        xc = torch.randn(N, (L + 1) ** 2 * C, dtype=dtype, device=device, requires_grad=True)
        ops["cueq_edge_tp"] = (lambda: conv(xc, vectors, edge_index), [xc, *conv.parameters()])
    return ops


# ---- many-body --------------------------------------------------------------------------------------------
MACE_PROCESSES = 3


def _manybody_results(
    L: int, N: int, C: int, dtype, device, backward: bool, mace_python: str | None, allocator_tuned: bool = False
) -> dict:
    """Ours (grid and Fourier) and, when its environment is given, MACE's, interleaved round by round."""
    L_out, correlation, elements = 1, 3, 3
    x = torch.randn(N, (L + 1) ** 2, C, dtype=dtype, device=device, requires_grad=True)
    element = torch.randint(0, elements, (N,), device=device)
    ops = {}
    for method in ("grid", "fourier"):
        mb = ManyBodyInteraction(L, C, correlation=correlation, num_elements=elements, lmax_out=L_out, method=method)
        mb = mb.to(device=device, dtype=dtype)
        ops[f"ours_{method}"] = (lambda mb=mb: mb(x, element), [x, *mb.parameters()])
    cueq = _cueq()
    if cueq is not None:  # cuEquivariance's ir_mul layout is ours, [N, (L+1)**2, C], flattened
        cue, cuet = cueq
        irreps_in = cue.Irreps("O3", str(spherical_tensor_irreps(L, C)))
        irreps_out = cue.Irreps("O3", str(spherical_tensor_irreps(L_out, C)))
        sc = cuet.SymmetricContraction(
            irreps_in, irreps_out, correlation, elements, layout=cue.ir_mul, device=device, dtype=dtype
        )
        flat = x.reshape(N, -1)
        ops["cueq_symmetric_contraction"] = (lambda: sc(flat, element), [x, *sc.parameters()])
    if not mace_python:
        return measure_ops(ops, device, backward)
    # MACE's speed varies 3-5x from one process to the next: run several workers and keep the fastest (per kind),
    # which can only flatter MACE
    workers = []
    try:
        for _ in range(MACE_PROCESSES):
            workers.append(
                MaceWorker(
                    mace_python,
                    "mace_worker.py",
                    [L, L_out, C, N, correlation, elements, dtype_name(dtype), device],
                    allocator_tuned,
                )
            )
    except RuntimeError as error:
        print(f"MACE not timed at L = {L}: {error}", file=sys.stderr)
        for w in workers:
            w.close()
        return measure_ops(ops, device, backward)
    try:
        kinds = ("forward", "forward_backward") if backward else ("forward",)
        elsewhere = {f"mace{i}": {kind: w.op(kind) for kind in kinds} for i, w in enumerate(workers)}
        results = measure_ops(ops, device, backward, elsewhere=elsewhere)
        runs = [results.pop(f"mace{i}") for i in range(len(workers))]
        results["mace"] = {kind: min((r[kind] for r in runs), key=lambda t: t.median) for kind in kinds}
        if backward:
            results["mace"]["peak_memory"] = min(w.ask("memory") for w in workers)
    finally:
        for w in workers:
            w.close()
    return results


# ---- report -----------------------------------------------------------------------------------------------
OPS = {
    "interaction": (
        ("e3nn_channelwise",),
        [("ours", "ours"), ("e3nn_channelwise", "e3nn uuu"), ("e3nn_fully_connected", "e3nn uvw")],
    ),
    "convolution": (
        ("e3nn_edge_tp", "cueq_edge_tp"),
        [
            ("ours_gaunt", "ours (Gaunt)"),
            ("ours_edge_frame", "ours (edge frame)"),
            ("escn_so2", "eSCN-style SO(2)"),
            ("e3nn_edge_tp", "e3nn edge TP"),
            ("cueq_edge_tp", "cuEquivariance edge TP"),
        ],
    ),
    "manybody": (
        ("mace", "cueq_symmetric_contraction"),
        [
            ("ours_grid", "ours (grid)"),
            ("ours_fourier", "ours (Fourier, pairwise)"),
            ("mace", "MACE SymmetricContraction"),
            ("cueq_symmetric_contraction", "cuEquivariance SymmetricContraction"),
        ],
    ),
}


def _tables(op: str, rows: list[dict], backward: bool) -> list[tuple[str, str]]:
    references, columns = OPS[op]
    ours = [name for name, _ in columns if name.startswith("ours")]
    compared = [(ref, n) for ref in references if any(ref in r["results"] for r in rows) for n in ours]
    sections = []
    kinds = (
        (("forward", "Forward"), ("forward_backward", "Forward + backward")) if backward else (("forward", "Forward"),)
    )
    for kind, title in kinds:
        labels = dict(columns)
        header = (
            ["L"] + [f"{label} (ms)" for _, label in columns] + [f"{labels[ref]} / {labels[n]}" for ref, n in compared]
        )
        lines = []
        for r in rows:
            res = r["results"]
            cells = [str(r["lmax"])]
            for name, _ in columns:
                timing = res.get(name, {}).get(kind)
                cells.append(time_cell(timing) + ("!" if res.get(name, {}).get("impossible") else ""))
            cells += [ratio_cell(r["ratios"].get(f"{ref}/{name}/{kind}")) for ref, name in compared]
            lines.append(cells)
        sections.append((title, markdown_table(header, lines)))
    if backward:
        header = ["L"] + [f"{label} (MB)" for _, label in columns]
        lines = [
            [str(r["lmax"])] + [format_mb(r["results"].get(n, {}).get("peak_memory")) for n, _ in columns] for r in rows
        ]
        sections.append(("Peak memory allocated by one forward + backward", markdown_table(header, lines)))
    return sections


NOTES = {
    "interaction": "256 nodes x 16 channels; x ⊗ y to L_out = L. Ours: Gaunt product (auto executor) with per-degree "
    "weights and per-degree channel mixing.",
    "convolution": "Random graph: 256 nodes in a 3 Å cube, 4096 random edges, 16 channels, L_in = L_sh = L_out = L. "
    "Every op includes its radial network (Bessel basis + MLP) and the sum over edges. 'ours (Gaunt)' is "
    "`method='auto'`.",
    "manybody": "Correlation 3, 128 channels, 3 elements, 256 nodes, L_out = 1 (MACE's usual 128x0e + 128x1o). "
    "MACE's SymmetricContraction runs in its own environment (mace-torch pins e3nn 0.4.4) in worker processes that "
    "`mace_worker.py` times with the same code, round by round, interleaved with ours. Its speed varies 3-5x from one "
    "process to the next, so three workers run and the fastest counts (which can only flatter MACE).",
}


def run(
    op: str,
    lmaxes,
    dtype=torch.float32,
    device="cpu",
    out_dir=None,
    command="",
    backward=True,
    allocator_tuned=False,
    mace_python=None,
) -> dict:
    """Benchmark one op (``interaction``, ``convolution`` or ``manybody``) over ``lmaxes``; print and save."""
    references, columns = OPS[op]
    rows = []
    for L in progress(lmaxes, op):
        if op == "interaction":
            results = measure_ops(_interaction_ops(L, 256, 16, dtype, device), device, backward)
        elif op == "convolution":
            results = measure_ops(_convolution_ops(L, 256, 4096, 16, dtype, device), device, backward)
        else:
            results = _manybody_results(L, 256, 128, dtype, device, backward, mace_python, allocator_tuned)
        ratios = {}
        for ref in (r for r in references if r in results):
            for name in (n for n, _ in columns if n.startswith("ours")):
                for kind in ("forward", "forward_backward"):
                    if kind in results.get(name, {}):
                        ratios[f"{ref}/{name}/{kind}"] = ratio(results[ref][kind], results[name][kind])
        rows.append({"lmax": L, "results": results, "ratios": ratios, "warnings": check_results(f"L = {L}", results)})
    machine = machine_info(device) + f", {str(dtype).replace('torch.', '')}, allocator tuned: {allocator_tuned}"
    if any(ref.startswith("cueq") and ref in r["results"] for r in rows for ref in references):
        ops = (
            "its CUDA ops" if cueq_compiled_ops() else "its reference code (no CUDA ops package): not a speed to quote"
        )
        machine += f", cuEquivariance {_cueq()[0].__version__} with {ops}"
    sections = _tables(op, rows, backward)
    warnings = [w for r in rows for w in r["warnings"]]
    quality = noise_summary(warnings, sum(len(r["results"]) * (2 if backward else 1) for r in rows))
    missing = ""
    if op == "manybody" and not any("mace" in r["results"] for r in rows):
        missing = (
            "MACE was not timed: no environment with mace-torch was given (see `torch-gaunt bench manybody --help`)."
        )
    print(f"{op} ({machine})")
    for heading, table in sections:
        print(f"\n{heading}\n{table}")
    print("\n" + quality + ("\n" + missing if missing else ""))
    data = {
        "dtype": str(dtype),
        "device": str(device),
        "rows": [{"lmax": r["lmax"], "results": result_json(r["results"]), "ratios": r["ratios"]} for r in rows],
    }
    if out_dir:
        notes = NOTES[op] + ("\n\n" + missing if missing else "") + "\n\n" + quality

        def plot(path: str) -> None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(10, 4))
            for ax, kind in zip(axes, ("forward", "forward_backward")):
                for name, label in columns:
                    pts = [
                        (r["lmax"], r["results"][name][kind].median * 1e3)
                        for r in rows
                        if kind in r["results"].get(name, {})
                    ]
                    if pts:
                        ax.plot(*zip(*pts), "o-", label=label, ms=3)
                title = "forward" if kind == "forward" else "forward + backward"
                ax.set(yscale="log", xlabel="L", ylabel="time (ms)", title=f"{op}: {title}")
                if ax.lines:
                    ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(path, dpi=110, format="png")
            plt.close(fig)

        write_report(
            out_dir, op, f"{op.capitalize()}: torch-gaunt vs peers", command, machine, sections, data,
            plot if backward else None, notes,
        )  # fmt: skip
    return data
