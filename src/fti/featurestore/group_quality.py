"""What a feature group checks and measures of its data: the expectation suite that
validates every insert (fti's, or Great Expectations' translated) and the statistics
configuration of its commits, with the reports and statistics they leave. Mixed into
:class:`fti.FeatureGroup`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import pyarrow as pa

from fti._time import utc
from fti.catalog import FeatureGroupRecord, StoredReport
from fti.errors import CommitNotFound, FtiError, ValidationFailed
from fti.featurestore import ingest
from fti.statistics import StatisticsConfig

if TYPE_CHECKING:
    import datetime as dt

    from fti.featurestore.storage import Storage
    from fti.validation import ExpectationSuite, ValidationReport


class GroupQuality:
    """Validation and statistics of :class:`fti.FeatureGroup` (which supplies the rest)."""

    if TYPE_CHECKING:
        _storage: Storage
        _record: FeatureGroupRecord
        _statistics_config: StatisticsConfig | None

        @property
        def id(self) -> int: ...
        @property
        def name(self) -> str: ...
        @property
        def version(self) -> int: ...
        @property
        def event_time(self) -> str | None: ...
        @property
        def schema(self) -> pa.Schema | None: ...

        def _refresh(self) -> FeatureGroupRecord: ...
        def _latest_commit(self) -> int: ...
        def _commit_at(self, as_of: int | dt.datetime) -> int: ...
        def _read_snapshot(self, commit: int, columns: Any) -> pa.Table: ...
        def _feature_names(self) -> list[str]: ...

    @property
    def expectation_suite(self) -> ExpectationSuite | None:
        if self._record.expectation_suite is None:
            return None
        from fti.validation import ExpectationSuite

        return ExpectationSuite.from_dict(self._record.expectation_suite)

    @property
    def statistics_config(self) -> StatisticsConfig:
        """What statistics each commit gets. Setting it (a ``StatisticsConfig``, a dict of its
        fields or a bool, as in Hopsworks) takes effect with :meth:`update_statistics_config`."""
        if self._statistics_config is not None:
            return self._statistics_config
        stored = self._record.statistics_config
        if stored is None:  # recorded before configurations were: the flag alone
            return StatisticsConfig(enabled=self._record.statistics_enabled)
        return StatisticsConfig.of(stored)

    @statistics_config.setter
    def statistics_config(self, value: bool | Mapping[str, Any] | StatisticsConfig) -> None:
        self._statistics_config = StatisticsConfig.of(value)

    def update_statistics_config(
        self, statistics_config: bool | Mapping[str, Any] | StatisticsConfig | None = None
    ) -> Self:
        """Record the statistics configuration (the one given, or the one set on
        :attr:`statistics_config`) for the commits that follow."""
        config = (
            self.statistics_config
            if statistics_config is None
            else StatisticsConfig.of(statistics_config)
        )
        if config.columns is not None and self.schema is not None:
            config.select(self.schema.names)  # unknown names fail here, not at the next insert
        with self._storage.write_lock(self):
            record = self._refresh()
            self._record = self._storage.catalog.update_feature_group(
                self.id,
                record.revision,
                {"statistics_config": config.to_dict(), "statistics_enabled": config.enabled},
            )
        self._statistics_config = None
        return self

    def _validate(self, table: pa.Table) -> ValidationReport | None:
        suite = self.expectation_suite
        if suite is None:
            return None
        from fti.validation import validate

        report = validate(table, suite)
        if not report.success and report.policy == "strict":
            self._storage.catalog.record_rejected_report(self.id, report.to_dict())
            raise ValidationFailed(
                f"insert into {self.name} v{self.version} rejected, nothing was written: "
                f"{report.summary()}\n(the suite's policy is strict, fti's default; to write "
                "failing rows and keep the report, as Hopsworks' validation_ingestion_policy="
                "'always' does, fg.save_expectation_suite(suite, "
                "validation_ingestion_policy='always', overwrite=True))",
                report,
            )
        return report

    def save_expectation_suite(
        self,
        expectation_suite: Any,
        run_validation: bool = True,
        validation_ingestion_policy: str | None = None,
        overwrite: bool = False,
    ) -> ExpectationSuite:
        """Attach a suite (fti's or Great Expectations') that validates every later insert;
        ``validation_ingestion_policy``: ``"strict"`` refuses a failing insert, ``"always"``
        (``"warn"``) writes it and keeps the report. A group that has a suite keeps it
        unless ``overwrite``."""
        from fti.validation.great_expectations import as_suite

        if not run_validation:
            raise FtiError(
                "fti validates every insert against a group's suite; to stop, call "
                "fg.delete_expectation_suite()"
            )
        suite = as_suite(expectation_suite, validation_ingestion_policy)
        with self._storage.write_lock(self):
            record = self._refresh()
            if record.expectation_suite is not None and not overwrite:
                held = record.expectation_suite.get("name")
                raise FtiError(
                    f"{self!r} has the suite {held!r}: pass overwrite=True to replace it"
                )
            self._record = self._storage.catalog.update_feature_group(
                self.id, record.revision, {"expectation_suite": suite.to_dict()}
            )
        return suite

    def get_expectation_suite(self) -> ExpectationSuite | None:
        """The suite that validates inserts (None without one)."""
        return self.expectation_suite

    def delete_expectation_suite(self) -> None:
        """Stop validating inserts; the reports of earlier ones stay."""
        with self._storage.write_lock(self):
            record = self._refresh()
            self._record = self._storage.catalog.update_feature_group(
                self.id, record.revision, {"expectation_suite": None}
            )

    def validate(self, dataframe: Any, expectation_suite: Any = None) -> ValidationReport:
        """Check rows against the group's suite (or the one given) without inserting them."""
        from fti.validation import validate
        from fti.validation.great_expectations import as_suite

        suite = self.expectation_suite if expectation_suite is None else as_suite(expectation_suite)
        if suite is None:
            raise FtiError(f"{self!r} has no expectation suite: pass expectation_suite=")
        table = ingest.normalize(ingest.to_arrow(dataframe), self.event_time)
        return validate(table, suite)

    def statistics(self, commit_id: int | None = None) -> dict[str, Any] | None:
        """Descriptive statistics of the rows one commit wrote (the latest one by default),
        as stored at insert; ``commit_id`` in the result says which commit. For the whole
        table, see :meth:`compute_statistics`."""
        return self._storage.catalog.get_statistics(self.id, commit_id)

    def compute_statistics(
        self, as_of: int | dt.datetime | str | None = None, *, wallclock_time: Any = None
    ) -> dict[str, Any]:
        """Descriptive statistics of the whole table as of a commit id or time (the latest
        by default; ``wallclock_time`` is Hopsworks' name for a time), computed now with the
        group's :attr:`statistics_config`: every row the table holds then, not only one
        commit's."""
        if wallclock_time is not None:
            if as_of is not None:
                raise FtiError("give as_of or wallclock_time, not both")
            as_of = utc(wallclock_time, "wallclock_time")
        elif as_of is not None and not isinstance(as_of, int):
            as_of = utc(as_of, "as_of")
        commit = self._latest_commit() if as_of is None else self._commit_at(as_of)
        if commit < 0:
            raise CommitNotFound(f"{self!r} has no commits yet: nothing to describe")
        table = self._read_snapshot(commit, self._feature_names())
        described = self._storage.describe(table, self.statistics_config)
        return {"commit_id": commit, "whole_table": True, **described}

    def validation_reports(self) -> list[StoredReport]:
        """Every validation report, oldest first, including rejected inserts."""
        return self._storage.catalog.list_reports(self.id)
