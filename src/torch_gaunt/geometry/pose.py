r"""Densities over rotations in the SO(3) Fourier basis, and the equivariant single-view pose head.

**Density.** A function on SO(3) band-limited to degree ``L`` is ``f(R) = Σ_l Σ_mn F^l_mn D^l_mn(R)`` with real
Wigner-D matrices (:func:`~torch_gaunt.so3.wigner_D`). The pose density is ``p(R) = exp f(R) / Z`` with respect
to the normalised Haar measure (the uniform density is 1), ``Z = ∫ exp f dR`` computed on a product grid in
the Euler angles ``R = Y(α) X(β) Y(γ)``: ``α, γ`` equispaced, ``cos β`` at Gauss-Legendre nodes
(:func:`so3_haar_grid`, exact for the Haar integral of every ``D^l`` with ``l`` below its resolution).
Moving the coefficients by ``g``, ``F^l -> D^l(g) F^l``, moves the function: ``f'(R) = f(g^{-1} R)``.

**Head (induced representation, SO(2) -> SO(3)).** A camera sees rotations about its optical axis (here ``y``,
the polar axis of the real spherical harmonics) as rotations of the image plane. Image features that are
SO(2)-equivariant carry frequencies ``k``: a pair ``(a, b)`` of frequency ``k`` turns into
``(a cos kγ + b sin kγ, -a sin kγ + b cos kγ)`` when the scene turns by ``γ`` about ``y``, and frequency 0 is
invariant. Restricted to rotations about ``y``, degree ``l`` of SO(3) splits into frequencies ``0..l`` (rows
``m = ±k`` of ``D^l`` turn exactly that way); by Frobenius reciprocity, the SO(2)-equivariant linear maps from
frequency ``k`` into the columns of ``F^l`` are ``a I + b J`` on rows ``(-k, k)`` of each column, for every
``l >= k``. :class:`SO3PoseHead` learns these maps, so that turning the image turns the predicted density:
``p(R | turned image) = p(R_y(γ)^{-1} R | image)``: exactly for ``f``, and for the normalised density up to the
quadrature error of ``Z`` (exactly for turns by a multiple of the grid's ``α`` step). After Howell et al.
(NeurIPS 2023) and Klee et al. (ICLR 2023).
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import check_degree, check_int, check_last_dims, check_tensor
from ..so3.quadrature import gauss_legendre_grid
from ..so3.rotations import angles_to_matrix
from ..so3.wigner import wigner_D_blocks

__all__ = ["so3_haar_grid", "so3_fourier_function", "num_so3_coefficients", "SO3FourierDensity", "SO3PoseHead"]


def num_so3_coefficients(lmax: int) -> int:
    """``Σ_{l <= lmax} (2l+1)²``: the size of packed SO(3) Fourier coefficients."""
    return sum((2 * l + 1) ** 2 for l in range(check_degree("lmax", lmax) + 1))


@cached_table
def _haar_grid(resolution: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    n_beta, n_angle = resolution // 2 + 1, resolution + 1
    cos_beta, angle, weights = gauss_legendre_grid(n_beta, n_angle, torch.float64)
    w_beta = weights[:, 0] * n_angle / (2 * math.pi)  # Gauss-Legendre weights, summing to 2
    alpha, beta, gamma = torch.meshgrid(angle, torch.acos(cos_beta), angle, indexing="ij")
    R = angles_to_matrix(alpha.flatten(), beta.flatten(), gamma.flatten())
    w = (w_beta[None, :, None] / (2 * n_angle * n_angle)).expand(n_angle, n_beta, n_angle).flatten()
    return R.to(dtype=dtype, device=device), w.to(dtype=dtype, device=device)


def so3_haar_grid(
    resolution: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotations ``[G, 3, 3]`` and Haar weights ``[G]`` (summing to 1) of an Euler-angle product grid.

    ``resolution + 1`` equispaced ``α`` and ``γ``, ``resolution // 2 + 1`` Gauss-Legendre nodes in ``cos β``:
    ``Σ_g w_g D^l(R_g) = δ_{l0}`` holds exactly for ``l <= resolution``. ``G = (resolution+1)² (resolution//2+1)``.
    """
    return _haar_grid(check_int("resolution", resolution), dtype, torch.device(device))


def _wigner_flat(lmax: int, rotations: torch.Tensor) -> torch.Tensor:
    """``[..., Σ (2l+1)²]``: the blocks ``D^l(R)`` flattened row by row, in the packed coefficients' order."""
    return torch.cat([b.flatten(-2) for b in wigner_D_blocks(lmax, rotations)], -1)


@cached_table
def _grid_wigner(resolution: int, lmax: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    R, _ = _haar_grid(resolution, torch.float64, torch.device("cpu"))
    return _wigner_flat(lmax, R).to(dtype=dtype, device=device)


def _check_coefficients(coefficients: object, lmax: int) -> torch.Tensor:
    coefficients = check_tensor("coefficients", coefficients, min_dim=1)
    if coefficients.shape[-1] != num_so3_coefficients(lmax):
        raise ValueError(
            f"coefficients: expected [..., {num_so3_coefficients(lmax)}] (Σ_l (2l+1)² for lmax = {lmax}), "
            f"got {tuple(coefficients.shape)}"
        )
    return coefficients


def so3_fourier_function(coefficients: torch.Tensor, rotations: torch.Tensor, lmax: int) -> torch.Tensor:
    """``f(R) = Σ_l Σ_mn F^l_mn D^l_mn(R)``.

    Args:
        coefficients: ``[B, Σ (2l+1)²]``, the blocks ``F^l [2l+1 (m), 2l+1 (n)]`` flattened row by row.
        rotations: ``[G, 3, 3]`` (shared by the batch) or ``[B, G, 3, 3]``.
        lmax: the band limit ``L``.

    Returns:
        ``[B, G]``.
    """
    coefficients = _check_coefficients(coefficients, lmax)
    check_tensor("rotations", rotations, min_dim=3)
    check_last_dims("rotations", rotations, (3, 3), "rotation matrices")
    return _evaluate(coefficients, _wigner_flat(lmax, rotations.to(coefficients.dtype)))


def _evaluate(coefficients: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    """``f`` from packed coefficients ``[B, n]`` and packed Wigner-D ``[G, n]`` or ``[B, G, n]``."""
    if D.dim() == 2:
        return coefficients @ D.T
    return (D * coefficients[:, None]).sum(-1)


class SO3FourierDensity(torch.nn.Module):
    """The density ``p(R) = exp f(R) / Z`` over rotations, normalised on a Haar grid.

    Args:
        lmax: band limit of ``f``.
        resolution: of the normalising grid (:func:`so3_haar_grid`); default ``4 lmax + 8``. ``exp f`` is not
            band-limited, so ``Z`` carries a quadrature error that falls fast with the resolution and grows with
            the peakedness of ``f`` (for ``L = 3`` and ``f`` of standard deviation about 2: 6e-5 at 20, 3e-8 at
            30); raise it for sharp densities. The grid is also the support of :meth:`sample`.
    """

    def __init__(self, lmax: int, resolution: int | None = None):
        super().__init__()
        self.lmax = check_degree("lmax", lmax)
        self.resolution = check_int("resolution", resolution if resolution is not None else 4 * lmax + 8)

    def grid(self, coefficients: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalising grid's rotations ``[G, 3, 3]`` and weights ``[G]`` in the coefficients' dtype/device."""
        return so3_haar_grid(self.resolution, coefficients.dtype, coefficients.device)

    def on_grid(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``f`` at the grid's rotations, ``[B, G]`` (the grid's Wigner-D matrices are computed once and cached)."""
        coefficients = _check_coefficients(coefficients, self.lmax)
        return _evaluate(
            coefficients, _grid_wigner(self.resolution, self.lmax, coefficients.dtype, coefficients.device)
        )

    def log_normaliser(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``log Z = log Σ_g w_g exp f(R_g)``, ``[B]``."""
        _, w = self.grid(coefficients)
        return torch.logsumexp(self.on_grid(coefficients) + w.log(), -1)

    def log_density(self, coefficients: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
        """``log p(R)`` with respect to the normalised Haar measure: ``[B, G]`` for ``rotations [G or B G, 3, 3]``."""
        return so3_fourier_function(coefficients, rotations, self.lmax) - self.log_normaliser(coefficients)[:, None]

    def log_likelihood(self, coefficients: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``log p(R_target)``, ``[B]``, for one target rotation per item ``[B, 3, 3]``: the training loss is its negative."""
        check_tensor("target", target, min_dim=3)
        check_last_dims("target", target, (3, 3), "rotation matrices")
        return self.log_density(coefficients, target[:, None])[:, 0]

    def probabilities(self, coefficients: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The grid's rotations ``[G, 3, 3]`` and the probability of each grid cell ``[B, G]`` (rows sum to 1)."""
        R, w = self.grid(coefficients)
        return R, torch.softmax(self.on_grid(coefficients) + w.log(), -1)

    def sample(
        self, coefficients: torch.Tensor, num_samples: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``[B, num_samples, 3, 3]`` rotations drawn from the density discretised on the grid."""
        R, p = self.probabilities(coefficients)
        index = torch.multinomial(p, check_int("num_samples", num_samples), replacement=True, generator=generator)
        return R[index]

    def mode(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``[B, 3, 3]``: the most likely grid rotation."""
        R, _ = self.grid(coefficients)
        return R[self.on_grid(coefficients).argmax(-1)]

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}, resolution={self.resolution}"


def _rows(lmax: int, k: int) -> tuple[list[int], list[int]]:
    """Flat indices (into the packed coefficients) of rows ``m = -k`` and ``m = k`` of every column, per degree."""
    minus, plus = [], []
    offset = 0
    for l in range(lmax + 1):
        size = 2 * l + 1
        if k <= l:
            minus += [offset + (l - k) * size + n for n in range(size)]
            plus += [offset + (l + k) * size + n for n in range(size)]
        offset += size * size
    return minus, plus


class SO3PoseHead(torch.nn.Module):
    """SO(2)-equivariant image features -> SO(3) Fourier coefficients of a pose density (induced representation).

    Args:
        channels: ``C``, feature channels per frequency.
        max_frequency: ``K``; features carry frequencies ``0..K``.
        lmax: band limit ``L`` of the density; frequencies above ``L`` are unused.
        resolution: of the density's grid (see :class:`SO3FourierDensity`).

    ``forward(features [B, 2K+1, C])`` returns coefficients ``[B, Σ_l (2l+1)²]``. Row 0 of the features is
    frequency 0, rows ``2k-1, 2k`` the pair ``(a, b)`` of frequency ``k`` (see the module notes for how they turn).
    :meth:`log_likelihood` and :meth:`sample` go through :attr:`density`.
    """

    def __init__(self, channels: int, max_frequency: int, lmax: int, resolution: int | None = None):
        super().__init__()
        self.channels, self.max_frequency = (
            check_int("channels", channels),
            check_degree("max_frequency", max_frequency),
        )
        self.lmax = check_degree("lmax", lmax)
        self.density = SO3FourierDensity(lmax, resolution)
        scale = 1 / math.sqrt(channels)
        self.weight0 = torch.nn.Parameter(scale * torch.randn(len(_rows(lmax, 0)[0]), channels))
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(scale * torch.randn(2, len(_rows(lmax, k)[0]), channels))
            for k in range(1, min(max_frequency, lmax) + 1)
        )
        for k in range(min(max_frequency, lmax) + 1):
            minus, plus = _rows(lmax, k)
            self.register_buffer(f"minus{k}", torch.tensor(minus), persistent=False)
            self.register_buffer(f"plus{k}", torch.tensor(plus), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        features = check_tensor("features", features, min_dim=2)
        expected = (2 * self.max_frequency + 1, self.channels)
        if features.shape[-2:] != expected:
            raise ValueError(
                f"features: expected [..., {expected[0]}, {expected[1]}] (frequencies 0..{self.max_frequency}), got {tuple(features.shape)}"
            )
        out = features.new_zeros(*features.shape[:-2], num_so3_coefficients(self.lmax))
        out[..., self.minus0] = features[..., 0, :] @ self.weight0.to(features.dtype).T
        for k, w in enumerate(self.weights, start=1):
            a, b = features[..., 2 * k - 1, :], features[..., 2 * k, :]
            w1, w2 = w.to(features.dtype)
            # a I + b J on the pair: (a w1 + b w2) on row -k and (b w1 - a w2) on row +k commute with the turning
            out[..., getattr(self, f"minus{k}")] = a @ w1.T + b @ w2.T
            out[..., getattr(self, f"plus{k}")] = b @ w1.T - a @ w2.T
        return out

    def log_likelihood(self, features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``log p(target | features)``, ``[B]``, for target rotations ``[B, 3, 3]``."""
        return self.density.log_likelihood(self(features), target)

    def sample(
        self, features: torch.Tensor, num_samples: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``[B, num_samples, 3, 3]`` rotations from the predicted density."""
        return self.density.sample(self(features), num_samples, generator)
