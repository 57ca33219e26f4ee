"""Descriptive statistics of feature data (per commit and per training dataset)."""

from fti.statistics.config import StatisticsConfig
from fti.statistics.describe import describe

__all__ = ["StatisticsConfig", "describe"]
