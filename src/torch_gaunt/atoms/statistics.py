"""What a potential learns from its training set before training: isolated-atom energies (E0s), the average
number of neighbours and the energy scale and shift.

E0s come from frames marked ``config_type=IsolatedAtom``, from a file of single atoms, from a dict, or from a
least-squares fit of the total energies on the element counts (MACE's ``--E0s=average``). Bad E0s are the most
common cause of exploding losses: :func:`check_e0s` warns when the interaction energy per atom they leave is far
from the few eV a chemical bond is worth.
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import numpy as np

from .data import DEFAULT_KEYS, Configuration, Keys, is_isolated_atom, read_configurations

__all__ = ["resolve_e0s", "fit_e0s", "isolated_atom_e0s", "check_e0s", "average_num_neighbors", "scale_shift"]


def isolated_atom_e0s(configs: list[Configuration]) -> dict[int, float]:
    """E0s ``{Z: eV}`` from single-atom frames marked ``config_type=IsolatedAtom`` (or every frame, if all of them
    are single atoms)."""
    singles = [c for c in configs if len(c) == 1 and c.energy is not None]
    marked = [c for c in singles if is_isolated_atom(c)]
    chosen = marked if marked else (singles if len(singles) == len(configs) else [])
    return {int(c.numbers[0]): float(c.energy) for c in chosen}


def fit_e0s(configs: list[Configuration], atomic_numbers: list[int]) -> dict[int, float]:
    """Least-squares E0s: ``E ≈ Σ_Z n_Z E0[Z]`` over the labelled frames (MACE's ``--E0s=average``)."""
    labelled = [c for c in configs if c.energy is not None]
    if not labelled:
        raise ValueError("E0s: cannot fit E0s by least squares, no frame has an energy")
    counts = np.array([[np.sum(c.numbers == z) for z in atomic_numbers] for c in labelled], dtype=np.float64)
    energies = np.array([c.energy for c in labelled])
    e0, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return {int(z): float(e) for z, e in zip(atomic_numbers, e0)}


def resolve_e0s(
    spec: str | dict | None, train: list[Configuration], atomic_numbers: list[int], keys: Keys = DEFAULT_KEYS
):
    """E0s ``{Z: eV}`` for every element in ``atomic_numbers`` from ``spec``:

    - ``None`` or ``"auto"``: the training file's isolated-atom frames if it has them for every element, else
      ``"average"``;
    - ``"isolated"``: the training file's isolated-atom frames (an error if an element is missing);
    - ``"average"``: least squares on the training energies;
    - a dict or a string such as ``"{1: -13.6, 8: -2037.8}"``, or a path to a JSON file of that form or to a
      structure file of single atoms.
    """
    if spec is None or spec == "auto":
        found = isolated_atom_e0s(train)
        if set(atomic_numbers) <= set(found):
            return {z: found[z] for z in atomic_numbers}
        return fit_e0s(train, atomic_numbers)
    if spec == "isolated":
        found = isolated_atom_e0s(train)
    elif spec == "average":
        return fit_e0s(train, atomic_numbers)
    elif isinstance(spec, dict):
        found = {int(k): float(v) for k, v in spec.items()}
    elif Path(spec).is_file():
        path = Path(spec)
        if path.suffix == ".json":
            found = {int(k): float(v) for k, v in json.loads(path.read_text()).items()}
        else:
            found = isolated_atom_e0s(read_configurations(path, keys))
            if not found:
                raise ValueError(f"E0s: {path} has no single-atom frames with an energy")
    else:
        try:
            found = {int(k): float(v) for k, v in ast.literal_eval(spec).items()}
        except (ValueError, SyntaxError, AttributeError):
            raise ValueError(
                f"E0s: expected 'auto', 'isolated', 'average', a dict like '{{1: -13.6, 8: -2037.8}}' or a file, got {spec!r}"
            ) from None
    missing = sorted(set(atomic_numbers) - set(found))
    if missing:
        raise ValueError(f"E0s: no isolated-atom energy for atomic numbers {missing} (have {sorted(found)})")
    return {z: found[z] for z in atomic_numbers}


def interaction_energy_per_atom(configs: list[Configuration], e0s: dict[int, float]) -> np.ndarray:
    """``(E - Σ_i E0[z_i]) / N`` for every labelled frame that is not an isolated atom, in eV/atom."""
    return np.array(
        [
            (c.energy - sum(e0s[int(z)] for z in c.numbers)) / len(c)
            for c in configs
            if c.energy is not None and not is_isolated_atom(c)
        ]
    )


def check_e0s(configs: list[Configuration], e0s: dict[int, float], threshold: float = 10.0) -> float:
    """Warn when the mean interaction energy per atom left by ``e0s`` exceeds ``threshold`` eV/atom in size (real
    bonds are worth a few eV per atom; tens or thousands point to E0s from another level of theory, other
    units or the wrong elements). Returns that mean."""
    per_atom = interaction_energy_per_atom(configs, e0s)
    mean = float(per_atom.mean()) if per_atom.size else 0.0
    if abs(mean) > threshold:
        warnings.warn(
            f"E0s: with these E0s the mean interaction energy is {mean:.3g} eV/atom (more than {threshold:g} in size); "
            "check that the E0s come from the same level of theory and units as the data, or use --E0s=average",
            stacklevel=2,
        )
    return mean


def average_num_neighbors(edge_counts: list[int], atom_counts: list[int]) -> float:
    """Mean number of neighbours per atom: total directed edges over total atoms (at least 1)."""
    total_atoms = sum(atom_counts)
    return max(sum(edge_counts) / total_atoms, 1.0) if total_atoms else 1.0


def scale_shift(configs: list[Configuration], e0s: dict[int, float]) -> tuple[float, float]:
    """MACE's ``rms_forces_scaling``: scale = RMS of the force components (or the spread of the interaction energy
    per atom when no forces are given), shift = mean interaction energy per atom."""
    per_atom = interaction_energy_per_atom(configs, e0s)
    shift = float(per_atom.mean()) if per_atom.size else 0.0
    forces = [c.forces for c in configs if c.forces is not None and not is_isolated_atom(c)]
    if forces:
        scale = float(np.sqrt(np.mean(np.concatenate(forces) ** 2)))
    else:
        scale = float(per_atom.std()) if per_atom.size > 1 else 1.0
    return (scale if scale > 1e-12 else 1.0), shift
