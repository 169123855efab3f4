"""Executors of Gaunt tensor products.

Each executor is ``fn(x, y, desc) -> z`` with coefficient-major views ``x [K1, M, C]`` and ``y [K2, M, C]`` or
``[K2, M, 1]`` (any strides; ``M`` flattened batch, ``C`` channels) and returns a contiguous ``z [M, K3, C]``.
A new backend is a new file with one such function.
"""
