"""MACE in a process of its own: mace-torch pins e3nn 0.4.4, so it runs in its own environment (``.venv-mace``),
driven line by line by :class:`MaceWorker` (answers start with ``@ ``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

__all__ = ["MaceWorker", "dtype_name"]


def dtype_name(dtype) -> str:
    """``torch.float32 -> "float32"``."""
    return str(dtype).split(".")[-1]


class MaceWorker:
    """A worker script beside this file (``mace_worker.py``, ``mace_potential_worker.py``) run by the Python of
    MACE's own environment, timed round by round on request so that its rounds interleave with ours."""

    def __init__(self, python: str, script: str, args: list, allocator_tuned: bool = False, wait: bool = True):
        args = [python, str(Path(__file__).with_name(script)), *map(str, args)]
        # e3nn 0.4.4 loads its packaged constants with torch.load, which torch >= 2.6 refuses by default
        env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
        if allocator_tuned:  # the same glibc settings as torch_gaunt.utils.tune_cpu_allocator in our process
            env.update(MALLOC_MMAP_THRESHOLD_=str(1 << 30), MALLOC_TRIM_THRESHOLD_=str((1 << 31) - 1))
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.info: dict = {}
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Block until the worker has built its model and says ``ready`` (with ``wait=False``, workers started
        one after the other build their models at the same time, and this collects them)."""
        ready = self._read()
        if not ready.startswith("ready"):
            self._fail("failed to start")
        self.info = json.loads(ready[len("ready") :] or "{}")

    def _fail(self, what: str):
        self.process.kill()  # before reading its stderr: a live worker would block the read
        raise RuntimeError(f"MACE worker {what}:\n{self.process.stderr.read()[-2000:]}")

    def _read(self) -> str:
        """The next protocol line (``@ ...``); whatever else the worker's libraries print is skipped."""
        while True:
            line = self.process.stdout.readline()
            if not line:
                self._fail("stopped")
            if line.startswith("@ "):
                return line[2:].strip()

    def ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self._read())

    def op(self, kind: str):
        worker = self

        class _Round:
            def round(self) -> float:
                return worker.ask(kind)

        return _Round()

    def close(self) -> None:
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.process.wait(timeout=60)
