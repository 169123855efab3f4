"""Every ```python block of the README and of docs/geometry.md runs (doc examples must not rot)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
GEOMETRY = README.parent / "docs" / "geometry.md"
GEOMETRY_BLOCKS = re.findall(r"```python\n(.*?)```", GEOMETRY.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, capsys):
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})


@pytest.mark.parametrize("index", range(len(GEOMETRY_BLOCKS)))
def test_geometry_doc_example_runs(index, capsys):
    exec(compile(GEOMETRY_BLOCKS[index], f"docs/geometry.md block {index}", "exec"), {})


def test_quick_start_matches_ci():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    test_command = 'pip install torch==2.13.0 && pip install -e ".[dev]" && python -m pytest'
    assert test_command in README.read_text(encoding="utf-8") and test_command in ci
