"""Timing that a shared, noisy machine cannot easily fool, peak memory, and the machine's description.

:func:`compare` times several operations **interleaved**: in every round each operation runs for about the same
wall time, one after the other in a rotated order, so that a burst of load from another program hits all of them
alike. Each round gives one time per call for each operation; a result is the median over rounds with its range,
and a ratio between two operations is the median of their per-round ratios (both measured seconds apart).
:func:`Timing.noisy` says when the rounds disagree more than a quiet machine allows.

Depends on torch alone, so that the MACE worker (run in another environment) loads this same file.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

NOISE_THRESHOLD = 0.3
"""Relative spread ``(max - min) / median`` over rounds above which a measurement is flagged as noisy. On a quiet
2-core machine our rounds agree to 5-15 %."""


def synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timing:
    """Seconds per call of one operation, one sample per round."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """``(max - min) / median`` over the rounds."""
        return (max(self.samples) - min(self.samples)) / self.median

    @property
    def noisy(self) -> bool:
        return len(self.samples) > 1 and self.spread > NOISE_THRESHOLD

    def to_json(self) -> dict:
        """Milliseconds: ``{"median_ms", "min_ms", "max_ms", "rounds"}``."""
        return {
            "median_ms": self.median * 1e3,
            "min_ms": min(self.samples) * 1e3,
            "max_ms": max(self.samples) * 1e3,
            "rounds": len(self.samples),
        }


def ratio(numerator: Timing, denominator: Timing) -> dict:
    """Median and range of the per-round ratios ``numerator / denominator`` (the rounds were interleaved)."""
    ratios = [a / b for a, b in zip(numerator.samples, denominator.samples)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


class InProcess:
    """One operation timed in process: how many calls a round takes, and its samples."""

    def __init__(self, fn: Callable[[], object], device, warmup: int, round_time: float):
        self.fn, self.device = fn, device
        for _ in range(max(warmup, 1)):
            start = time.perf_counter()
            fn()
            synchronize(device)
            once = time.perf_counter() - start  # the last warm-up call is the estimate
        self.calls = max(1, min(1000, round(round_time / max(once, 1e-7))))

    def round(self) -> float:
        """Seconds per call over one round."""
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(self.calls):
            self.fn()
        synchronize(self.device)
        return (time.perf_counter() - start) / self.calls


def compare(
    ops: dict[str, Callable[[], object]],
    device: torch.device | str = "cpu",
    rounds: int = 5,
    round_time: float = 0.05,
    warmup: int = 2,
) -> dict[str, Timing]:
    """Time every operation in ``rounds`` interleaved rounds of about ``round_time`` seconds each.

    An operation is a function of no arguments, or an object with a ``round() -> float`` method that runs one
    round elsewhere and returns its seconds per call (the MACE worker in its own Python environment).
    Returns the :class:`Timing` of each operation, in the order given.
    """
    timed = {
        name: op if hasattr(op, "round") else InProcess(op, device, warmup, round_time) for name, op in ops.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in timed}
    names = list(timed)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:  # rotate the order: no operation always runs first
            samples[name].append(timed[name].round())
    return {name: Timing(samples[name]) for name in names}


def measure_ops(
    ops: dict[str, tuple[Callable[[], torch.Tensor], list[torch.Tensor]]],
    device: torch.device | str = "cpu",
    backward: bool = True,
    memory: bool = True,
    rounds: int = 5,
    elsewhere: dict[str, dict[str, object]] | None = None,
) -> dict[str, dict]:
    """For each ``name: (forward, params)``: the forward pass under ``no_grad`` and, if ``backward``, a training step
    (:func:`training_step`), all interleaved in one :func:`compare`; and the peak memory of one training step.

    ``elsewhere`` adds operations timed in another process, ``{name: {"forward": op, "forward_backward": op}}`` with
    ``op.round()`` (see :func:`compare`), to the same interleaved rounds; their memory is the caller's business.

    Returns ``{name: {"forward": Timing, "forward_backward": Timing, "peak_memory": bytes or None}}``.
    """
    timed: dict[str, object] = {}
    for name, (forward, params) in ops.items():
        timed[f"{name}\0forward"] = inference(forward)
        if backward:
            timed[f"{name}\0forward_backward"] = training_step(forward, params)
    for name, kinds in (elsewhere or {}).items():
        for kind, op in kinds.items():
            timed[f"{name}\0{kind}"] = op
    results: dict[str, dict] = {name: {} for name in [*ops, *(elsewhere or {})]}
    for key, timing in compare(timed, device, rounds).items():
        name, kind = key.split("\0")
        results[name][kind] = timing
    if backward and memory:
        for name, (forward, params) in ops.items():
            step = training_step(forward, params)
            results[name]["peak_memory"] = peak_memory(step, device)
            for p in params:
                p.grad = None
    return results


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null: the profiler's native library logs its start and stop there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_memory(step: Callable[[], object], device: torch.device | str = "cpu") -> int | None:
    """Bytes: the peak of memory allocated on ``device`` during ``step()``, above what was allocated before.

    CUDA: the caching allocator's statistics. CPU, where PyTorch keeps no allocator statistics: the running
    sum of the allocation and free events that the profiler records (``profile_memory=True``); ``None`` if
    this PyTorch does not expose them.
    """
    if torch.device(device).type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        step()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    activities = [torch.profiler.ProfilerActivity.CPU]
    with _native_stderr_silenced(), torch.profiler.profile(activities=activities, profile_memory=True) as prof:
        step()
    try:
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    except AttributeError:  # the profiler's raw events are not public API; if they move, report no number
        return None
    events = [e for e in events if e.device_type() == torch.autograd.DeviceType.CPU]
    events.sort(key=lambda e: e.start_ns())
    current = peak = 0
    for e in events:
        current += e.nbytes()
        peak = max(peak, current)
    return peak


def training_step(forward: Callable[[], torch.Tensor], params: list[torch.Tensor]) -> Callable[[], None]:
    """``forward().sum().backward()`` with the gradients of ``params`` cleared first (so none accumulate)."""

    def step() -> None:
        for p in params:
            p.grad = None
        forward().sum().backward()

    return step


def inference(forward: Callable[[], object]) -> Callable[[], object]:
    """``forward()`` under ``torch.no_grad()``."""

    def call() -> object:
        with torch.no_grad():
            return forward()

    return call


def machine_info(device: torch.device | str = "cpu") -> str:
    """One line naming the processor, core count, torch version and threads (and the GPU if used)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
    if torch.device(device).type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def _cpu_times() -> tuple[int, int] | None:
    """``(busy, total)`` jiffies of all CPUs from ``/proc/stat`` (Linux), or None."""
    try:
        with open("/proc/stat", encoding="utf-8") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_warning(window: float = 0.5) -> str | None:
    """A sentence when other programs keep the CPU busy right now (measured over ``window`` seconds while this
    process sleeps), else None. Falls back to the load average where ``/proc/stat`` is missing."""
    before = _cpu_times()
    if before is None:
        try:
            load, cores = os.getloadavg()[0], os.cpu_count() or 1
        except (AttributeError, OSError):
            return None
        busy = load / cores
    else:
        time.sleep(window)
        after = _cpu_times()
        busy = (after[0] - before[0]) / max(after[1] - before[1], 1)
    if busy > 0.3:
        return (
            f"other programs are using {busy:.0%} of the CPU: times will be noisy (interleaved rounds keep the "
            "ratios fair, not the times); the report flags what the noise spoiled"
        )
    return None


def progress(iterable, desc: str, total: int | None = None):
    """A tqdm progress bar over ``iterable``, drawn only while stderr is a terminal (``disable=None``); the plain
    iterable without tqdm. Self-contained like the rest of this file, which MACE's environment loads by path."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=None)
