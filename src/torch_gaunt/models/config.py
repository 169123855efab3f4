"""The hyperparameters of a Gaunt-MACE potential, with MACE's names where MACE has the same knob."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .._checks import check_int

__all__ = ["ModelConfig"]


@dataclass
class ModelConfig:
    """Everything needed to rebuild a :class:`~torch_gaunt.models.GauntMACE` (its weights aside).

    Attributes:
        atomic_numbers: the elements the model knows, in the order of its species indices.
        r_max: cutoff radius in Å.
        num_channels: ``C``, channels of every hidden feature.
        max_L: degree of the hidden node features (MACE's ``max_L``).
        max_ell: degree of the edge spherical harmonics and of the messages.
        correlation: body order of the product basis minus one (MACE's ``correlation``).
        num_interactions: message-passing layers.
        num_radial_basis: Bessel functions of the radial embedding.
        num_cutoff_basis: ``p`` of the polynomial cutoff envelope.
        radial_mlp: hidden sizes of the radial MLP.
        readout_hidden: hidden size of the last layer's MLP readout (MACE's ``MLP_irreps`` 16x0e).
        selfmix: add a Gaunt self-interaction (``x + Linear(x ⊗ x)``) after each layer (the Gaunt paper's Selfmix).
        convolution: ``"gaunt"`` (default: a radial weight per degree of the edge harmonics, paths summed by one
            Gaunt product) or ``"per_path"`` (a radial weight and a message slot per path, as MACE; a few per cent
            better per epoch on AcAc, 1.3-1.7x slower per training step).
        many_body: ``"per_degree"`` (per-degree weights of each factor, multiplied) or ``"coupled"`` (a free weight
            per coupling of the product basis: no better per epoch on AcAc and about 2x slower per epoch, see
            docs/potential.md).
        energy_offset: a learnable energy per element, added to every atom's interaction energy before ``scale``
            (zero at the start); without it and without the first layer's skip connection the energy error stays
            above 100 meV/atom for the first epochs on AcAc (docs/potential.md).
        residual_first: the first layer has an element-dependent skip connection from the embedding, like the
            others (``mace_run_train``'s default ``RealAgnosticResidualInteractionBlock``); False (default): its
            message goes through an element-dependent linear map instead (``RealAgnosticInteractionBlock``, the MACE
            paper's), whose force error on AcAc was 4-16 % lower at epochs 10-80 (docs/potential.md).
        e0s: isolated-atom energies in eV, one per element of ``atomic_numbers``.
        avg_num_neighbors: the message sums are divided by this (computed on the training set).
        scale, shift: per-atom interaction energy ``scale · e_i + shift`` (MACE's ScaleShift).
        method: executor of the Gaunt products (``"auto"`` picks the fastest measured one).
    """

    atomic_numbers: list[int] = field(default_factory=list)
    r_max: float = 5.0
    num_channels: int = 64
    max_L: int = 1
    max_ell: int = 3
    correlation: int = 3
    num_interactions: int = 2
    num_radial_basis: int = 8
    num_cutoff_basis: int = 5
    radial_mlp: list[int] = field(default_factory=lambda: [64, 64, 64])
    readout_hidden: int = 16
    selfmix: bool = False
    convolution: str = "gaunt"
    many_body: str = "per_degree"
    energy_offset: bool = True
    residual_first: bool = False
    e0s: list[float] = field(default_factory=list)
    avg_num_neighbors: float = 1.0
    scale: float = 1.0
    shift: float = 0.0
    method: str = "auto"

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming the first field that is out of range."""
        positive_ints = ("num_channels", "correlation", "num_interactions", "num_radial_basis", "readout_hidden")
        for name in positive_ints:
            check_int(name, getattr(self, name))
        for name in ("max_L", "max_ell"):
            check_int(name, getattr(self, name), minimum=0)
        if self.max_L > self.max_ell:
            raise ValueError(f"max_L: expected at most max_ell = {self.max_ell}, got {self.max_L}")
        if not (isinstance(self.r_max, int | float) and self.r_max > 0):
            raise ValueError(f"r_max: expected a positive number of Å, got {self.r_max!r}")
        check_int("num_cutoff_basis", self.num_cutoff_basis, minimum=2)
        if len(set(self.atomic_numbers)) != len(self.atomic_numbers) or any(
            not 1 <= int(z) <= 118 for z in self.atomic_numbers
        ):
            raise ValueError(f"atomic_numbers: expected distinct atomic numbers 1..118, got {self.atomic_numbers!r}")
        if self.e0s and len(self.e0s) != len(self.atomic_numbers):
            raise ValueError(
                f"e0s: expected one energy per element of atomic_numbers ({len(self.atomic_numbers)}), got {len(self.e0s)}"
            )
        for name, choices in (("convolution", ("per_path", "gaunt")), ("many_body", ("coupled", "per_degree"))):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name}: expected one of {list(choices)}, got {getattr(self, name)!r}")
        if not self.avg_num_neighbors > 0:
            raise ValueError(f"avg_num_neighbors: expected a positive number, got {self.avg_num_neighbors!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Build from a dict such as :meth:`to_dict` wrote; unknown keys are an error that lists them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"model config: unknown fields {unknown}; known fields are {sorted(known)}")
        return cls(**data)
