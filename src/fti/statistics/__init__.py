"""Descriptive statistics of feature data (per commit and per training dataset)."""

from fti.statistics._extras import UNIQUE_VALUES_LIMIT
from fti.statistics.config import StatisticsConfig
from fti.statistics.describe import describe

__all__ = ["UNIQUE_VALUES_LIMIT", "StatisticsConfig", "describe"]
