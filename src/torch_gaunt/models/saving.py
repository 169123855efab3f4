"""One-file model storage: ``state_dict`` + config + package version, no pickled modules.

A file written by :func:`save_model` is a ``torch.save`` dict of tensors and plain Python values, so that it
loads with ``torch.load(weights_only=True)``, on CPU, whatever device the model was trained on.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .._checks import FLOAT_DTYPES
from .._io import atomic_write
from .._version import __version__
from .config import ModelConfig
from .potential import GauntMACE

__all__ = ["save_model", "load_model", "FORMAT_VERSION"]

FORMAT = "torch-gaunt-model"
FORMAT_VERSION = 2  # 2 (0.2): per-path convolution, coupled many-body, normalised radial MLP, energy offsets, first-layer skip option


def save_model(path: str | os.PathLike, model: GauntMACE, extra: dict | None = None) -> Path:
    """Write ``model`` (its config and parameters, moved to CPU) to ``path`` atomically; ``extra`` is stored as
    plain metadata (for example the training command). Returns the path."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "torch_gaunt_version": __version__,
        "model": type(model).__name__,
        "config": model.config.to_dict(),
        "dtype": str(model.embedding.dtype).replace("torch.", ""),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def read_model_file(path: str | os.PathLike) -> dict:
    """The stored dict of a model file, checked: a clear error if it is not a torch-gaunt model or was written in
    a format this version cannot read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file: {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"model file: {path} is not a torch-gaunt model file (torch.load could not read it: {type(error).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"model file: {path} is not a torch-gaunt model file (no '{FORMAT}' header)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"model file: {path} was written by torch-gaunt {payload.get('torch_gaunt_version', '?')} in format "
            f"{payload.get('format_version')}; this torch-gaunt {__version__} reads format {FORMAT_VERSION}. "
            f"Load it with torch-gaunt {payload.get('torch_gaunt_version', '?')}."
        )
    return payload


def load_model(
    path: str | os.PathLike, device: torch.device | str = "cpu", dtype: torch.dtype | None = None
) -> GauntMACE:
    """Rebuild the model stored at ``path`` on ``device`` (default CPU), in ``dtype`` (default: the dtype it was
    saved in), in eval mode."""
    payload = read_model_file(path)
    model = GauntMACE(ModelConfig.from_dict(payload["config"]))
    saved = FLOAT_DTYPES.get(payload.get("dtype"), torch.float64)
    model = model.to(dtype=saved)
    model.load_state_dict(payload["state_dict"])
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.to(device).eval()
