"""Four models of the charged N-body task, each predicting the displacement of every particle.

All take ``positions, velocities [B, n, 3]`` and ``charges [B, n]`` and return predicted positions ``[B, n, 3]``.

- :class:`TensorProductNet` with ``product="gaunt"``: message passing on spherical tensors ``[B n, (L+1)², C]``;
  messages are Gaunt products of sender features with the edge's spherical harmonics (radial weights from the
  distance and the charge product), and each layer adds a Gaunt *feature interaction* of a node's features with
  its aggregated message;
- the same with ``product="cg"``: every product a channel-wise Clebsch-Gordan product with one weight per path;
- :func:`frame_averaged_mlp`: a plain MLP on the 35 numbers of a system, averaged over its 8 O(3) PCA frames
  (one random frame per step in training);
- :class:`VectorNeuronNet`: vector-neuron message passing on ``[n, C, 3]`` features.
"""

from __future__ import annotations

import torch

from torch_gaunt.geometry import FrameAverage, VNLeakyReLU, VNLinear, vn_centre
from torch_gaunt.nn import EquivariantRMSNorm, GaussianBasis, SphericalLinear
from torch_gaunt.products import CGTensorProduct, channelwise_instructions, gaunt_tensor_product
from torch_gaunt.so3 import (
    irreps_to_spherical_tensor,
    spherical_harmonics,
    spherical_tensor_irreps,
    spherical_tensor_to_irreps,
)


def complete_graph(batch: int, n: int, device=None) -> torch.Tensor:
    """``edge_index [2, B n (n-1)]`` (sender, receiver) of ``batch`` complete graphs of ``n`` nodes."""
    i, j = torch.meshgrid(torch.arange(n, device=device), torch.arange(n, device=device), indexing="ij")
    keep = i != j
    offsets = (torch.arange(batch, device=device) * n)[:, None]
    return torch.stack([(j[keep] + offsets).flatten(), (i[keep] + offsets).flatten()])


class _CGProduct(torch.nn.Module):
    """Channel-wise CG product of two spherical tensors, one learned weight per path and channel."""

    def __init__(self, lmax: int, channels: int):
        super().__init__()
        self.irreps = spherical_tensor_irreps(lmax, channels)
        self.tp = CGTensorProduct(
            self.irreps, self.irreps, self.irreps, channelwise_instructions(self.irreps, self.irreps, self.irreps)
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = y.expand_as(x)
        z = self.tp(spherical_tensor_to_irreps(x, self.irreps), spherical_tensor_to_irreps(y, self.irreps))
        return irreps_to_spherical_tensor(z, self.irreps)


class _E3nnCGProduct(_CGProduct):
    """The same channel-wise CG product executed by e3nn's ``TensorProduct`` (for timing; e3nn is a peer)."""

    def __init__(self, lmax: int, channels: int):
        super().__init__(lmax, channels)
        from e3nn import o3

        instructions = [tuple(ins)[:5] for ins in self.tp.instructions]
        self.tp = o3.TensorProduct(str(self.irreps), str(self.irreps), str(self.irreps), instructions)


class _GauntProduct(torch.nn.Module):
    """Channel-wise Gaunt product with learned per-degree weights on both inputs and the output."""

    def __init__(self, lmax: int, channels: int):
        super().__init__()
        self.lmax = lmax
        self.w1, self.w2, self.w_out = (torch.nn.Parameter(torch.ones(lmax + 1, channels)) for _ in range(3))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return gaunt_tensor_product(
            x, y, self.lmax, method="dense", weights1=self.w1, weights2=self.w2, weights_out=self.w_out
        )


class TensorProductNet(torch.nn.Module):
    """Equivariant message passing whose products are Gaunt (``product="gaunt"``) or CG (``"cg"``; ``"cg_e3nn"``:
    the same CG products run by e3nn) products."""

    def __init__(self, product: str = "gaunt", lmax: int = 2, channels: int = 32, layers: int = 4, num_basis: int = 16):
        super().__init__()
        make = {"gaunt": _GauntProduct, "cg": _CGProduct, "cg_e3nn": _E3nnCGProduct}[product]
        self.lmax, self.channels = lmax, channels
        self.embed_charge = torch.nn.Linear(1, channels)
        self.embed_velocity = torch.nn.Parameter(torch.randn(channels))
        self.basis = GaussianBasis(r_max=6.0, num_basis=num_basis)
        self.radial = torch.nn.ModuleList(
            torch.nn.Sequential(
                torch.nn.Linear(num_basis + 1, 64), torch.nn.SiLU(), torch.nn.Linear(64, (lmax + 1) * channels)
            )
            for _ in range(layers)
        )
        self.message = torch.nn.ModuleList(make(lmax, channels) for _ in range(layers))
        self.interaction = torch.nn.ModuleList(make(lmax, channels) for _ in range(layers))
        self.mix = torch.nn.ModuleList(SphericalLinear(lmax, 2 * channels, channels) for _ in range(layers))
        self.norm = torch.nn.ModuleList(EquivariantRMSNorm(lmax, channels) for _ in range(layers))
        self.readout = SphericalLinear(lmax, channels, 1)
        with torch.no_grad():
            self.readout.weight.mul_(0.1)  # start near "no displacement"
        degree = torch.cat([torch.full((2 * l + 1,), l) for l in range(lmax + 1)])
        self.register_buffer("degree", degree, persistent=False)

    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, charges: torch.Tensor) -> torch.Tensor:
        B, n, _ = positions.shape
        edges = complete_graph(B, n, positions.device)
        x, v, q = positions.reshape(B * n, 3), velocities.reshape(B * n, 3), charges.reshape(B * n, 1)
        h = x.new_zeros(B * n, (self.lmax + 1) ** 2, self.channels)
        h[:, 0] = self.embed_charge(q)
        h[:, 1:4] = v[:, :, None] * self.embed_velocity  # degree 1 of a vector is the vector itself
        sender, receiver = edges
        r = x[receiver] - x[sender]
        Y = spherical_harmonics(r, self.lmax, normalization="component")[..., None]  # [E, K, 1]
        attributes = torch.cat([self.basis(r.norm(dim=-1)), (q[sender] * q[receiver])], -1)
        for radial, message, interaction, mix, norm in zip(
            self.radial, self.message, self.interaction, self.mix, self.norm
        ):
            weights = radial(attributes).view(-1, self.lmax + 1, self.channels)[:, self.degree]  # [E, K, C]
            m = torch.zeros_like(h).index_add_(0, receiver, message(h[sender], Y * weights)) / (n - 1)
            h = norm(h + mix(torch.cat([m, interaction(h, m)], -1)))
        displacement = self.readout(h)[:, 1:4, 0]
        return positions + displacement.view(B, n, 3)


class _MLP(torch.nn.Module):
    def __init__(self, particles: int, hidden: int = 128):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(7 * particles, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, 3 * particles),
        )  # fmt: skip

    def forward(self, local_positions, local_velocities, charges):
        B, n, _ = local_positions.shape
        inputs = torch.cat([local_positions.flatten(1), local_velocities.flatten(1), charges], -1)
        return self.net(inputs).view(B, n, 3)


class FrameAveragedMLP(torch.nn.Module):
    """``FrameAverage(MLP, "O3", "vector")`` predicting displacements (one random frame per training step)."""

    def __init__(self, particles: int = 5, hidden: int = 128):
        super().__init__()
        self.average = FrameAverage(
            _MLP(particles, hidden), group="O3", output="vector", stochastic=True, degenerate_tol=0
        )

    def forward(self, positions, velocities, charges):
        return positions + self.average(positions, velocities, charges=charges)


class VectorNeuronNet(torch.nn.Module):
    """Vector-neuron message passing: edge vectors ``x_i - x_j``, ``v_i - v_j`` and ``q_i q_j (x_i - x_j)`` pass
    a VN MLP, are averaged per receiver, joined with the node's own vectors and mapped to a displacement."""

    def __init__(self, channels: int = 32, layers: int = 3):
        super().__init__()
        self.edge = torch.nn.Sequential(VNLinear(3, channels), VNLeakyReLU(channels), VNLinear(channels, channels))
        node_in = channels + 4
        blocks = []
        for _ in range(layers):
            blocks += [VNLinear(node_in, channels), VNLeakyReLU(channels)]
            node_in = channels
        self.node = torch.nn.Sequential(*blocks, VNLinear(channels, 1))

    def forward(self, positions, velocities, charges):
        q = charges[..., None, None]
        centred = vn_centre(positions, dim=-2)
        r = positions[:, :, None] - positions[:, None]  # [B, n, n, 3]
        dv = velocities[:, :, None] - velocities[:, None]
        qq = (charges[:, :, None] * charges[:, None])[..., None]
        edge_in = torch.stack([r, dv, qq * r], -2)  # [B, n, n, 3, 3]
        n = positions.shape[1]
        messages = self.edge(edge_in).sum(2) / (n - 1)  # the i == j terms are zero vectors
        own = torch.stack([centred, velocities], -2)  # [B, n, 2, 3]
        features = torch.cat([messages, own, q * own], -2)
        return positions + self.node(features)[..., 0, :]


def build(name: str, small: bool = False) -> torch.nn.Module:
    """The model called ``name``: ``gaunt``, ``cg``, ``frame_averaging`` or ``vector_neurons`` (``small``: for
    smoke tests)."""
    width = 8 if small else 32
    return {
        "gaunt": lambda: TensorProductNet("gaunt", channels=width, layers=2 if small else 4),
        "cg": lambda: TensorProductNet("cg", channels=width, layers=2 if small else 4),
        "cg_e3nn": lambda: TensorProductNet("cg_e3nn", channels=width, layers=2 if small else 4),
        "frame_averaging": lambda: FrameAveragedMLP(hidden=4 * width),
        "vector_neurons": lambda: VectorNeuronNet(channels=width),
    }[name]()


def num_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
