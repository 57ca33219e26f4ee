"""The package version: a module of its own so that any layer can name it without importing
the root package (which imports every layer)."""

__version__ = "0.1.0"
