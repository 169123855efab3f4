"""Benchmarks that time torch-gaunt against its peers in one run (``torch-gaunt bench``).

Peers (e3nn, sphericart, ...) are imported only here and only when a benchmark runs; an opponent that is
not installed is reported as missing, never silently replaced.
"""
