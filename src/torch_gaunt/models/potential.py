r"""The Gaunt-MACE potential: MACE's architecture with Gaunt products for messages and the product basis.

.. math::

    E = \sum_i \Big( E_0[z_i] + \text{scale} \cdot \big(b[z_i] + \sum_t e_i^{(t)}\big) + \text{shift} \Big),

where ``e_i^(t)`` is the readout of layer ``t`` (linear on every layer but the last, an MLP on the last) and ``b``
a learnable energy per element (``energy_offset``, zero at the start; it lets the energy find its level in the
first steps instead of through the features). An atom without neighbours has zero messages; its energy is a
constant per element (``E_0[z_i] + scale · b[z_i] + shift`` when the first layer has no skip connection, as by
default), the model's one-body term, which keeps the energy smooth as the last neighbour leaves the cutoff.
Forces are ``-dE/dr`` and, for periodic cells, the virial is ``-dE/dε`` for a symmetric strain ``ε`` applied
to positions and cell; stress ``= -virial / V`` (ASE's sign: ``(1/V) dE/dε``).
"""

from __future__ import annotations

import torch

from .._checks import check_int
from .blocks import Interaction, LinearReadout, NonLinearReadout, ProductBasis, RadialEmbedding, SelfMix
from .config import ModelConfig
from .graph import AtomicGraph

__all__ = ["GauntMACE"]


class GauntMACE(torch.nn.Module):
    """A MACE interatomic potential whose tensor products are Gaunt products.

    Built from a :class:`~torch_gaunt.models.ModelConfig`: an element embedding; ``num_interactions`` layers,
    each an :class:`~torch_gaunt.models.blocks.Interaction` (radial Bessel basis x cutoff -> MLP -> Gaunt point
    convolution with harmonics to ``max_ell``), a :class:`~torch_gaunt.models.blocks.ProductBasis` (many-body
    Gaunt product of order ``correlation`` with element-dependent weights) and, optionally, a
    :class:`~torch_gaunt.models.blocks.SelfMix`; hidden features have degree ``max_L`` except after the last
    layer (invariants only).

    ``forward(graph, compute_forces=True, compute_stress=False, training=False)`` returns a dict with
    ``energy [B]``, ``node_energy [N]`` and, when asked, ``forces [N, 3]``, ``virials [B, 3, 3]`` and
    ``stress [B, 3, 3]`` (zero for structures without a periodic direction). ``training=True`` keeps the graph of
    the derivatives so that a loss on forces can be differentiated.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.check()
        self.config = config
        Z, C = len(config.atomic_numbers), config.num_channels
        if Z == 0:
            raise ValueError("config.atomic_numbers: expected at least one element, got none")
        self.num_elements = Z
        e0s = config.e0s if config.e0s else [0.0] * Z
        self.register_buffer("e0s", torch.tensor(e0s, dtype=torch.float64))
        self.register_buffer("scale", torch.tensor(float(config.scale), dtype=torch.float64))
        self.register_buffer("shift", torch.tensor(float(config.shift), dtype=torch.float64))
        self.embedding = torch.nn.Parameter(torch.randn(Z, C))
        self.energy_offset = torch.nn.Parameter(torch.zeros(Z)) if config.energy_offset else None
        self.radial = RadialEmbedding(config.r_max, config.num_radial_basis, config.num_cutoff_basis)
        self.interactions = torch.nn.ModuleList()
        self.products = torch.nn.ModuleList()
        self.selfmix = torch.nn.ModuleList()
        self.readouts = torch.nn.ModuleList()
        lmax_in = 0
        for t in range(config.num_interactions):
            last = t == config.num_interactions - 1
            lmax_out = 0 if last else config.max_L
            self.interactions.append(
                Interaction(
                    lmax_in,
                    config.max_ell,
                    C,
                    Z,
                    self.radial,
                    list(config.radial_mlp),
                    config.avg_num_neighbors,
                    residual=t > 0 or config.residual_first,
                    lmax_skip=lmax_out,
                    method=config.method,
                    convolution=config.convolution,
                )  # fmt: skip
            )
            self.products.append(
                ProductBasis(config.max_ell, lmax_out, C, config.correlation, Z, config.method, config.many_body)
            )
            self.selfmix.append(SelfMix(lmax_out, C, config.method) if config.selfmix else torch.nn.Identity())
            self.readouts.append(NonLinearReadout(C, config.readout_hidden) if last else LinearReadout(C))
            lmax_in = lmax_out

    def set_chunk_sizes(self, edges: int | None = None, nodes: int | None = None) -> GauntMACE:
        """Run each convolution over chunks of at most ``edges`` edges and each product basis over chunks of at
        most ``nodes`` atoms, under activation checkpointing (None: all at once). Bounds the memory of large
        structures for energies, forces and stress at the cost of recomputing those blocks in the backward pass;
        leave both None for training. Returns self."""
        for name, value in (("edges", edges), ("nodes", nodes)):
            if value is not None:
                check_int(name, value)
        for interaction, product in zip(self.interactions, self.products):
            interaction.edge_chunk_size, product.node_chunk_size = edges, nodes
        return self

    def node_energies(
        self, species: torch.Tensor, edge_index: torch.Tensor, edge_vectors: torch.Tensor
    ) -> torch.Tensor:
        """Per-atom energies ``[N]``, ``E0[z_i] + scale · Σ_t e_i^(t) + shift``, from ``species [N]`` (element
        indices), ``edge_index [2, E]`` and ``edge_vectors [E, 3]`` (in the dtype of the result)."""
        dtype = edge_vectors.dtype
        one_hot = torch.nn.functional.one_hot(species, self.num_elements).to(dtype)
        x = (one_hot @ self.embedding.to(dtype))[:, None, :]
        interaction = torch.zeros(species.shape[0], dtype=dtype, device=edge_vectors.device)
        for conv, product, selfmix, readout in zip(self.interactions, self.products, self.selfmix, self.readouts):
            message, skip = conv(x, one_hot, edge_vectors, edge_index)
            x = selfmix(product(message, one_hot, skip))
            interaction = interaction + readout(x)
        if self.energy_offset is not None:
            interaction = interaction + self.energy_offset.to(dtype)[species]
        return self.e0s.to(dtype)[species] + self.scale.to(dtype) * interaction + self.shift.to(dtype)

    def weight_decay_parameters(self) -> list[str]:
        """The names of the parameters that weight decay applies to, as MACE chooses them: the linear map after
        each convolution and the product bases (with the Selfmix blocks); not the embedding, radial MLPs,
        skip connections, readouts or energy offsets."""
        names = []
        for name, _ in self.named_parameters():
            if name.startswith(("products.", "selfmix.")) or (name.startswith("interactions.") and ".linear." in name):
                names.append(name)
        return names

    def forward(
        self, graph: AtomicGraph, compute_forces: bool = True, compute_stress: bool = False, training: bool = False
    ) -> dict[str, torch.Tensor]:
        positions, shifts, cell = graph.positions, graph.shifts, graph.cell
        inputs = []
        if compute_forces or compute_stress:
            positions = positions.detach().requires_grad_(True) if not positions.requires_grad else positions
            inputs.append(positions)
        if compute_stress:
            strain = torch.zeros_like(cell, requires_grad=True)
            sym = 0.5 * (strain + strain.transpose(1, 2))
            positions = positions + torch.einsum("ni,nij->nj", positions, sym[graph.batch])
            shifts = shifts + torch.einsum("ei,eij->ej", shifts, sym[graph.batch[graph.edge_index[0]]])
            cell = cell + cell @ sym
            inputs.append(strain)
        sender, receiver = graph.edge_index
        edge_vectors = positions[receiver] - positions[sender] + shifts
        node_energy = self.node_energies(graph.species, graph.edge_index, edge_vectors.to(positions.dtype))
        energy = torch.zeros(graph.num_graphs, dtype=node_energy.dtype, device=node_energy.device)
        energy = energy.index_add(0, graph.batch, node_energy)
        out = {"energy": energy, "node_energy": node_energy}
        if inputs:
            grads = torch.autograd.grad(
                energy.sum(), inputs, create_graph=training, retain_graph=training, allow_unused=True
            )
            grads = [g if g is not None else torch.zeros_like(i) for g, i in zip(grads, inputs)]
            if compute_forces:
                out["forces"] = -grads[0]
            if compute_stress:
                virials = -grads[-1]
                volume = torch.linalg.det(graph.cell).abs()
                periodic = graph.pbc.any(dim=1) & (volume > 0)
                safe_volume = torch.where(periodic, volume, torch.ones_like(volume))
                out["virials"] = virials
                out["stress"] = torch.where(periodic[:, None, None], -virials / safe_volume[:, None, None], 0.0)
        return out
