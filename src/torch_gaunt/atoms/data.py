"""Reading labelled structures with ASE: energies, forces, stress or virials, weights and config types.

Every file ``ase.io.read`` understands works. Labels are looked up under configurable keys in ``atoms.info``
(energy, stress, virials, weight, config type), ``atoms.arrays`` (forces) and, since ASE 3.23 turns plain
``energy``/``forces``/``stress`` into a ``SinglePointCalculator``, in ``atoms.calc.results``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import ase
import ase.io
import numpy as np

__all__ = [
    "Configuration",
    "Keys",
    "DEFAULT_KEYS",
    "read_frames",
    "read_configurations",
    "configurations_from_frames",
    "configuration_from_atoms",
    "is_isolated_atom",
]

ISOLATED_ATOM_TYPES = {"isolatedatom", "isolated_atom", "isolated"}


@dataclass(frozen=True)
class Keys:
    """Where the labels live (MACE's ``--energy_key`` etc.)."""

    energy: str = "energy"
    forces: str = "forces"
    stress: str = "stress"
    virials: str = "virials"
    weight: str = "config_weight"
    config_type: str = "config_type"


@dataclass
class Configuration:
    """One labelled structure. ``energy`` eV, ``forces [N, 3]`` eV/Å, ``stress [3, 3]`` eV/Å^3 with ASE's sign;
    a label that the file does not give is ``None``. ``source`` names the file and frame for error messages."""

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    weight: float = 1.0
    config_type: str = "Default"
    source: str = "?"

    def __len__(self) -> int:
        return len(self.numbers)


DEFAULT_KEYS = Keys()


def is_isolated_atom(config: Configuration) -> bool:
    """Whether a frame is marked as an isolated atom (``config_type=IsolatedAtom``, any case, with or without ``_``)."""
    return config.config_type.lower() in ISOLATED_ATOM_TYPES


def _label(atoms: ase.Atoms, key: str, where: str):
    store = atoms.info if where == "info" else atoms.arrays
    if key in store:
        return store[key]
    calc = atoms.calc
    results = getattr(calc, "results", None) or {}
    if key in results:
        return results[key]
    return None


def _finite(name: str, value: np.ndarray, source: str) -> np.ndarray:
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{source}: {name}: NaN or inf values")
    return value


def configuration_from_atoms(atoms: ase.Atoms, keys: Keys = DEFAULT_KEYS, source: str = "?") -> Configuration:
    """Labels and geometry of one ``ase.Atoms``, checked: an empty structure, NaN/inf positions or labels, or a
    periodic cell of zero volume raise ``ValueError`` naming ``source``."""
    if len(atoms) == 0:
        raise ValueError(f"{source}: the structure has no atoms")
    positions = _finite("positions", np.asarray(atoms.positions, dtype=np.float64), source)
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if pbc.any():
        if not np.all(np.isfinite(cell)):
            raise ValueError(f"{source}: the cell has NaN or inf values")
        # the periodic directions must span a non-degenerate lattice
        periodic = cell[pbc]
        if np.linalg.matrix_rank(periodic, tol=1e-8) < len(periodic) or np.linalg.norm(periodic, axis=1).min() < 1e-8:
            raise ValueError(
                f"{source}: pbc={pbc.tolist()} but the periodic cell vectors have zero volume: {cell.tolist()}"
            )
    energy = _label(atoms, keys.energy, "info")
    if energy is not None:
        energy = float(_finite(f"energy '{keys.energy}'", np.asarray(energy, dtype=np.float64), source))
    forces = _label(atoms, keys.forces, "arrays")
    if forces is not None:
        forces = _finite(f"forces '{keys.forces}'", np.asarray(forces, dtype=np.float64), source)
        if forces.shape != (len(atoms), 3):
            raise ValueError(f"{source}: forces '{keys.forces}' have shape {forces.shape}, expected ({len(atoms)}, 3)")
    stress = _label(atoms, keys.stress, "info")
    if stress is not None:
        stress = _stress_matrix(np.asarray(stress, dtype=np.float64), f"stress '{keys.stress}'", source)
    else:
        virials = _label(atoms, keys.virials, "info")
        if virials is not None:
            volume = abs(np.linalg.det(cell))
            if volume <= 0:
                raise ValueError(f"{source}: virials '{keys.virials}' given but the cell has zero volume")
            stress = (
                -_stress_matrix(np.asarray(virials, dtype=np.float64), f"virials '{keys.virials}'", source) / volume
            )
    weight = float(atoms.info.get(keys.weight, 1.0))
    if not (np.isfinite(weight) and weight >= 0):
        raise ValueError(f"{source}: weight '{keys.weight}' must be a finite number >= 0, got {weight}")
    return Configuration(
        numbers=np.asarray(atoms.numbers, dtype=np.int64),
        positions=positions,
        cell=cell,
        pbc=pbc,
        energy=energy,
        forces=forces,
        stress=stress,
        weight=weight,
        config_type=str(atoms.info.get(keys.config_type, "Default")),
        source=source,
    )


def _stress_matrix(value: np.ndarray, name: str, source: str) -> np.ndarray:
    value = _finite(name, value, source)
    if value.shape == (6,):  # Voigt xx yy zz yz xz xy
        xx, yy, zz, yz, xz, xy = value
        return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    if value.size == 9:
        return value.reshape(3, 3)
    raise ValueError(f"{source}: {name} has {value.size} values, expected 6 (Voigt) or 9 (3x3)")


def configurations_from_frames(frames: list[ase.Atoms], keys: Keys, name: str) -> list[Configuration]:
    """:func:`configuration_from_atoms` for every frame of the file ``name``, and the check that a label key found
    in some frames is found in all (isolated atoms aside)."""
    configs = [configuration_from_atoms(a, keys, f"{name}, frame {k}") for k, a in enumerate(frames)]
    for label, key in (("energy", keys.energy), ("forces", keys.forces)):
        has = [getattr(c, label) is not None for c in configs if not is_isolated_atom(c)]
        if any(has) and not all(has):
            missing = next(c for c in configs if not is_isolated_atom(c) and getattr(c, label) is None)
            raise ValueError(
                f"{missing.source}: no {label} under the key '{key}', although other frames of the file have one"
            )
    return configs


def read_frames(path: str | os.PathLike, index: str = ":") -> list[ase.Atoms]:
    """``ase.io.read(path, index)`` as a list, with clear errors for a missing, unreadable or empty file."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: a folder, expected a structure file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        frames = ase.io.read(path, index=index)
    except Exception as error:
        raise ValueError(f"{path}: ase.io.read could not read it ({type(error).__name__}: {error})") from None
    if isinstance(frames, ase.Atoms):
        frames = [frames]
    if not frames:
        raise ValueError(f"{path}: the file has no structures")
    return frames


def read_configurations(
    path: str | os.PathLike, keys: Keys = DEFAULT_KEYS, index: str = ":", require_energy: bool = False
) -> list[Configuration]:
    """Read every frame of ``path`` (any format ``ase.io.read`` knows) as :class:`Configuration` objects.

    A label key found in some frames but not in others is an error naming the frame (a typo in ``--energy_key``
    or a broken file is more likely than meant-to-be-missing labels); with ``require_energy`` a file where no
    frame has an energy is an error too.
    """
    configs = configurations_from_frames(read_frames(path, index), keys, str(path))
    if require_energy and not any(c.energy is not None for c in configs):
        raise ValueError(
            f"{path}: no frame has an energy under the key '{keys.energy}' (looked in atoms.info and in the "
            "calculator's results); pass the right key with --energy_key"
        )
    return configs
