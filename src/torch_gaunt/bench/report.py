"""Benchmark reports: a Markdown table, the raw numbers as JSON and a log-log plot, each written atomically."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from .._io import atomic_write, atomic_write_text


def format_ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1e3:.3g}" if seconds * 1e3 < 100 else f"{seconds * 1e3:.0f}"


def format_mb(nbytes: int | None) -> str:
    return "–" if nbytes is None else f"{nbytes / 2**20:.3g}"


def format_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}×" if value < 10 else f"{value:.0f}×"


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
