r"""Real spherical harmonics of any degree, in the e3nn convention.

With ``y`` the polar axis, ``cos θ = y / r`` and ``φ`` measured from ``z`` towards ``x``:

.. math::

    Y_{lm}(\hat r) = \bar P_l^{|m|}(\cos\theta)\,
    \begin{cases} \sqrt2 \sin(|m|\varphi) & m < 0 \\ 1 & m = 0 \\ \sqrt 2\cos(m\varphi) & m > 0 \end{cases}

where :math:`\bar P_l^m` is the associated Legendre function normalised so that
:math:`\int Y_{lm}^2 d\Omega = 1`, with no Condon-Shortley phase. So ``Y_1 = sqrt(3/4π) (x, y, z)``.

The evaluation is the Cartesian form of the standard stable recurrences (as in sphericart):
``r^m sin^m θ (cos mφ, sin mφ)`` are the real and imaginary parts of ``(z + i x)^m``, and the
normalised Legendre polynomials follow

.. math::

    \bar Q_l^m = a_{lm}\, y\, \bar Q_{l-1}^m - b_{lm}\, r^2\, \bar Q_{l-2}^m, \qquad
    a_{lm} = \sqrt{\tfrac{(2l+1)(2l-1)}{(l-m)(l+m)}},\quad
    b_{lm} = \sqrt{\tfrac{(2l+1)(l+m-1)(l-m-1)}{(2l-3)(l-m)(l+m)}},

starting from the closed-form diagonal :math:`\bar Q_m^m`. All coefficients stay of order one, so
nothing overflows at high degree, and every operation is a polynomial: values and derivatives of
all orders are finite everywhere, including at the poles. With ``normalize=False`` the result is the
solid harmonic ``r^l Y_lm(r̂)``, as in e3nn.

Normalisations (e3nn names): ``"integral"`` (``∫ Y_lm² dΩ = 1``), ``"component"``
(``Σ_m Y_lm² = 2l + 1`` on the unit sphere) and ``"norm"`` (``Σ_m Y_lm² = 1``).
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import check_choice, check_degree, check_last_dims, check_tensor

__all__ = ["spherical_harmonics", "SphericalHarmonics", "associated_legendre"]

_NORMALIZATIONS = ("integral", "component", "norm")


class _Tables:
    """Recurrence coefficients for one (lmax, dtype, device), computed in float64 then cast."""

    def __init__(self, lmax: int, dtype: torch.dtype, device: torch.device):
        self.lmax = lmax
        self.diag = []  # \bar Q_l^l, python floats
        value = 1.0 / (4 * math.pi)
        for l in range(lmax + 1):
            if l > 0:
                value *= (2 * l - 1) / (2 * l)
            self.diag.append(math.sqrt((2 * l + 1) * value))
        self.a: list[torch.Tensor | None] = [None]
        self.b: list[torch.Tensor | None] = [None]
        for l in range(1, lmax + 1):
            a = [math.sqrt((2 * l + 1) * (2 * l - 1) / ((l - m) * (l + m))) for m in range(l)]
            b = [
                math.sqrt((2 * l + 1) * (l + m - 1) * (l - m - 1) / ((2 * l - 3) * (l - m) * (l + m)))
                if m <= l - 2
                else 0.0
                for m in range(l)
            ]
            self.a.append(torch.tensor(a, dtype=torch.float64).to(dtype=dtype, device=device))
            self.b.append(torch.tensor(b, dtype=torch.float64).to(dtype=dtype, device=device))
        # Q̄_l^m is linear in Q̄_m^m: starting the recurrence at sqrt2 Q̄_m^m (m >= 1) folds the sqrt2 of the
        # real harmonics into the Legendre rows; |m| indices of m = -l..l pick each row for the output
        self.diag_sh = [d * (math.sqrt(2) if m > 0 else 1.0) for m, d in enumerate(self.diag)]
        self.abs_m = [torch.tensor([abs(m) for m in range(-l, l + 1)], device=device) for l in range(lmax + 1)]
        self.scale = {}
        for name in _NORMALIZATIONS:
            per_l = [_normalization_factor(name, l) for l in range(lmax + 1)]
            self.scale[name] = torch.tensor(
                [s for l, s in enumerate(per_l) for _ in range(2 * l + 1)], dtype=torch.float64
            ).to(dtype=dtype, device=device)


def _normalization_factor(normalization: str, l: int) -> float:
    if normalization == "integral":
        return 1.0
    if normalization == "component":
        return math.sqrt(4 * math.pi)
    return math.sqrt(4 * math.pi / (2 * l + 1))


_tables = cached_table(_Tables)  # (lmax, dtype, device) -> _Tables


def _normalized_legendre(y: torch.Tensor, r2: torch.Tensor, tables: _Tables, diag: list[float] | None = None):
    """Yield, for ``l = 0..lmax``, the rows ``Q̄_l^m(y, r²)`` ``[l + 1, n]`` (``m = 0..l``) of ``y, r² [1, n]``.

    ``Q̄_l^m`` is homogeneous of degree ``l - m`` in ``(y, r)``; on the unit sphere
    ``P̄_l^m(cos θ) = Q̄_l^m(cos θ, 1) sin^m θ`` is the normalised associated Legendre function.
    ``diag`` replaces the starting values ``Q̄_m^m`` (default ``tables.diag``).
    """
    diag = tables.diag if diag is None else diag
    Q_prev2, Q_prev = None, y.new_full(y.shape, diag[0])
    yield Q_prev
    for l in range(1, tables.lmax + 1):
        head = tables.a[l][:, None] * y * Q_prev
        if l >= 2:
            head[: l - 1] -= tables.b[l][: l - 1, None] * r2 * Q_prev2
        Q = torch.cat([head, y.new_full(y.shape, diag[l])])
        yield Q
        Q_prev2, Q_prev = Q_prev, Q


def associated_legendre(cos_theta: torch.Tensor, lmax: int, sin_theta: torch.Tensor | None = None) -> torch.Tensor:
    """Normalised associated Legendre functions ``P̄_l^m(cos θ)`` for ``0 <= m <= l <= lmax``.

    ``P̄_l^m`` is normalised so that ``Y_lm = P̄_l^{|m|}(cos θ) Φ_m(φ)`` is orthonormal on the sphere, with
    ``Φ_m = √2 sin(|m|φ), 1, √2 cos(mφ)`` for ``m < 0, = 0, > 0`` (see the module docstring), and has no
    Condon-Shortley phase: ``P̄_l^m(x) = Q̄_l^m(x) (1 - x²)^{m/2}``.

    Args:
        cos_theta: ``[...]`` values of ``cos θ`` in ``[-1, 1]``.
        lmax: largest degree.
        sin_theta: ``[...]``, defaults to ``sqrt(1 - cos²θ) >= 0``; pass a signed one to extend the functions
            to ``θ ∈ [0, 2π)``, where ``P̄_l^m(cos θ) sin^m θ`` stays a trigonometric polynomial.

    Returns:
        ``[..., lmax + 1 (l), lmax + 1 (m)]``, zero where ``m > l``.

    >>> P = associated_legendre(torch.tensor([1.0]), 1)
    >>> [round(float(v), 4) for v in P.flatten()]  # P̄_0^0 = 1/sqrt(4π), P̄_1^0(1) = sqrt(3/4π), m > l: 0
    [0.2821, 0.0, 0.4886, 0.0]
    """
    check_tensor("cos_theta", cos_theta)
    check_degree("lmax", lmax)
    if sin_theta is not None:
        check_tensor("sin_theta", sin_theta)
        if sin_theta.shape != cos_theta.shape:
            raise ValueError(
                f"sin_theta: expected the shape of cos_theta {tuple(cos_theta.shape)}, got {tuple(sin_theta.shape)}"
            )
    tables = _tables(lmax, cos_theta.dtype, cos_theta.device)
    shape = cos_theta.shape
    y = cos_theta.reshape(1, -1)
    s = torch.sqrt(torch.clamp(1 - y * y, min=0)) if sin_theta is None else sin_theta.reshape(1, -1)
    powers = torch.cat([torch.ones_like(y)] + [s**m for m in range(1, lmax + 1)])  # [lmax + 1, n]
    out = y.new_zeros(lmax + 1, lmax + 1, y.shape[1])
    for l, Q in enumerate(_normalized_legendre(y, torch.ones_like(y), tables)):
        out[l, : l + 1] = Q * powers[: l + 1]
    return out.permute(2, 0, 1).reshape(shape + (lmax + 1, lmax + 1))


def _spherical_harmonics(x: torch.Tensor, tables: _Tables, normalize: bool, normalization: str) -> torch.Tensor:
    # Works coefficient-major on [n] rows (strided views of x) and writes each degree into the [n, K] output.
    lmax = tables.lmax
    batch = x.shape[:-1]
    x = x.reshape(-1, 3)
    X, Y, Z = x[:, 0], x[:, 1], x[:, 2]
    r2 = X * X + Y * Y + Z * Z
    if normalize:  # the inner where keeps the gradient finite at zero vectors, the outer one maps them to 0
        nonzero = r2 > 0
        inverse = torch.where(nonzero, torch.rsqrt(torch.where(nonzero, r2, torch.ones_like(r2))), torch.zeros_like(r2))
        X, Y, Z = X * inverse, Y * inverse, Z * inverse
        r2 = nonzero.to(x.dtype)
    # T[m] = Re (z + i x)^m for m > 0, Im (z + i x)^|m| for m < 0, 1 for m = 0; rows m = -L..L
    cos_part, sin_part = [], []
    c, s = Z, X
    for m in range(1, lmax + 1):
        if m > 1:
            c, s = Z * c - X * s, Z * s + X * c
        cos_part.append(c)
        sin_part.append(s)
    T = torch.stack(sin_part[::-1] + [torch.ones_like(X)] + cos_part)
    out = x.new_empty((x.shape[0], (lmax + 1) ** 2))
    for l, Q in enumerate(_normalized_legendre(Y[None], r2[None], tables, tables.diag_sh)):
        block = Q.index_select(0, tables.abs_m[l]) * T[lmax - l : lmax + l + 1]  # m = -l..l
        out[:, l * l : (l + 1) ** 2] = block.T  # one strided write per degree: cheaper than transposing [K, n]
    if normalization != "integral":
        out = out * tables.scale[normalization]
    return out.reshape(batch + (out.shape[-1],))


def spherical_harmonics(
    x: torch.Tensor, lmax: int, normalize: bool = True, normalization: str = "integral"
) -> torch.Tensor:
    """Real spherical harmonics ``Y_lm`` for ``l = 0..lmax`` (e3nn convention and values).

    Args:
        x: ``[..., 3]`` vectors (any floating dtype and device).
        lmax: largest degree, any non-negative int.
        normalize: evaluate at ``x / |x|`` (zero vectors give ``Y_0`` and zeros, with finite
            gradients); if False, return the solid harmonics ``|x|^l Y_lm(x / |x|)``.
        normalization: ``"integral"``, ``"component"`` or ``"norm"`` (see module docstring).

    Returns:
        ``[..., (lmax + 1)**2]``, index ``l*l + l + m``.

    >>> import torch
    >>> spherical_harmonics(torch.tensor([0.0, 0.0, 2.0]), 1, normalization="component")
    tensor([1.0000, 0.0000, 0.0000, 1.7321])
    """
    check_tensor("x", x, min_dim=1)
    check_last_dims("x", x, (3,), "Cartesian vectors")
    check_degree("lmax", lmax)
    check_choice("normalization", normalization, _NORMALIZATIONS)
    return _spherical_harmonics(x, _tables(lmax, x.dtype, x.device), normalize, normalization)


class SphericalHarmonics(torch.nn.Module):
    """Module form of :func:`spherical_harmonics`: ``[..., 3] -> [..., (lmax + 1)**2]``."""

    def __init__(self, lmax: int, normalize: bool = True, normalization: str = "integral"):
        super().__init__()
        self.lmax = check_degree("lmax", lmax)
        self.normalize = normalize
        self.normalization = check_choice("normalization", normalization, _NORMALIZATIONS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spherical_harmonics(x, self.lmax, self.normalize, self.normalization)

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}, normalize={self.normalize}, normalization={self.normalization!r}"
