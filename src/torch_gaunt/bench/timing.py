"""Timing and machine description for benchmarks."""

from __future__ import annotations

import os
import platform
import statistics
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
