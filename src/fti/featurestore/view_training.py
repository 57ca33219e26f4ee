"""Training data of a feature view: every ``training_data`` / ``*_split`` call records a new
training-dataset version (window, filter, split and seed, the Delta commit of every group
read, the train split's statistics and the model-dependent state fitted on it), and
``get_training_data(v)`` re-runs the query on those commits: bit-identical data however many
rows arrived since. Mixed into :class:`fti.FeatureView`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _compat, _frames
from fti.catalog import FeatureViewRecord, TrainingDatasetRecord
from fti.errors import FtiError
from fti.featurestore.filters import Filter
from fti.featurestore.training_data import Spec, Split, make_spec, random_split, time_split
from fti.statistics import StatisticsConfig

if TYPE_CHECKING:
    from fti.featurestore.query import Query
    from fti.featurestore.storage import Storage
    from fti.transform import Pipeline


class ViewTraining:
    """Training datasets of :class:`fti.FeatureView` (which supplies the rest)."""

    if TYPE_CHECKING:
        _storage: Storage
        _record: FeatureViewRecord
        _cache: tuple[int, dict[str, pa.Table]] | None
        _last_training_dataset_version: int | None

        @property
        def id(self) -> int: ...
        @property
        def name(self) -> str: ...
        @property
        def version(self) -> int: ...
        @property
        def labels(self) -> list[str]: ...
        @property
        def query(self) -> Query: ...
        @property
        def feature_names(self) -> list[str]: ...
        @property
        def _pipeline(self) -> Pipeline: ...

        def _columns(
            self,
            *,
            labels: bool,
            primary_key: bool,
            event_time: bool,
            training_helpers: bool,
            inference_helpers: bool,
        ) -> list[str]: ...
        def _rows(self, spec: Spec, commits: dict[str, int]) -> pa.Table: ...
        def _states(self, record: TrainingDatasetRecord) -> list[Any]: ...

    # -- training data ----------------------------------------------------------------------

    def _create(
        self,
        spec: Spec,
        description: str,
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig,
    ) -> TrainingDatasetRecord:
        config = StatisticsConfig.of(statistics_config)
        features = self._columns(
            labels=True,
            primary_key=False,
            event_time=False,
            training_helpers=False,
            inference_helpers=False,
        )
        described = config.select(features)  # bad column names fail before any work
        commits = self.query.resolve_commits()
        table = self._rows(spec, commits)
        parts = spec.split.assign(table, self.query.group.event_time)
        stats = None
        if config.enabled:
            train = parts["train"].select(described)
            stats = self._storage.describe(train, config, transformations=True)
        state = None
        if self._pipeline:  # fitted on the train split only: test rows never leak into it
            x_train = parts["train"].select(self.feature_names)
            state = {"steps": self._pipeline.fit(x_train)}
        record = self._storage.catalog.create_training_dataset(
            self.id,
            description=description,
            spec=spec.to_dict(),
            commits=commits,
            statistics=stats,
            transformation_state=state,
            data_format=None,
            location=None,
            created_by=self._storage.client,
        )
        self._last_training_dataset_version = record.version
        self._cache = (record.version, parts)
        return record

    def _split_frames(
        self,
        parts: dict[str, pa.Table],
        names: Sequence[str],
        dataframe_type: str,
        primary_key: bool,
        event_time: bool,
        training_helper_columns: bool,
        states: list[Any] | None,
    ) -> list[Any]:
        x_columns = self._columns(
            labels=False,
            primary_key=primary_key,
            event_time=event_time,
            training_helpers=training_helper_columns,
            inference_helpers=False,
        )
        out: list[Any] = []
        for name in names:
            x = parts[name].select(x_columns)
            if states is not None:  # every split with the train split's state
                x = self._pipeline.apply(x, states)
            out.append(_frames.to_frame(x, dataframe_type))
        for name in names:
            y = parts[name].select(self.labels)
            out.append(_frames.to_frame(y, dataframe_type) if self.labels else None)
        return out

    def training_data(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        extra_filter: Filter | None = None,
        description: str = "",
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
        transform: bool = True,
        **hopsworks: Any,
    ) -> tuple[Any, Any]:
        """``X, y`` for the window, recorded as a new training-dataset version.

        Model-dependent transformations are fitted on the rows (the train split of a split
        method) and applied; ``transform=False`` returns the untransformed features.
        Hopsworks' options with no meaning here (``read_options``, ``tags``, ...) are
        ignored with a warning; a ``spine`` is refused (a training dataset is re-created
        from its groups' commits, which a caller's frame is not).
        """
        training_options(hopsworks)
        spec = make_spec(start_time, end_time, extra_filter, Split())
        record = self._create(spec, description, statistics_config)
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns, transform
        )

    def train_test_split(
        self,
        test_size: float | None = None,
        train_start: dt.datetime | str | None = None,
        train_end: dt.datetime | str | None = None,
        test_start: dt.datetime | str | None = None,
        test_end: dt.datetime | str | None = None,
        description: str = "",
        extra_filter: Filter | None = None,
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        seed: int = 42,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
        transform: bool = True,
        **hopsworks: Any,
    ) -> tuple[Any, Any, Any, Any]:
        """``X_train, X_test, y_train, y_test``: a random split (``test_size``, ``seed``) or a
        time split (``test_start`` ...); statistics and model-dependent state use train only."""
        training_options(hopsworks)
        spec = test_split(
            test_size, train_start, train_end, test_start, test_end, seed, extra_filter
        )
        record = self._create(spec, description, statistics_config)
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns, transform
        )

    def train_validation_test_split(
        self,
        validation_size: float | None = None,
        test_size: float | None = None,
        train_start: dt.datetime | str | None = None,
        train_end: dt.datetime | str | None = None,
        validation_start: dt.datetime | str | None = None,
        validation_end: dt.datetime | str | None = None,
        test_start: dt.datetime | str | None = None,
        test_end: dt.datetime | str | None = None,
        description: str = "",
        extra_filter: Filter | None = None,
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        seed: int = 42,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
        transform: bool = True,
        **hopsworks: Any,
    ) -> tuple[Any, Any, Any, Any, Any, Any]:
        """``X_train, X_val, X_test, y_train, y_val, y_test`` by fractions or time ranges."""
        training_options(hopsworks)
        spec = validation_split(
            validation_size, test_size, train_start, train_end, validation_start,
            validation_end, test_start, test_end, seed, extra_filter,
        )  # fmt: skip
        record = self._create(spec, description, statistics_config)
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns, transform
        )

    # -- materialized training data (files for other tools) ----------------------------------

    def create_training_data(
        self,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        extra_filter: Filter | None = None,
        description: str = "",
        data_format: str = "parquet",
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        *,
        test_size: float | None = None,
        validation_size: float | None = None,
        seed: int = 42,
        **hopsworks: Any,
    ) -> tuple[int, None]:
        """Write a new training-dataset version as files (``parquet`` or ``csv``), one per
        split; returns ``(version, None)``, Hopsworks' ``(version, job)`` (fti writes in the
        call). The files hold whole rows (keys, event time, labels); ``get_training_data(v)``
        still re-creates the data from the pinned commits."""
        training_options(hopsworks)
        split = (
            random_split(test_size or 0.0, validation_size or 0.0, seed)
            if test_size is not None or validation_size is not None
            else Split()
        )
        spec = make_spec(start_time, end_time, extra_filter, split)
        return self._materialized(spec, description, statistics_config, data_format), None

    def create_train_test_split(
        self,
        test_size: float | None = None,
        train_start: dt.datetime | str | None = None,
        train_end: dt.datetime | str | None = None,
        test_start: dt.datetime | str | None = None,
        test_end: dt.datetime | str | None = None,
        description: str = "",
        extra_filter: Filter | None = None,
        data_format: str = "parquet",
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        seed: int = 42,
        **hopsworks: Any,
    ) -> tuple[int, None]:
        """:meth:`train_test_split` written as files, one per split: ``(version, None)``."""
        training_options(hopsworks)
        spec = test_split(
            test_size, train_start, train_end, test_start, test_end, seed, extra_filter
        )
        record = self._materialized(spec, description, statistics_config, data_format)
        return record, None

    def create_train_validation_test_split(
        self,
        validation_size: float | None = None,
        test_size: float | None = None,
        train_start: dt.datetime | str | None = None,
        train_end: dt.datetime | str | None = None,
        validation_start: dt.datetime | str | None = None,
        validation_end: dt.datetime | str | None = None,
        test_start: dt.datetime | str | None = None,
        test_end: dt.datetime | str | None = None,
        description: str = "",
        extra_filter: Filter | None = None,
        data_format: str = "parquet",
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig = True,
        seed: int = 42,
        **hopsworks: Any,
    ) -> tuple[int, None]:
        """:meth:`train_validation_test_split` written as files: ``(version, None)``."""
        training_options(hopsworks)
        spec = validation_split(
            validation_size, test_size, train_start, train_end, validation_start,
            validation_end, test_start, test_end, seed, extra_filter,
        )  # fmt: skip
        record = self._materialized(spec, description, statistics_config, data_format)
        return record, None

    def _materialized(
        self,
        spec: Spec,
        description: str,
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig,
        data_format: str,
    ) -> int:
        """A new version of ``spec``, its splits written as files: the version."""
        if data_format not in ("parquet", "csv"):
            raise FtiError(f"data_format must be 'parquet' or 'csv', got {data_format!r}")
        record = self._create(spec, description, statistics_config)
        assert self._cache is not None
        # relative to the offline root, like the tables (a copied home keeps its own)
        location = f"_training_datasets/{self.name}_v{self.version}/{record.version}"
        uri = self._storage.offline.uri(location)
        for name, table in self._cache[1].items():
            self._storage.write_file(table, f"{uri}/{name}.{data_format}", data_format)
        self._storage.catalog.update_training_dataset(
            record.id, {"location": location, "data_format": data_format}
        )
        return record.version

    def _frames_of(
        self,
        record: TrainingDatasetRecord,
        dataframe_type: str,
        primary_key: bool,
        event_time: bool,
        training_helper_columns: bool,
        transform: bool,
    ) -> tuple[Any, ...]:
        spec = Spec.from_dict(record.spec)
        states = self._states(record) if transform and self._pipeline else None
        if self._cache is not None and self._cache[0] == record.version:
            parts = self._cache[1]
        else:
            table = self._rows(spec, dict(record.commits))
            parts = spec.split.assign(table, self.query.group.event_time)
        return tuple(
            self._split_frames(
                parts,
                spec.split.names,
                dataframe_type,
                primary_key,
                event_time,
                training_helper_columns,
                states,
            )
        )

    def get_training_data(
        self,
        training_dataset_version: int,
        *,
        primary_key: bool = False,
        event_time: bool = False,
        training_helper_columns: bool = False,
        dataframe_type: str = "pandas",
        transform: bool = True,
    ) -> tuple[Any, ...]:
        """Re-create a training dataset exactly: ``X, y`` (or the split's frames in the order
        of ``train_test_split`` / ``train_validation_test_split``)."""
        record = self.get_training_dataset(training_dataset_version)
        self._cache = None
        return self._frames_of(
            record, dataframe_type, primary_key, event_time, training_helper_columns, transform
        )

    get_train_test_split = get_training_data
    get_train_validation_test_split = get_training_data

    def get_training_dataset(self, version: int) -> TrainingDatasetRecord:
        return self._located(self._storage.catalog.get_training_dataset(self.id, version))

    def get_training_datasets(self) -> list[TrainingDatasetRecord]:
        return [self._located(r) for r in self._storage.catalog.list_training_datasets(self.id)]

    def _located(self, record: TrainingDatasetRecord) -> TrainingDatasetRecord:
        """The record with its files' location resolved under this project's offline root."""
        if record.location is None:
            return record
        return dataclasses.replace(record, location=self._storage.offline.uri(record.location))


def test_split(
    test_size: float | None,
    train_start: Any,
    train_end: Any,
    test_start: Any,
    test_end: Any,
    seed: int,
    extra_filter: Filter | None,
) -> Spec:
    """A random split (``test_size``, ``seed``) in the train window, or a time split."""
    if test_size is not None:
        return make_spec(train_start, train_end, extra_filter, random_split(test_size, 0.0, seed))
    if test_start is not None:
        split = time_split(
            train_start=train_start,
            train_end=train_end or test_start,
            test_start=test_start,
            test_end=test_end,
        )
        return make_spec(None, None, extra_filter, split)
    raise FtiError("give test_size (random split) or test_start (time split)")


def validation_split(
    validation_size: float | None,
    test_size: float | None,
    train_start: Any,
    train_end: Any,
    validation_start: Any,
    validation_end: Any,
    test_start: Any,
    test_end: Any,
    seed: int,
    extra_filter: Filter | None,
) -> Spec:
    """Train, validation and test by fractions in the train window, or by time ranges."""
    if test_size is not None or validation_size is not None:
        split = random_split(test_size or 0.0, validation_size or 0.0, seed)
        return make_spec(train_start, train_end, extra_filter, split)
    if validation_start is not None and test_start is not None:
        split = time_split(
            train_start=train_start,
            train_end=train_end or validation_start,
            validation_start=validation_start,
            validation_end=validation_end or test_start,
            test_start=test_start,
            test_end=test_end,
        )
        return make_spec(None, None, extra_filter, split)
    raise FtiError("give validation_size and test_size, or validation_start and test_start")


_TRAINING = {
    "read_options": "fti reads with DuckDB in this process",
    "transformation_context": "fti's transformations take no context",
    "lookback": "a point-in-time join reads each group's whole history",
    "n_processes": "fti's transformations run column-wise in this process",
    "tags": "fti keeps no tags",
    "storage_connector": "training files go under the project's offline root",
    "location": "training files go under the project's offline root",
    "coalesce": "one file per split",
    "write_options": "fti writes the files in the call",
    "data_source": "training files go under the project's offline root",
}


def training_options(given: Mapping[str, Any]) -> None:
    """Hopsworks' options of the training-data calls (see :mod:`fti._compat`)."""
    options = dict(given)
    for spine in ("spine", "spine_df"):
        if options.pop(spine, None) is not None:
            raise FtiError(
                f"{spine}=: a training dataset is re-created from its groups' commits, which "
                "a caller's frame is not; insert the spine into a feature group and make it "
                "the view's root (get_batch_data takes a spine). Nothing was created"
            )
    _compat.ignore(options, _TRAINING, "training data", 4)
