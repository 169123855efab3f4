"""Benchmark reports: a Markdown table, the raw numbers as JSON and a log-log plot, each written atomically into a
folder of its own (a run never replaces an earlier report without saying so)."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

from .._io import atomic_write, atomic_write_text
from .timing import NOISE_THRESHOLD, Timing

NOISE_THRESHOLD_TEXT = f"{NOISE_THRESHOLD:.0%}"

NOISY = "~"
IMPOSSIBLE = "!"


def format_ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1e3:.3g}" if seconds * 1e3 < 100 else f"{seconds * 1e3:.0f}"


def format_mb(nbytes: int | None) -> str:
    return "–" if nbytes is None else f"{nbytes / 2**20:.3g}"


def format_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}×" if value < 10 else f"{value:.0f}×"


def time_cell(timing: Timing | None) -> str:
    """Median milliseconds, marked ``~`` when the rounds disagree (a noisy machine)."""
    if timing is None:
        return "–"
    return format_ms(timing.median) + (NOISY if timing.noisy else "")


def ratio_cell(r: dict | None) -> str:
    """``21× (18-24)``: the median of the per-round ratios and their range."""
    if r is None:
        return "–"
    return f"{format_ratio(r['median'])} ({r['min']:.2g}-{r['max']:.2g})"


def check_results(label: str, results: dict[str, dict]) -> list[str]:
    """Warnings for the measurements of one row: noisy rounds, and a forward pass slower than its own forward +
    backward (impossible: a sign that the machine was busy during one of them). Marks impossible entries."""
    warnings = []
    for name, r in results.items():
        forward, both = r.get("forward"), r.get("forward_backward")
        if forward is not None and both is not None and forward.median > both.median:
            r["impossible"] = True
            warnings.append(
                f"{label}, {name}: forward ({format_ms(forward.median)} ms) slower than forward + backward "
                f"({format_ms(both.median)} ms), which cannot be: the machine was busy; rerun"
            )
        noisy = [kind for kind in ("forward", "forward_backward") if kind in r and r[kind].noisy]
        if noisy:
            worst = max(r[kind].spread for kind in noisy)
            warnings.append(f"{label}, {name}: rounds spread by {worst:.0%} ({', '.join(noisy)})")
    return warnings


def noise_summary(warnings: list[str], measurements: int) -> str:
    """A paragraph for the report and the terminal: how trustworthy the numbers are."""
    if not warnings:
        return f"All {measurements} measurements were steady (rounds within {NOISE_THRESHOLD_TEXT} of their median)."
    lines = [
        f"**The machine was noisy during this run**: {len(warnings)} of {measurements} measurements are flagged "
        f"(`{NOISY}`: rounds spread by more than {NOISE_THRESHOLD_TEXT}; `{IMPOSSIBLE}`: impossible). Ratios are medians "
        "of per-round ratios of interleaved runs, which resists load from other programs, but times and ratios "
        "may still be off by the spread shown. Rerun on a quiet machine for numbers to quote.",
        "",
    ]
    return "\n".join(lines + [f"- {w}" for w in warnings])


def result_json(results: dict[str, dict]) -> dict:
    """Timings as milliseconds (``forward_ms``, ``forward_backward_ms``) and memory as ``peak_memory_mb``."""
    out = {}
    for name, r in results.items():
        entry = {}
        for kind in ("forward", "forward_backward"):
            if kind in r:
                entry[f"{kind}_ms"] = r[kind].to_json()
        if r.get("peak_memory") is not None:
            entry["peak_memory_mb"] = r["peak_memory"] / 2**20
        if r.get("impossible"):
            entry["impossible"] = True
        out[name] = entry
    return out


def default_out_dir(root: str = "runs/bench") -> Path:
    """``root/YYYYmmdd-HHMMSS``: every run gets its own folder."""
    return Path(root) / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(
    out_dir: str | Path,
    name: str,
    title: str,
    command: str,
    machine: str,
    sections: list[tuple[str, str]],
    data: dict,
    plot=None,
    notes: str = "",
) -> list[Path]:
    """Write ``name.md`` (title, command, machine, sections of tables), ``name.json`` and ``name.png``.

    ``plot`` is an optional function ``plot(path)`` that saves a figure at ``path``.
    """
    out_dir = Path(out_dir)
    if (out_dir / f"{name}.md").exists():
        print(f"replacing the earlier {name} report in {out_dir}", file=sys.stderr)
    date = datetime.date.today().isoformat()
    text = [f"# {title}", "", f"Command: `{command}`", "", f"Machine: {machine}. Date: {date}.", ""]
    if notes:
        text += [notes.strip(), ""]
    written = []
    if plot is not None:
        written.append(atomic_write(out_dir / f"{name}.png", plot))
        text += [f"![{title}]({name}.png)", ""]
    for heading, table in sections:
        text += [f"## {heading}", "", table, ""]
    written.append(atomic_write_text(out_dir / f"{name}.md", "\n".join(text)))
    payload = {"title": title, "command": command, "machine": machine, "date": date, **data}
    written.append(atomic_write_text(out_dir / f"{name}.json", json.dumps(payload, indent=1) + "\n"))
    return written
