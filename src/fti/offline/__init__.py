"""The offline store: Delta Lake tables with time travel."""

from fti.offline.delta import CommitInfo, CommitResult, DeltaOfflineStore

__all__ = ["CommitInfo", "CommitResult", "DeltaOfflineStore"]
