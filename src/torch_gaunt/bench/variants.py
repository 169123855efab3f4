"""The Gaunt-MACE models that ``torch-gaunt bench potential`` times (kept apart from the benchmark itself, so that
the command line can list them without importing ASE)."""

VARIANTS = {
    "ours": ("ours (default)", {}),
    "ours_per_path": ("ours, per-path convolution", {"convolution": "per_path"}),
    "ours_coupled": ("ours, coupled many-body", {"many_body": "coupled"}),
    "ours_selfmix": ("ours + Selfmix", {"selfmix": True}),
}
"""Name -> (label for the tables, the :class:`~torch_gaunt.models.ModelConfig` options that set it apart from the
default)."""
