"""Executors of Gaunt tensor products. Each takes coefficient-major blocks ``x [K1, N]``, ``y [K2, N]`` (or
``[K2, N / C]`` when ``y`` has one channel to broadcast over ``C``) and returns ``z [K3, N]``."""
