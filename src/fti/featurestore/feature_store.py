"""The feature store: creates, finds and deletes feature groups, and owns their storage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti.catalog import FeatureViewRecord
from fti.errors import AlreadyExistsError, SchemaError
from fti.featurestore import hopsworks_options, model_dependent
from fti.featurestore.feature_group import FeatureGroup
from fti.featurestore.feature_view import FeatureView
from fti.featurestore.model_dependent import check_model_dependent
from fti.featurestore.on_demand import check_on_demand, with_outputs
from fti.featurestore.query import Query
from fti.featurestore.schema import features_to_schema, serialize_schema
from fti.featurestore.storage import Storage
from fti.statistics import StatisticsConfig
from fti.transform import UDF
from fti.types import UTC_MICROS, Feature, check_distinct, check_name
from fti.validation.great_expectations import as_suite

if TYPE_CHECKING:
    from fti.trust import TrustedCode
    from fti.validation import ExpectationSuite


class FeatureStore:
    """Feature groups of one project. Get it with ``fti.connect().get_feature_store()``."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._catalog = storage.catalog

    @property
    def trusted_code(self) -> TrustedCode | None:
        """The allow-list of a server (:mod:`fti.trust`): the only code from the catalog
        this feature store compiles; None (the default) compiles what the catalog holds."""
        return self._storage.trusted_code

    @trusted_code.setter
    def trusted_code(self, trusted: TrustedCode | None) -> None:
        self._storage.trusted_code = trusted

    # -- feature groups ---------------------------------------------------------------------

    def create_feature_group(
        self,
        name: str,
        version: int | None = 1,
        *,
        primary_key: Sequence[str],
        event_time: str | None = None,
        online_enabled: bool = False,
        description: str = "",
        partition_key: Sequence[str] | None = None,
        features: Sequence[Feature] | None = None,
        expectation_suite: ExpectationSuite | Any = None,
        statistics_enabled: bool = True,
        transformation_functions: Sequence[UDF] = (),
        statistics_config: bool | Mapping[str, Any] | StatisticsConfig | None = None,
        **hopsworks: Any,
    ) -> FeatureGroup:
        """Create a new feature group version (``version=None``: the one after the latest, as
        Hopsworks); :class:`AlreadyExistsError` if it exists.

        ``features`` declares the schema up front; otherwise the first insert defines it.
        ``statistics_config`` (a :class:`StatisticsConfig`, a dict of its fields or a bool)
        says what statistics every commit gets; ``statistics_enabled=False`` is short for
        ``statistics_config=False``. ``expectation_suite`` validates every insert: an
        :class:`fti.ExpectationSuite`, or a Great Expectations suite (object or JSON dict;
        see :mod:`fti.validation.great_expectations`).
        ``transformation_functions`` are on-demand transformations (``@fti.udf``): every insert
        computes their outputs from the inserted rows and stores them as features; online
        feature vectors compute them from the request instead. Hopsworks' storage, streaming
        and layout options are ignored with a warning (``partitioned_by`` is
        ``partition_key``); those it cannot honour (``ttl``, external data, an embedding
        index) are refused with what to do instead.
        """
        check_name(name, "feature group")
        partition_key = hopsworks_options.group_options(hopsworks, partition_key)
        if version is None:
            version = self._next_version(self._catalog.get_feature_group, name)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SchemaError(f"version must be a positive integer, got {version!r}")
        if isinstance(primary_key, str):
            primary_key = [primary_key]
        partition_key = [partition_key] if isinstance(partition_key, str) else partition_key or []
        if not primary_key:
            raise SchemaError("a feature group needs a primary key (one or more columns)")
        for column in [*primary_key, *partition_key, *([event_time] if event_time else [])]:
            check_name(column, "column")
        odts = check_on_demand(transformation_functions, [*primary_key, event_time])
        schema_fields: dict[str, Any] = {"features": None, "arrow_schema": None}
        if features is not None:
            features = with_outputs(features, odts)
            schema_fields = self._declared_schema(features, primary_key, event_time, partition_key)
            names = [f.name for f in features]
            for f in odts:
                f.check_inputs([*names, *f.drop], f"the features of {name!r} (or drop=)")
        config = StatisticsConfig.of(
            statistics_enabled if statistics_config is None else statistics_config
        )
        suite = None if expectation_suite is None else as_suite(expectation_suite)
        if config.columns is not None and features is not None:
            config.select([f.name for f in features])  # unknown columns fail now
        refs = [self._storage.register(f) for f in odts]
        return FeatureGroup(
            self._storage,
            self._catalog.create_feature_group(
                name=name,
                version=version,
                description=description,
                primary_key=list(primary_key),
                event_time=event_time,
                partition_key=list(partition_key),
                online_enabled=online_enabled,
                statistics_enabled=config.enabled,
                statistics_config=config.to_dict(),
                expectation_suite=None if suite is None else suite.to_dict(),
                location=self._storage.offline.table_location(name, version),
                created_by=self._storage.client,
                transformation_functions=refs,
                **schema_fields,
            ),
        )

    @staticmethod
    def _declared_schema(
        features: Sequence[Feature],
        primary_key: Sequence[str],
        event_time: str | None,
        partition_key: Sequence[str],
    ) -> dict[str, Any]:
        names = [f.name for f in features]
        missing = [c for c in [*primary_key, *partition_key, event_time] if c and c not in names]
        if missing:
            raise SchemaError(f"declared features lack the key column(s) {missing}")
        check_distinct(names, "declared feature")
        if event_time is not None:  # stored as UTC microseconds (see ingest.event_times)
            typ = next(f.type for f in features if f.name == event_time)
            kinds = (pa.types.is_timestamp, pa.types.is_date, pa.types.is_integer)
            if not any(kind(typ) for kind in kinds):
                raise SchemaError(
                    f"event time {event_time!r} must be a timestamp, a date or integers of "
                    f"epoch milliseconds, got {typ}"
                )
            features = [
                Feature(f.name, UTC_MICROS, f.description) if f.name == event_time else f
                for f in features
            ]
        schema = features_to_schema(features, [*primary_key, *([event_time] if event_time else [])])
        return {
            "features": [f.to_dict() for f in features],
            "arrow_schema": serialize_schema(schema),
        }

    def get_or_create_feature_group(
        self, name: str, version: int = 1, **kwargs: Any
    ) -> FeatureGroup:
        """The existing version if there is one (definition arguments are then ignored).

        Safe under concurrency: when two processes create the same version at once, one
        creates it and the other gets the same feature group back.
        """
        try:
            return self.get_feature_group(name, version)
        except LookupError:
            pass
        try:
            return self.create_feature_group(name, version, **kwargs)
        except AlreadyExistsError:
            return self.get_feature_group(name, version)

    def get_feature_group(self, name: str, version: int | None = None) -> FeatureGroup:
        """A feature group by name; the latest version when ``version`` is omitted."""
        fg = FeatureGroup(self._storage, self._catalog.get_feature_group(name, version))
        if self._storage.needs_repair(fg):
            self._storage.repair(fg)
        return fg

    def get_feature_groups(self, name: str | None = None) -> list[FeatureGroup]:
        """Every feature group (every version of ``name`` when given), by name and version."""
        return [FeatureGroup(self._storage, r) for r in self._catalog.list_feature_groups(name)]

    def feature_usage(
        self, group: str, feature: str | None = None, version: int | None = None
    ) -> list[dict[str, Any]]:
        """Where a feature group, or one of its features, is used: feature views, their
        training datasets and the model versions trained on them."""
        from fti.featurestore.lineage import usage

        record = self._catalog.get_feature_group(group, version)
        if feature is not None and feature not in [f["name"] for f in record.features or []]:
            raise SchemaError(f"{group} v{record.version} has no feature {feature!r}")
        return usage(self._catalog, record, feature)

    def delete_feature_group(self, name: str, version: int) -> None:
        """Delete one version: definition, offline table, online rows and statistics."""
        self._storage.delete_group(
            FeatureGroup(self._storage, self._catalog.get_feature_group(name, version))
        )

    # -- feature views ----------------------------------------------------------------------

    def create_feature_view(
        self,
        name: str,
        version: int | None = 1,
        *,
        query: Query,
        labels: Sequence[str] = (),
        transformation_functions: Sequence[Any] = (),
        inference_helper_columns: Sequence[str] = (),
        training_helper_columns: Sequence[str] = (),
        description: str = "",
        max_feature_age: dt.timedelta | None = None,
        logging_enabled: bool = False,
        extra_log_columns: Sequence[Feature] | None = None,
        **hopsworks: Any,
    ) -> FeatureView:
        """Create a feature view version (``version=None``: the one after the latest); its
        feature order is fixed from the query now.

        ``transformation_functions`` are model-dependent transformations (``fti.builtins.*``
        or ``@fti.udf`` functions, applied in order): fitted on the train split of each
        training dataset and applied with that state to training, batch and serving data.
        ``max_feature_age``: the age past which a joined group's features are null, online
        and offline alike, for every join that does not set its own. ``logging_enabled``:
        :meth:`FeatureView.log` writes into the view's inference log, which then also has
        ``extra_log_columns``.
        """
        hopsworks_options.view_options(hopsworks)
        if version is None:
            version = self._next_version(self._catalog.get_feature_view, name)
        check_name(name, "feature view")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SchemaError(f"version must be a positive integer, got {version!r}")
        if not isinstance(query, Query):
            raise SchemaError("query must be a Query, e.g. fg.select_all().join(...)")
        if max_feature_age is not None:
            query = query.with_max_feature_age(max_feature_age)
        nodes = query.nodes()
        outputs = [out for node in nodes for _, out in node.outputs]
        roles: dict[str, str] = {}
        for what, names in (
            ("label", labels),
            ("inference_helper", inference_helper_columns),
            ("training_helper", training_helper_columns),
        ):
            unknown = [n for n in names if n not in outputs]
            if unknown:
                raise SchemaError(f"{what} column(s) {unknown} are not in the query: {outputs}")
            for n in names:
                if n in roles:
                    raise SchemaError(f"column {n!r} is both {roles[n]} and {what}")
                roles[n] = what
        keys = {c for n in nodes for c in n.group.primary_key} | {
            c for n in nodes for c in n.left_on
        }
        root = nodes[0]
        features = []
        for node in nodes:
            schema = node.group.schema
            assert schema is not None
            for col, out in node.outputs:
                role = roles.get(out) or (
                    "event_time"
                    if node is root and col == root.group.event_time
                    else "primary_key"
                    if col in keys and (node is root or out == col)
                    else "feature"
                )
                features.append(
                    {
                        "name": out,
                        "type": str(schema.field(col).type),
                        "group": node.group.name,
                        "group_version": node.group.version,
                        "column": col,
                        "role": role,
                    }
                )
        transforms = check_model_dependent(transformation_functions, features)
        refs = [model_dependent.reference(t, self._storage.register) for t in transforms]
        groups: dict[int, str] = {}
        for node in nodes:
            groups.setdefault(node.group.id, node.kind)
        record = self._catalog.create_feature_view(
            groups,
            name=name,
            version=version,
            description=description,
            query=query.to_dict(),
            features=features,
            labels=list(labels),
            inference_helper_columns=list(inference_helper_columns),
            training_helper_columns=list(training_helper_columns),
            transformation_functions=refs,
            created_by=self._storage.client,
            logging={
                "enabled": bool(logging_enabled),
                "paused": False,
                "extra_columns": [c.to_dict() for c in extra_log_columns or ()],
            },
        )
        return FeatureView(self._storage, record, query)

    @staticmethod
    def _next_version(latest: Any, name: str) -> int:
        try:
            return int(latest(name, None).version) + 1
        except LookupError:
            return 1

    def get_or_create_feature_view(self, name: str, version: int = 1, **kwargs: Any) -> FeatureView:
        """The existing version if there is one (definition arguments are then ignored)."""
        try:
            return self.get_feature_view(name, version)
        except LookupError:
            pass
        try:
            return self.create_feature_view(name, version, **kwargs)
        except AlreadyExistsError:
            return self.get_feature_view(name, version)

    def get_feature_view(self, name: str, version: int | None = None) -> FeatureView:
        """A feature view by name; the latest version when ``version`` is omitted."""
        return self._view(self._catalog.get_feature_view(name, version))

    def get_feature_views(self, name: str | None = None) -> list[FeatureView]:
        return [self._view(r) for r in self._catalog.list_feature_views(name)]

    def delete_feature_view(self, name: str, version: int, force: bool = False) -> None:
        """Delete a view version; refused while training datasets depend on it unless forced."""
        record = self._catalog.get_feature_view(name, version)
        self._catalog.delete_feature_view(record.id, force=force)

    def _view(self, record: FeatureViewRecord) -> FeatureView:
        query = Query.from_dict(record.query, self.get_feature_group)
        return FeatureView(self._storage, record, query)
