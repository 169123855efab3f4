"""Benchmarks that time torch-gaunt against its peers in one run (``torch-gaunt bench``).

Peers (e3nn, sphericart, ...) are imported only here and only when a benchmark runs; an opponent that is
not installed is reported as missing, never silently replaced.

Modules: ``timing`` (interleaved rounds, peak memory), ``report`` (tables, noise flags, files), ``tensor_product``,
``spherical_harmonics``, ``layers``, ``potential`` (with ``variants``), ``large``, ``learning`` (learning curves against
mace-torch); ``mace_worker``, ``mace_potential_worker`` and ``mace_train_worker`` run in MACE's own environment.
"""

__all__: list[str] = []  # run through `torch-gaunt bench`; the modules are imported by name
