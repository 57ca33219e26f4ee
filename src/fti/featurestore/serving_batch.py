"""Where :data:`BATCH_ROWS` was defined: the column core is now :mod:`fti.featurestore.vector`
(a plan's ``batch_rows``, whose default this is); kept so that existing imports work."""

from fti.featurestore.vector import BATCH_ROWS

__all__ = ["BATCH_ROWS"]
