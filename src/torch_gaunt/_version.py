"""The package version, in one place (read by the package and written into saved models)."""

__version__ = "0.1.0.dev0"
