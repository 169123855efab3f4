"""Timing, peak memory and machine description for benchmarks.

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

import torch


def synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_function(
    fn: Callable[[], object],
    device: torch.device | str = "cpu",
    warmup: int = 2,
    min_repeats: int = 5,
    min_time: float = 0.3,
    max_repeats: int = 200,
) -> float:
    """Median wall time (s) of ``fn()`` after ``warmup`` calls, over >= ``min_repeats`` runs and >= ``min_time`` s."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_repeats or (time.perf_counter() - start < min_time and len(times) < max_repeats):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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


def measure(forward: Callable[[], torch.Tensor], params: list[torch.Tensor], device, backward: bool) -> dict:
    """Median seconds of ``forward()`` (under ``no_grad``) and, if ``backward``, of forward + backward of
    ``forward().sum()``, with the peak memory (bytes) of that step. ``params`` have their gradients reset
    before each step, and before the memory is measured (so that the new gradients count in full)."""
    with torch.no_grad():
        result = {"forward": time_function(forward, device)}
    if backward:

        def clear_gradients():
            for p in params:
                p.grad = None

        def step():
            clear_gradients()
            forward().sum().backward()

        result["backward"] = time_function(step, device)
        clear_gradients()
        result["memory"] = peak_memory(lambda: forward().sum().backward(), device)
    return result


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


def progress(iterable, desc: str, total: int | None = None):
    """A tqdm progress bar on stderr when tqdm is installed, else the plain iterable."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False)
