"""Irreducible representations of O(3) in e3nn notation.

An irrep is a degree ``l >= 0`` and a parity ``p = +1`` (``"e"``, even) or ``-1`` (``"o"``, odd);
its dimension is ``2l + 1``. A feature vector in the *e3nn layout* concatenates, for each
``mul x irrep`` in order, ``mul`` copies of the irrep: the last axis has size ``Σ mul (2l + 1)`` and
each block is ``[mul, 2l + 1]`` flattened with the multiplicity first.

>>> irreps = Irreps("16x0e + 8x1o")
>>> irreps.dim, irreps.lmax, str(irreps)
(40, 1, '16x0e+8x1o')
>>> Irreps("0e + 1o + 0e").simplify()
Irreps('1x0e+1x1o+1x0e')
>>> Irreps("0e + 1o + 0e").sort().irreps.simplify()
Irreps('2x0e+1x1o')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Union

import torch

from .wigner import representation_matrix

__all__ = ["Irrep", "MulIrrep", "Irreps", "IrrepsLike"]

_IRREP_RE = re.compile(r"^(\d+)([eoy])$")
_MUL_IRREP_RE = re.compile(r"^(?:(\d+)\s*x\s*)?(\d+[eoy])$")


class Irrep(tuple):
    """One irrep of O(3): degree ``l`` and parity ``p`` (+1 even, -1 odd); a tuple ``(l, p)``.

    >>> Irrep("1o"), Irrep(2, 1).dim
    (Irrep('1o'), 5)
    >>> list(Irrep("1o") * Irrep("1o"))
    [Irrep('0e'), Irrep('1e'), Irrep('2e')]
    """

    __slots__ = ()

    def __new__(cls, l: int | str | Irrep, p: int | None = None) -> Irrep:
        if isinstance(l, Irrep) and p is None:
            return l
        if isinstance(l, str) and p is None:
            match = _IRREP_RE.match(l.strip())
            if match is None:
                raise ValueError(f"irrep: expected a string like '1o' or '2e' (degree then e/o), got {l!r}")
            degree, letter = int(match.group(1)), match.group(2)
            parity = {"e": 1, "o": -1, "y": (-1) ** degree}[letter]
            return super().__new__(cls, (degree, parity))
        if isinstance(l, tuple) and p is None and len(l) == 2:
            return cls(*l)
        if isinstance(l, bool) or not isinstance(l, int) or l < 0:
            raise ValueError(f"irrep: expected a degree l as a non-negative int, got {l!r}")
        if p not in (1, -1):
            raise ValueError(f"irrep: expected a parity p of +1 or -1, got {p!r}")
        return super().__new__(cls, (l, p))

    def __getnewargs__(self):
        return tuple(self)

    @property
    def l(self) -> int:  # noqa: E743
        """Degree."""
        return self[0]

    @property
    def p(self) -> int:
        """Parity, +1 or -1."""
        return self[1]

    @property
    def dim(self) -> int:
        """Dimension ``2l + 1``."""
        return 2 * self.l + 1

    def is_scalar(self) -> bool:
        """True for ``0e``."""
        return self.l == 0 and self.p == 1

    def __mul__(self, other: Irrep) -> Iterator[Irrep]:  # type: ignore[override]
        """Irreps in the tensor product ``self ⊗ other``: ``|l1 - l2| .. l1 + l2``, parity ``p1 p2``."""
        other = Irrep(other)
        p = self.p * other.p
        return (Irrep(l, p) for l in range(abs(self.l - other.l), self.l + other.l + 1))

    def __rmul__(self, mul: int) -> Irreps:  # type: ignore[override]
        """``3 * Irrep("1o")`` is ``Irreps("3x1o")``."""
        return Irreps([(mul, self)])

    def __repr__(self) -> str:
        return f"Irrep('{self}')"

    def __str__(self) -> str:
        return f"{self.l}{'e' if self.p == 1 else 'o'}"

    def D_from_matrix(self, R: torch.Tensor) -> torch.Tensor:
        """Representation matrix of this irrep for rotations or improper rotations.

        Args:
            R: ``[..., 3, 3]`` orthogonal matrices (det ±1).

        Returns:
            ``[..., 2l + 1, 2l + 1]``, the real Wigner-D of ``R`` (see :func:`torch_gaunt.so3.wigner_D`)
            times ``p`` for improper matrices.
        """
        return representation_matrix([(self.l, self.p)], R)


class MulIrrep(NamedTuple):
    """``mul`` copies of ``ir``."""

    mul: int
    ir: Irrep

    @property
    def dim(self) -> int:
        return self.mul * self.ir.dim

    def __repr__(self) -> str:
        return f"{self.mul}x{self.ir}"


IrrepsLike = Union[str, "Irreps", Irrep, Iterable]


class _SortResult(NamedTuple):
    irreps: Irreps
    p: tuple[int, ...]
    inv: tuple[int, ...]


class Irreps(tuple):
    """A direct sum of irreps with multiplicities, e.g. ``Irreps("16x0e + 8x1o")``.

    Accepts a string in e3nn notation, another ``Irreps`` (ours or e3nn's), an ``Irrep``, or an
    iterable of ``(mul, irrep)`` / ``irrep`` entries. Equality follows e3nn: two ``Irreps`` are
    equal when their lists of ``(mul, irrep)`` are equal (so ``"2x0e" != "0e + 0e"``), and a
    string compares by its parsed value.
    """

    def __new__(cls, irreps: IrrepsLike | None = None) -> Irreps:
        if irreps is None:
            return super().__new__(cls, ())
        if isinstance(irreps, Irreps):
            return super().__new__(cls, tuple(irreps))
        if isinstance(irreps, Irrep):
            return super().__new__(cls, (MulIrrep(1, irreps),))
        if isinstance(irreps, str):
            return super().__new__(cls, _parse(irreps))
        if type(irreps).__name__ == "Irreps":  # e3nn's o3.Irreps: go through its string form
            return super().__new__(cls, _parse(str(irreps)))
        entries = []
        try:
            items = list(irreps)
        except TypeError:
            msg = f"irreps: expected a string like '16x0e+8x1o' or a list of (mul, irrep), got {irreps!r}"
            raise TypeError(msg) from None
        for item in items:
            if isinstance(item, str):
                entries.append(MulIrrep(1, Irrep(item)))
            elif isinstance(item, Irrep):
                entries.append(MulIrrep(1, item))
            elif isinstance(item, tuple) and len(item) == 2 and not isinstance(item[0], tuple):
                mul, ir = item
                if isinstance(mul, bool) or not isinstance(mul, int) or mul < 0:
                    raise ValueError(f"irreps: expected a multiplicity as a non-negative int, got {mul!r}")
                entries.append(MulIrrep(mul, Irrep(ir)))
            else:
                raise TypeError(f"irreps: expected entries (mul, irrep) or irrep, got {item!r}")
        return super().__new__(cls, tuple(entries))

    @staticmethod
    def spherical_harmonics(lmax: int, p: int = -1) -> Irreps:
        """Irreps of the spherical harmonics ``Y_0 .. Y_lmax`` of a vector with parity ``p``.

        >>> Irreps.spherical_harmonics(3)
        Irreps('1x0e+1x1o+1x2e+1x3o')
        """
        return Irreps([(1, Irrep(l, p**l)) for l in range(lmax + 1)])

    # ---- sizes -------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Size of the e3nn layout, ``Σ mul (2l + 1)``."""
        return sum(mul * ir.dim for mul, ir in self)

    @property
    def num_irreps(self) -> int:
        """Number of irreps counted with multiplicity, ``Σ mul``."""
        return sum(mul for mul, _ in self)

    @property
    def ls(self) -> list[int]:
        """Degree of every irrep counted with multiplicity."""
        return [ir.l for mul, ir in self for _ in range(mul)]

    @property
    def lmax(self) -> int:
        """Largest degree; raises ``ValueError`` on empty irreps."""
        if len(self) == 0:
            raise ValueError("irreps: lmax of empty irreps is undefined")
        return max(ir.l for _, ir in self)

    def slices(self) -> list[slice]:
        """Slice of each ``mul x irrep`` block in the e3nn layout."""
        out, start = [], 0
        for mul_ir in self:
            out.append(slice(start, start + mul_ir.dim))
            start += mul_ir.dim
        return out

    def count(self, ir: Irrep | str) -> int:  # type: ignore[override]
        """Total multiplicity of ``ir``."""
        ir = Irrep(ir)
        return sum(mul for mul, irrep in self if irrep == ir)

    def __contains__(self, ir: object) -> bool:
        try:
            ir = Irrep(ir)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return False
        return any(irrep == ir for _, irrep in self)

    # ---- transformations ---------------------------------------------------------------------
    def simplify(self) -> Irreps:
        """Merge consecutive equal irreps and drop zero multiplicities (order is kept)."""
        out: list[tuple[int, Irrep]] = []
        for mul, ir in self:
            if mul == 0:
                continue
            if out and out[-1][1] == ir:
                out[-1] = (out[-1][0] + mul, ir)
            else:
                out.append((mul, ir))
        return Irreps(out)

    def remove_zero_multiplicities(self) -> Irreps:
        return Irreps([(mul, ir) for mul, ir in self if mul > 0])

    def sort(self) -> _SortResult:
        """Sort by degree, then parity (odd before even, as e3nn), stably.

        Returns ``(irreps, p, inv)``: ``p[i]`` is the new position of entry ``i`` and ``inv`` its inverse.
        """
        order = sorted(range(len(self)), key=lambda i: (self[i].ir.l, self[i].ir.p, i))
        inv = tuple(order)
        p = tuple(inv.index(i) for i in range(len(self)))
        return _SortResult(Irreps([self[i] for i in inv]), p, inv)

    def filter(self, keep: Iterable[Irrep | str] | None = None, *, lmax: int | None = None) -> Irreps:
        """Keep only the listed irreps and/or degrees ``<= lmax``."""
        kept = None if keep is None else {Irrep(k) for k in keep}
        return Irreps([(m, ir) for m, ir in self if (kept is None or ir in kept) and (lmax is None or ir.l <= lmax)])

    def D_from_matrix(self, R: torch.Tensor) -> torch.Tensor:
        """Block-diagonal representation ``[..., dim, dim]`` of orthogonal matrices ``R [..., 3, 3]``."""
        return representation_matrix([(ir.l, ir.p) for mul, ir in self for _ in range(mul)], R)

    # ---- python protocol -----------------------------------------------------------------------
    def __getitem__(self, index):  # type: ignore[override]
        item = super().__getitem__(index)
        return Irreps(item) if isinstance(index, slice) else item

    def __add__(self, other: IrrepsLike) -> Irreps:  # type: ignore[override]
        return Irreps(tuple(self) + tuple(Irreps(other)))

    def __radd__(self, other: IrrepsLike) -> Irreps:
        return Irreps(other) + self

    def __mul__(self, n: int) -> Irreps:  # type: ignore[override]
        """Repeat the whole list ``n`` times (as e3nn)."""
        if not isinstance(n, int):
            raise TypeError(f"irreps: can only be multiplied by an int, got {type(n).__name__}")
        return Irreps(tuple(self) * n)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Irreps):
            return tuple(self) == tuple(other)
        try:
            return tuple(self) == tuple(Irreps(other))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __str__(self) -> str:
        return "+".join(f"{mul}x{ir}" for mul, ir in self)

    def __repr__(self) -> str:
        return f"Irreps('{self}')"


def _parse(text: str) -> tuple[MulIrrep, ...]:
    text = text.strip()
    if not text:
        return ()
    out = []
    for part in text.split("+"):
        match = _MUL_IRREP_RE.match(part.strip())
        if match is None:
            raise ValueError(
                f"irreps: could not parse {part.strip()!r} in {text!r}; expected terms like '16x0e' or '1o' "
                "joined by '+'"
            )
        mul = int(match.group(1)) if match.group(1) is not None else 1
        out.append(MulIrrep(mul, Irrep(match.group(2))))
    return tuple(out)
