"""Data-parallel training across processes (``torchrun``): every process holds the whole model, takes its share
of each global batch, and the gradients are summed across processes before each optimizer step.

The loss of a shard is normalised by the counts of the whole global batch (structures, force components), so
the summed gradient is exactly the gradient of the one-process loss on that batch: ``N`` processes and one
process on the same global batch take the same steps, up to the order of floating-point sums. Validation runs
on every process (all of them then take the same scheduler and early-stopping decisions); only rank 0 writes
files and logs.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = [
    "init_from_environment",
    "rank",
    "world_size",
    "is_main",
    "all_reduce_gradients",
    "all_reduce_sum",
    "agree_max",
    "broadcast",
    "leave",
]


def init_from_environment(device: str = "cpu") -> str:
    """Join the process group that ``torchrun`` describes in ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``MASTER_ADDR`` and ``MASTER_PORT``: backend ``nccl`` for CUDA (device ``cuda:LOCAL_RANK``), ``gloo``
    otherwise. Returns the device this process should use."""
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise RuntimeError(
            f"--distributed: the environment lacks {missing}; launch with "
            "`torchrun --nproc_per_node=N -m torch_gaunt.cli train ... --distributed`"
        )
    cuda = str(device).startswith("cuda")
    if cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return device


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """The number of processes (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    """Whether this process writes files and logs (rank 0)."""
    return rank() == 0


def all_reduce_gradients(parameters: list[torch.nn.Parameter]) -> None:
    """Sum the gradients of ``parameters`` over all processes, in place, as one flat buffer (a parameter without a
    gradient counts as zeros)."""
    if world_size() == 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for p, g in zip(parameters, grads):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def broadcast(value):
    """Rank 0's ``value`` (any picklable object) on every process."""
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _all_reduce(value: float, op) -> float:
    if world_size() == 1:
        return value
    device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=op)
    return float(t.item())


def all_reduce_sum(value: float) -> float:
    """``value`` summed over all processes."""
    return _all_reduce(value, dist.ReduceOp.SUM)


def agree_max(value: float) -> float:
    """The largest ``value`` over all processes (so that time limits end every process at the same epoch)."""
    return _all_reduce(value, dist.ReduceOp.MAX)


def leave() -> None:
    """Wait until every process has finished, then leave the process group (nothing without one).

    Rank 0 writes the model and the reports after the last collective, so the other ranks reach the end first;
    a rank that tears gloo down while its peer still holds the connection can abort at exit ("terminate called
    without an active exception"), hence the barrier."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
