"""The Gaunt tensor product: functional form and module. See :mod:`torch_gaunt.products.description`.

``method`` picks the executor; all give the same numbers to rounding:

- ``"dense"``: contraction with the exact Gaunt coefficients (reference; fastest at tiny degrees);
- ``"grid"``: pointwise product on a Gauss-Legendre sphere grid (Xie et al. 2025);
- ``"fourier"``: 2D convolution of Fourier series by FFT (Luo et al. 2024);
- ``"auto"``: the fastest of these for the degrees and device, from ``torch-gaunt bench tp`` measurements.
"""

from __future__ import annotations

import math

import torch

from .._cache import cached_table
from .._checks import (
    broadcast_batch,
    broadcast_channels,
    check_choice,
    check_degree,
    check_parity,
    check_same_dtype_device,
    check_spherical_tensor,
    check_tensor,
)
from ..so3.spherical_tensor import degree_index
from .backends import BACKENDS
from .description import GauntDescription

__all__ = ["gaunt_tensor_product", "GauntTensorProduct", "select_method", "METHODS"]

METHODS = ("auto",) + tuple(BACKENDS)


@cached_table
def _tables(method: str, lmax1: int, lmax2: int, lmax_out: int, dtype: torch.dtype, device: torch.device):
    return BACKENDS[method].tables(GauntDescription(lmax1, lmax2, lmax_out), dtype, device)


def gaunt_tables(
    method: str, desc: GauntDescription, dtype: torch.dtype, device: torch.device
) -> dict[str, torch.Tensor]:
    """The constants of ``method`` for these degrees, dtype and device (computed once, then cached)."""
    return _tables(method, desc.lmax1, desc.lmax2, desc.lmax_out, dtype, device)


DENSE_MAX_PAIRS = 150
"""``method="auto"`` contracts with the dense table while ``(L1+1)**2 (L2+1)**2`` is at most this (see
:func:`select_method`)."""

OPERATIONS = ("product", "convolution", "many_body")


def select_method(
    lmax1: int, lmax2: int, lmax_out: int, device: torch.device | str = "cpu", operation: str = "product"
) -> str:
    """The executor that ``method="auto"`` uses, for one operation at these degrees on this device.

    Measured with interleaved rounds on a 2-core CPU, float32 (``torch-gaunt bench``, ``docs/benchmarks/``):

    - ``"product"`` (:func:`gaunt_tensor_product`): the dense contraction costs ``(L1+1)²(L2+1)²`` per output
      coefficient, the grid a fixed number of transforms. With 256 x 16 and 64 x 128 channels the dense one is
      1.1-2.7x faster up to ``(L1+1)²(L2+1)² = 100`` ((1, 1), (2, 2), (4, 1), (1, 3)), even (0.9-1.35x) at 144
      ((3, 2), (5, 1), (2, 3)) and 1.1-1.5x slower from 196 on ((6, 1), (4, 2), (3, 3)): so dense while
      that number is at most :data:`DENSE_MAX_PAIRS`, the grid above. With one channel and a batch of 10,000
      (the Price-of-Freedom protocol) the dense backward is slower already at (2, 2) (the grid 1.8x faster
      forward + backward there): the rule is tuned for the multi-channel shapes of networks. The 2D-Fourier method is 2.5-20x slower than
      the grid at every degree (it transforms on a ``(2(L1+L2)+1)``-point torus in complex arithmetic).
    - ``"convolution"`` (:func:`~torch_gaunt.products.gaunt_convolution`, degrees ``L_in, L_sh, L_out``): the
      per-node grid is 1.5-4x faster than per-edge dense products and the edge frame at every measured degree
      (``L <= 4``; 75 nodes / 920 edges / 64 channels and 256 / 4096 / 16), except scalar inputs on the larger
      graph (dense 1.16x faster): always the grid.
    - ``"many_body"`` (:func:`~torch_gaunt.products.many_body_product`, ``lmax1 = lmax2 = L``, correlation 3,
      128 channels): pairwise dense products are 1.1x faster at ``L = 1``, the grid 2.4-4.4x faster from
      ``L = 2``.

    No GPU measurements exist yet: CUDA uses the same rules.
    """
    check_choice("operation", operation, OPERATIONS)
    if operation == "convolution":
        return "grid"
    if operation == "many_body":
        return "dense" if max(lmax1, lmax2) <= 1 else "grid"
    return "dense" if (lmax1 + 1) ** 2 * (lmax2 + 1) ** 2 <= DENSE_MAX_PAIRS else "grid"


def _degree_weights(w: torch.Tensor | None, name: str, lmax: int, channels: int) -> torch.Tensor | None:
    """Per-degree weights ``[L+1]`` or ``[L+1, C]`` expanded to the coefficient axis ``[K, 1 or C]``."""
    if w is None:
        return None
    check_tensor(name, w, min_dim=1)
    if w.shape[0] != lmax + 1 or w.dim() > 2 or (w.dim() == 2 and w.shape[1] not in (1, channels)):
        raise ValueError(f"{name}: expected shape [{lmax + 1}] or [{lmax + 1}, {channels}], got {tuple(w.shape)}")
    if w.dim() == 1:
        w = w[:, None]
    return w.index_select(0, degree_index(lmax, w.device))


def gaunt_tensor_product(
    x: torch.Tensor,
    y: torch.Tensor,
    lmax_out: int | None = None,
    *,
    method: str = "auto",
    weights1: torch.Tensor | None = None,
    weights2: torch.Tensor | None = None,
    weights_out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Channel-wise Gaunt tensor product of two spherical tensors.

    ``z[..., l3 m3, c] = w_out[l3] Σ (w1[l1] x[..., l1 m1, c]) (w2[l2] y[..., l2 m2, c]) ∫ Y_l1m1 Y_l2m2 Y_l3m3 dΩ``:
    the product of the functions ``Σ x Y`` and ``Σ y Y``, projected on degrees ``<= lmax_out``.

    Args:
        x: ``[..., (L1+1)**2, C]``.
        y: ``[..., (L2+1)**2, C]`` or ``[..., (L2+1)**2, 1]`` (broadcast over the channels); leading
            dimensions broadcast with those of ``x``.
        lmax_out: output degree ``L3 <= L1 + L2`` (default ``L1 + L2``: the exact product).
        method: ``"auto"``, ``"dense"``, ``"grid"`` or ``"fourier"``.
        weights1, weights2, weights_out: optional per-degree weights ``[L+1]`` or ``[L+1, C]`` (the Gaunt
            paper's reparametrisation: path ``(l1, l2, l3)`` gets ``w1[l1] w2[l2] w_out[l3]``).

    Returns:
        ``z [..., (L3+1)**2, C]``. With parities ``p1, p2`` of the inputs, ``z`` has parity ``p1 p2``.

    The method's constants are computed on first use for each (degrees, dtype, device) and cached. Under
    ``torch.compile`` the first use must happen outside the compiled region (one eager call, or use
    :class:`GauntTensorProduct`, which prepares them when built or moved).
    """
    L1 = check_spherical_tensor("x", x)
    L2 = check_spherical_tensor("y", y)
    check_same_dtype_device(x=x, y=y)
    check_choice("method", method, METHODS)
    L3 = L1 + L2 if lmax_out is None else check_degree("lmax_out", lmax_out, maximum=L1 + L2)
    broadcast_channels(x, y)
    batch = broadcast_batch(x, y)
    C = x.shape[-1]
    for name, w in (("weights1", weights1), ("weights2", weights2), ("weights_out", weights_out)):
        if w is not None:
            check_same_dtype_device(x=x, **{name: w})
    w1 = _degree_weights(weights1, "weights1", L1, C)
    w2 = _degree_weights(weights2, "weights2", L2, C)
    w3 = _degree_weights(weights_out, "weights_out", L3, C)
    if w1 is not None:
        x = x * w1
    if w2 is not None:  # per-channel weights on a one-channel y give it C channels
        y = y * w2
    desc = GauntDescription(L1, L2, L3)
    if method == "auto":
        method = select_method(L1, L2, L3, x.device)
    n_batch = math.prod(batch)
    if n_batch == 0 or C == 0:
        return x.new_zeros(batch + ((L3 + 1) ** 2, C))
    xv = x.expand(batch + x.shape[-2:]).reshape((n_batch,) + x.shape[-2:]).transpose(0, 1)  # [K1, M, C] view
    yv = y.expand(batch + y.shape[-2:]).reshape((n_batch,) + y.shape[-2:]).transpose(0, 1)
    z = BACKENDS[method].run(xv, yv, desc, gaunt_tables(method, desc, x.dtype, x.device))  # [M, K3, C], any strides
    if w3 is not None:
        z = z * w3
    return z.reshape(batch + ((L3 + 1) ** 2, C))


class GauntTensorProduct(torch.nn.Module):
    """Module form of :func:`gaunt_tensor_product`, with learnable per-degree weights.

    Args:
        lmax1, lmax2: degrees of the inputs ``x [..., (L1+1)**2, C]`` and ``y [..., (L2+1)**2, C or 1]``.
        lmax_out: output degree (default ``lmax1 + lmax2``).
        channels: ``C``; needed for per-channel weights.
        p1, p2: parities of the inputs (+1 for ``0e + 1o + 2e ...``, -1 for ``0o + 1e + 2o ...``).
        method: ``"auto"``, ``"dense"``, ``"grid"`` or ``"fourier"``; ``repr`` shows what ``auto`` chose.
        weights: ``"per_degree"`` (learnable ``w1 [L1+1, C]``, ``w2 [L2+1, C]``, ``w_out [L3+1, C]``, initialised
            to one) or ``None`` (the plain product).

    Attributes:
        irreps_in1, irreps_in2, irreps_out: the e3nn irreps of the inputs and output.
    """

    def __init__(
        self,
        lmax1: int,
        lmax2: int,
        lmax_out: int | None = None,
        channels: int = 1,
        p1: int = 1,
        p2: int = 1,
        method: str = "auto",
        weights: str | None = "per_degree",
    ):
        super().__init__()
        check_degree("lmax1", lmax1)
        check_degree("lmax2", lmax2)
        lmax_out = lmax1 + lmax2 if lmax_out is None else check_degree("lmax_out", lmax_out, maximum=lmax1 + lmax2)
        check_parity("p1", p1)
        check_parity("p2", p2)
        check_choice("method", method, METHODS)
        if weights not in ("per_degree", None):
            raise ValueError(f"weights: expected 'per_degree' or None, got {weights!r}")
        self.description = GauntDescription(lmax1, lmax2, lmax_out, p1, p2)
        self.channels = channels
        self.requested_method = method
        self.method = select_method(lmax1, lmax2, lmax_out) if method == "auto" else method
        self.irreps_in1, self.irreps_in2, self.irreps_out = self.description.irreps(channels)
        # follows .to() / .double() / .cuda(); its dtype and device say which tables to have ready
        self.register_buffer("_probe", torch.zeros(()), persistent=False)
        gaunt_tables(self.method, self.description, self._probe.dtype, self._probe.device)
        if weights == "per_degree":
            self.weights1 = torch.nn.Parameter(torch.ones(lmax1 + 1, channels))
            self.weights2 = torch.nn.Parameter(torch.ones(lmax2 + 1, channels))
            self.weights_out = torch.nn.Parameter(torch.ones(lmax_out + 1, channels))
        else:
            self.weights1 = self.weights2 = self.weights_out = None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x [..., (L1+1)**2, C]``, ``y [..., (L2+1)**2, C or 1]`` -> ``[..., (L3+1)**2, C]``."""
        d = self.description
        check_spherical_tensor("x", x, lmax=d.lmax1, channels=self.channels)
        check_spherical_tensor("y", y, lmax=d.lmax2)
        return gaunt_tensor_product(
            x, y, d.lmax_out, method=self.method, weights1=self.weights1, weights2=self.weights2,
            weights_out=self.weights_out,
        )  # fmt: skip

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        gaunt_tables(self.method, self.description, self._probe.dtype, self._probe.device)  # warm for forward
        return self

    def extra_repr(self) -> str:
        d = self.description
        chosen = f"{self.method!r} (auto)" if self.requested_method == "auto" else repr(self.method)
        return (
            f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, lmax=({d.lmax1}, {d.lmax2}) -> {d.lmax_out}, "
            f"method={chosen}, paths={len(d.paths)}, weights={'per_degree' if self.weights1 is not None else None}"
        )
