"""The package's layers point one way: so3 -> sphere -> products -> nn -> models -> atoms -> cli.

Reads every ``import`` in ``src/torch_gaunt`` (module level and inside functions) and fails on an arrow that points
up the order, on an import cycle between modules, on a layer above ``products`` that drives ``sphere`` itself, and
on a private name taken from another package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "torch_gaunt"

# rank of each top-level part of the package; equal ranks may import each other (but not in a cycle)
ORDER = {
    "_cache": 0,
    "_checks": 0,
    "_io": 0,
    "_progress": 0,
    "_safe": 0,
    "_version": 0,
    "utils": 0,
    "so3": 1,
    "sphere": 2,
    "products": 3,
    "nn": 4,
    "testing": 4,
    "geometry": 4,
    "models": 5,
    "atoms": 6,
    "bench": 7,
    "cli": 8,
}
NAMES = {rank: name for name, rank in sorted(ORDER.items(), key=lambda item: -item[1])}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(module: str) -> bool:
    return (ROOT.parent / module.replace(".", "/") / "__init__.py").exists()


def _imports(source: str, module: str, is_package: bool) -> list[tuple[str, str | None, int]]:
    """``(module, name or None, line)`` for every import of ours in ``source``, relative imports resolved."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if _is_package(submodule) or (ROOT.parent / (submodule.replace(".", "/") + ".py")).exists():
                    found.append((submodule, None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return [(m, n, line) for m, n, line in found if m == "torch_gaunt" or m.startswith("torch_gaunt.")]


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


FILES = sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)
GRAPH = {
    _module_name(p): _imports(p.read_text(encoding="utf-8"), _module_name(p), p.name == "__init__.py") for p in FILES
}


def test_every_part_has_a_rank():
    parts = {_part(m) for m in GRAPH} - {None}
    assert parts <= set(ORDER), f"give these parts of the package a rank in ORDER: {sorted(parts - set(ORDER))}"


def _violations(module: str, imports: list[tuple[str, str | None, int]]) -> list[str]:
    here = ORDER[_part(module)]
    found = []
    for target, name, line in imports:
        part = _part(target)
        if part is None:
            found.append(f"{module}:{line} imports the top-level package; import the layer it needs")
            continue
        there = ORDER[part]
        if there > here:
            found.append(f"{module}:{line} imports {target} ({NAMES[there]}, above {NAMES[here]})")
        if here >= ORDER["nn"] and part == "sphere":
            found.append(f"{module}:{line} drives sphere grids itself; go through products")
        if name is not None and name.startswith("_") and part != _part(module) and there > 0:
            found.append(f"{module}:{line} takes the private {name} from {target}")
    return found


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _part(m) is not None))
def test_imports_point_down(module):
    assert _violations(module, GRAPH[module]) == []


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges`` (depth-first search), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t) :] + [t]
            if t not in state and (cycle := visit(t)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_no_import_cycles():
    cycle = _find_cycle({m: {t for t, _, _ in GRAPH[m] if t in GRAPH and t != m} for m in GRAPH})
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the search finds one


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("torch_gaunt.so3.probe", "from ..products.gaunt import gaunt_tensor_product\n"),  # up
        ("torch_gaunt.nn.probe", "from ..sphere import grid\n"),  # past products into sphere
        ("torch_gaunt.products.probe", "from ..so3.spherical_harmonics import _tables\n"),  # a private name
        ("torch_gaunt.sphere.probe", "def f():\n    import torch_gaunt.nn\n"),  # inside a function
    ],
)
def test_the_checker_catches_bad_arrows(module, source):
    assert _violations(module, _imports(source, module, is_package=False))


PACKAGES = sorted(_module_name(p) for p in FILES if p.name == "__init__.py")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_has_an_explicit_face(package):
    """``__all__`` is written out as a list of names (not computed from ``dir()``), each name exists, none private."""
    import importlib

    source = (ROOT.parent / package.replace(".", "/") / "__init__.py").read_text(encoding="utf-8")
    assigned = [
        node.value
        for node in ast.parse(source).body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and any(getattr(t, "id", None) == "__all__" for t in getattr(node, "targets", [getattr(node, "target", None)]))
    ]
    assert len(assigned) == 1 and isinstance(assigned[0], (ast.List, ast.Tuple)), f"{package}: write __all__ out"
    assert all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in assigned[0].elts)
    module = importlib.import_module(package)
    for name in module.__all__:
        assert not name.startswith("_") or name == "__version__", f"{package} exports the private {name}"
        assert hasattr(module, name), f"{package}.__all__ names {name}, which it does not define"


def test_layers_are_reachable_from_the_top():
    import torch_gaunt

    for name in ("so3", "sphere", "products", "nn", "testing"):
        assert name in torch_gaunt.__all__ and hasattr(torch_gaunt, name)
    assert torch_gaunt.nn.EquivariantConvolution is not None
