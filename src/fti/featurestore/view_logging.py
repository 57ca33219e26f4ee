"""Feature logging of a feature view, mixed into :class:`fti.FeatureView`: ``fv.log`` from
batch scoring or a server fti does not run, pausing it, and reading the view's inference log
(its deployments' rows and the logged ones). The work is the serving layer's
(:mod:`fti.featurestore.services`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fti.errors import FtiError
from fti.types import Feature

if TYPE_CHECKING:
    from fti.catalog import FeatureViewRecord
    from fti.featurestore.storage import Storage


class ViewLogging:
    """``fv.log``, ``pause_logging`` / ``resume_logging``, ``read_log``."""

    if TYPE_CHECKING:
        _storage: Storage
        _record: FeatureViewRecord

    @property
    def logging_enabled(self) -> bool:
        """Whether ``fv.log`` writes (``logging_enabled=True`` at creation, or
        :meth:`enable_logging`); deployments log their requests whatever it says."""
        return bool((self._record.logging or {}).get("enabled"))

    @property
    def logging_paused(self) -> bool:
        return bool((self._record.logging or {}).get("paused"))

    @property
    def extra_log_columns(self) -> list[Feature]:
        """Columns the view's log holds beyond fti's own (``extra_log_columns=``)."""
        columns = (self._record.logging or {}).get("extra_columns", [])
        return [Feature(c["name"], c["type"], c.get("description", "")) for c in columns]

    def enable_logging(self, extra_log_columns: Sequence[Feature] | None = None) -> None:
        """Let ``fv.log`` write; ``extra_log_columns`` only before the log has rows."""
        extra = [c.to_dict() for c in self.extra_log_columns]
        if extra_log_columns:
            if extra:
                raise FtiError(f"{self!r} has extra log columns already: {extra}")
            extra = [c.to_dict() for c in extra_log_columns]
        self._set_logging(enabled=True, paused=False, extra_columns=extra)

    def pause_logging(self) -> None:
        """``fv.log`` writes nothing (and says so) until :meth:`resume_logging`."""
        self._check_enabled()
        self._set_logging(paused=True)

    def resume_logging(self) -> None:
        self._check_enabled()
        self._set_logging(paused=False)

    def materialize_log(self, wait: bool = False, transformed: bool | None = None) -> list[Any]:
        """Nothing to do: logged rows are committed to the offline log as they are written
        (Hopsworks moves them from its online log by a job); returns no jobs."""
        self._check_enabled()
        return []

    def log(
        self,
        logging_data: Any = None,
        untransformed_features: Any = None,
        predictions: Any = None,
        transformed_features: Any = None,
        *,
        serving_keys: Any = None,
        event_time: Any = None,
        extra_logging_features: Any = None,
        model: Any = None,
        **hopsworks: Any,
    ) -> list[str] | None:
        """Log predictions made from this view's features outside its deployments (batch
        scoring, a custom server), one row per row of ``untransformed_features`` (a
        DataFrame, vectors as ``get_feature_vector(s)`` give them, or dicts; Hopsworks'
        ``logging_data`` is taken for it) with, row for row, ``predictions``,
        ``transformed_features``, ``serving_keys`` (default: the rows' key columns) and
        ``event_time`` (default: now); ``model`` the version that predicted. Returns the
        rows' request ids (None when logging is paused: nothing is written, with a warning).
        """
        self._check_enabled()
        if self.logging_paused:
            warnings.warn(
                f"logging of {self!r} is paused: nothing was logged (resume_logging())",
                UserWarning,
                stacklevel=2,
            )
            return None
        if logging_data is not None:
            if untransformed_features is not None:
                raise FtiError("give logging_data or untransformed_features, not both")
            untransformed_features = logging_data
        if untransformed_features is None:
            raise FtiError("log() needs the untransformed features of the rows to log")
        ids: list[str] = self._storage.serving().log_view(
            self,  # type: ignore[arg-type]  # this mixin is only ever a FeatureView
            untransformed_features,
            predictions=predictions,
            transformed=transformed_features,
            serving_keys=serving_keys,
            event_time=event_time,
            extra=extra_logging_features,
            model=model,
            **hopsworks,
        )
        return ids

    def read_log(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        model_version: int | None = None,
        dataframe_type: str = "pandas",
        *,
        labels: Any = None,
        on: Sequence[str] = ("request_id",),
        transformed: bool = False,
        model: Any = None,
        model_name: str | None = None,
        **hopsworks: Any,
    ) -> Any:
        """Predictions made from this view, in ``[start_time, end_time)``: its deployments'
        and those :meth:`log` wrote. Request, serving keys, untransformed features (with
        ``transformed=True`` the model's inputs in their place, named by its schema),
        prediction, latency; of one model (``model=``, or ``model_name`` /
        ``model_version``).

        ``labels`` (a frame of outcomes that arrived later) is left-joined on ``on``: the
        request id, or columns of the log such as a key feature; unlabelled rows get nulls.
        """
        if model is not None:
            model_name, model_version = model.name, model.version
        return self._storage.serving().read_log(
            self,  # type: ignore[arg-type]  # this mixin is only ever a FeatureView
            start_time,
            end_time,
            model_version,
            dataframe_type,
            labels=labels,
            on=on,
            transformed=transformed,
            model_name=model_name,
            **hopsworks,
        )

    def _check_enabled(self) -> None:
        if not self.logging_enabled:
            raise FtiError(
                f"feature logging of {self!r} is not enabled: create the view with "
                "logging_enabled=True, or call fv.enable_logging()"
            )

    def _set_logging(self, **changes: Any) -> None:
        logging = {"enabled": False, "paused": False, "extra_columns": []}
        logging.update(self._record.logging or {})
        logging.update(changes)
        catalog = self._storage.catalog
        catalog.set_feature_view_logging(self._record.id, logging)
        object.__setattr__(self, "_record", catalog.get_feature_view_by_id(self._record.id))
