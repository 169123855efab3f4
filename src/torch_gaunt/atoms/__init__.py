"""Everything that needs ASE: reading labelled structures, E0s and training statistics, vesin neighbour lists,
the training loop, evaluation and plots, the ASE calculator, Hessians and molecular dynamics."""

from .calculator import GauntCalculator, hessian
from .data import Configuration, Keys, configuration_from_atoms, is_isolated_atom, read_configurations
from .dynamics import MDSettings, MDSummary, energy_drift, read_trajectory, run_md
from .evaluation import Predictions, errors, format_errors, predict
from .neighbours import neighbour_list, species_indices, species_of, to_graph, unlabelled_graph
from .pipeline import DataSplit, evaluate_potential, prepare_data, train_potential
from .statistics import average_num_neighbors, check_e0s, fit_e0s, isolated_atom_e0s, resolve_e0s, scale_shift
from .training import ExponentialMovingAverage, TrainingSettings, parameter_groups, train, weighted_loss

__all__ = [
    "Configuration",
    "Keys",
    "read_configurations",
    "configuration_from_atoms",
    "is_isolated_atom",
    "neighbour_list",
    "species_of",
    "to_graph",
    "resolve_e0s",
    "fit_e0s",
    "isolated_atom_e0s",
    "check_e0s",
    "average_num_neighbors",
    "scale_shift",
    "TrainingSettings",
    "parameter_groups",
    "ExponentialMovingAverage",
    "weighted_loss",
    "train",
    "Predictions",
    "predict",
    "errors",
    "format_errors",
    "DataSplit",
    "prepare_data",
    "train_potential",
    "evaluate_potential",
    "GauntCalculator",
    "hessian",
    "MDSettings",
    "MDSummary",
    "run_md",
    "energy_drift",
    "read_trajectory",
    "species_indices",
    "unlabelled_graph",
]
