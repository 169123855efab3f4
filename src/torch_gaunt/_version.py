"""The package version, in one place (read by the package and written into saved models)."""

__version__ = "0.2.0.dev0"
