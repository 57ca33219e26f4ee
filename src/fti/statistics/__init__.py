"""Descriptive statistics of feature data (per commit, and later per training dataset)."""

from fti.statistics.describe import describe

__all__ = ["describe"]
