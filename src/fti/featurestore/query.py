"""Queries over feature groups: selections, point-in-time joins and filters, run by DuckDB.

A query is an immutable tree: a root feature group with selected features, and joins to other
queries (star and snowflake schemas). Executing it pins one Delta commit per feature group,
loads those snapshots as Arrow and runs one DuckDB statement:

* a joined group **with** an event time is an ``ASOF LEFT JOIN``: for each root row, the row
  with the greatest event time <= the root row's event time (ties cannot occur: a snapshot
  holds one row per key and event time); ``max_feature_age`` turns older matches into nulls;
* a joined group **without** an event time is a plain key join (kind ``"key"``);
* when the root has no event time, a joined group's newest row per key is used (``"latest"``).

Right-hand join keys must be the joined group's primary key, so every root row yields exactly
one output row (``inner`` joins drop root rows without a match, by request).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from fti import _duckdb, _frames
from fti._duckdb import quote as q
from fti._time import utc
from fti.errors import CommitNotFound, FtiError, SchemaError
from fti.featurestore.filters import FeatureRef, Filter, check_types, literal

if TYPE_CHECKING:
    from fti.featurestore.feature_group import FeatureGroup


@dataclass(frozen=True)
class Join:
    query: Query
    left_on: tuple[str, ...]
    right_on: tuple[str, ...]
    join_type: str
    prefix: str
    max_feature_age: dt.timedelta | None


@dataclass(frozen=True)
class Node:
    """One feature group in the flattened query, with what it contributes to the output."""

    alias: str
    group: FeatureGroup
    outputs: tuple[tuple[str, str], ...]  # (column in the group, output name)
    parent: str | None
    left_on: tuple[str, ...]
    right_on: tuple[str, ...]
    join_type: str
    kind: str  # root, point_in_time, key or latest
    max_feature_age: dt.timedelta | None
    prefix: str = ""  # of its output names


@dataclass(frozen=True)
class Query:
    """Selected features of a feature group, joined with other queries and filtered."""

    group: FeatureGroup
    features: tuple[str, ...]
    joins: tuple[Join, ...] = ()
    filter_: Filter | None = None
    pins: Mapping[str, int] = field(default_factory=dict)  # "name:version" -> commit id

    # -- building ---------------------------------------------------------------------------

    def join(
        self,
        other: Query | FeatureGroup,
        on: Sequence[str] | None = None,
        *,
        left_on: Sequence[str] | None = None,
        right_on: Sequence[str] | None = None,
        join_type: str = "left",
        prefix: str | None = None,
        max_feature_age: dt.timedelta | None = None,
    ) -> Query:
        """Join another query (or a whole feature group) onto this query's root group."""
        if not isinstance(other, Query):
            other = other.select_all()
        on, left_on, right_on = ([v] if isinstance(v, str) else v for v in (on, left_on, right_on))
        if join_type not in ("left", "inner"):
            raise FtiError(f"join_type must be 'left' or 'inner', got {join_type!r}")
        if on is not None and (left_on is not None or right_on is not None):
            raise FtiError("give either on= or left_on=/right_on=, not both")
        right_pk = other.group.primary_key
        if on is None and left_on is None and right_on is None:
            on = right_pk
        left = tuple(on if on is not None else left_on or ())
        right = tuple(on if on is not None else right_on or ())
        if not left or len(left) != len(right):
            raise FtiError("left_on and right_on must name the same number of columns")
        self._check_columns(self.group, left, "left join key")
        self._check_columns(other.group, right, "right join key")
        if set(right) != set(right_pk):
            raise SchemaError(
                f"joins must match {other.group.name}'s primary key {right_pk} (got {list(right)}),"
                " so that each row finds at most one row"
            )
        if max_feature_age is not None and max_feature_age < dt.timedelta(0):
            raise FtiError("max_feature_age must not be negative")
        new = Join(other, left, right, join_type, prefix or "", max_feature_age)
        return replace(self, joins=(*self.joins, new))

    def with_max_feature_age(self, age: dt.timedelta) -> Query:
        """The query with ``age`` as the max_feature_age of every join that sets none."""
        if age < dt.timedelta(0):
            raise FtiError("max_feature_age must not be negative")
        joins = tuple(
            replace(
                j,
                query=j.query.with_max_feature_age(age),
                max_feature_age=age if j.max_feature_age is None else j.max_feature_age,
            )
            for j in self.joins
        )
        return replace(self, joins=joins)

    def filter(self, condition: Filter) -> Query:
        """Keep rows matching ``condition`` (ANDed with any earlier filter)."""
        if not isinstance(condition, Filter):
            raise FtiError(
                f"filter() takes a feature expression such as fg.amount > 10, not {condition!r}"
            )
        combined = condition if self.filter_ is None else self.filter_ & condition
        return replace(self, filter_=combined)

    def as_of(self, commits: Mapping[str, int] | int | dt.datetime | None) -> Query:
        """Pin the data read: a commit per group (``{"name:version": id}``), or a time.

        An integer pins every group to that commit id; a datetime pins each group to its
        newest commit at or before that time.
        """
        if commits is None:
            return replace(self, pins={})
        groups = {f"{n.group.name}:{n.group.version}": n.group for n in self.nodes()}
        if isinstance(commits, Mapping):
            unknown = [k for k in commits if k not in groups]
            if unknown:
                raise FtiError(f"as_of names {unknown}, not in the query: {list(groups)}")
            return replace(self, pins=dict(commits))
        if not isinstance(commits, int) or isinstance(commits, bool):  # a time: naive is UTC
            commits = utc(commits, "as_of")
        pins = {}
        for key, group in groups.items():
            try:
                pins[key] = group._commit_at(commits)
            except CommitNotFound as exc:
                raise CommitNotFound(f"{group.name} v{group.version}: {exc}") from exc
        return replace(self, pins=pins)

    @staticmethod
    def _check_columns(group: FeatureGroup, names: Sequence[str], what: str) -> None:
        schema = group.schema
        if schema is None:
            raise SchemaError(
                f"{group.name} v{group.version} has no schema yet: insert data or declare features"
            )
        known = schema.names
        missing = [n for n in names if n not in known]
        if missing:
            raise SchemaError(
                f"unknown {what}(s) {missing} in {group.name} v{group.version}; features: {known}"
            )

    # -- flattening -------------------------------------------------------------------------

    def nodes(self) -> list[Node]:
        """The groups of the query in join order; output names checked for ambiguity."""
        nodes: list[Node] = []
        root_time = self.group.event_time

        def visit(query: Query, parent: str | None, join: Join | None, prefix: str) -> None:
            alias = f"t{len(nodes)}"
            group = query.group
            skip = set(join.right_on) if join else set()
            outputs = tuple((f, prefix + f) for f in query.features if f not in skip)
            if join is None:
                kind = "root"
            elif group.event_time is None:
                kind = "key"
            elif root_time is None:
                kind = "latest"
            else:
                kind = "point_in_time"
            nodes.append(
                Node(
                    alias,
                    group,
                    outputs,
                    parent,
                    join.left_on if join else (),
                    join.right_on if join else (),
                    join.join_type if join else "",
                    kind,
                    join.max_feature_age if join else None,
                    prefix,
                )
            )
            for child in query.joins:
                visit(child.query, alias, child, prefix + child.prefix)

        visit(self, None, None, "")
        if not any(node.outputs for node in nodes):
            raise FtiError("the query selects no features")
        seen: dict[str, str] = {}
        for node in nodes:
            for _, out in node.outputs:
                if out in seen:
                    raise SchemaError(
                        f"ambiguous column {out!r}: it comes from {seen[out]} and "
                        f"{node.group.name} v{node.group.version}; drop one with select_except() "
                        "or give the join a prefix="
                    )
                seen[out] = f"{node.group.name} v{node.group.version}"
        return nodes

    def with_keys(self) -> Query:
        """The query also reading, unselected, the columns that identify its rows: the
        root's primary key and event time and each join's left keys, under the names the
        query gives them, where no selected column has that name (what ``primary_key=`` and
        ``event_time=`` return; a time split reads the root's event time)."""
        taken = set(self.output_columns)

        def add(query: Query, prefix: str, skip: Sequence[str] | None) -> Query:
            group = query.group
            extra = [c for join in query.joins for c in join.left_on]
            if skip is None:  # the root
                skip = ()
                times = [group.event_time] if group.event_time else []
                extra = [*group.primary_key, *times, *extra]
            features = list(query.features)
            for column in extra:
                if column not in features and column not in skip and prefix + column not in taken:
                    features.append(column)
                    taken.add(prefix + column)
            joins = tuple(
                replace(j, query=add(j.query, prefix + j.prefix, j.right_on)) for j in query.joins
            )
            return replace(query, features=tuple(features), joins=joins)

        return add(self, "", None)

    @property
    def output_columns(self) -> list[str]:
        return [out for node in self.nodes() for _, out in node.outputs]

    # -- SQL --------------------------------------------------------------------------------

    def statement(
        self,
        spine: str | None = None,
        order_by: Sequence[str] | None = None,
        latest: bool = False,
    ) -> tuple[str, list[Any]]:
        """The DuckDB statement this query runs and the values bound to its ``$n``
        placeholders (tables named ``<group>_v<version>``).

        ``spine`` replaces the root group's table (its rows drive the joins); ``latest`` reads
        the newest row per key of every group instead of joining point-in-time, which is what
        the online store serves. Filter values and ``max_feature_age`` are bound, never
        written into the text: it changes with the query's shape (and an ``isin`` list's
        length), not with the values.
        """
        params = _duckdb.Params()
        return self._render(params, spine, order_by, latest), params.values

    def to_sql(
        self,
        spine: str | None = None,
        order_by: Sequence[str] | None = None,
        latest: bool = False,
    ) -> str:
        """The text of :meth:`statement`, with ``$n`` placeholders for its values."""
        return self.statement(spine, order_by, latest)[0]

    def to_string(self) -> str:
        """The statement with each bound value spelled out in its place, for reading."""
        return self._render(literal, None, None, False)

    def _render(
        self,
        value: Callable[[Any], str],
        spine: str | None,
        order_by: Sequence[str] | None,
        latest: bool,
    ) -> str:
        """The statement, with ``value`` rendering each value in it (typed for the feature
        it is compared with)."""
        nodes = self.nodes()
        # the newest rows stand for what the online store serves now, where a row older than
        # max_feature_age is aged from now (a point-in-time join ages it from the root's time)
        now = dt.datetime.now(dt.UTC) if latest else None
        if latest:
            nodes = [replace(n, kind="latest") if n.kind == "point_in_time" else n for n in nodes]
        by_alias = {n.alias: n for n in nodes}
        tables = _table_names(nodes)
        root = nodes[0]
        time = root.group.event_time

        types: dict[tuple[str, int, str], pa.DataType] = {}

        def type_of(ref: FeatureRef) -> pa.DataType:
            key = (ref.group, ref.version, ref.name)  # a schema is read once, not per value
            if key not in types:
                types[key] = self._type_of(nodes, ref)
            return types[key]

        columns = [
            f"{_expression(node, col, time, value, now)} AS {q(out)}"
            for node in nodes
            for col, out in node.outputs
        ]
        source = q(spine) if spine else q(tables[_key(root.group)])
        if latest and spine is None and time:
            source = _newest_per_key(source, root.group.primary_key, time)
        sql = [f"SELECT {', '.join(columns)}", f"FROM {source} AS t0"]
        for node in nodes[1:]:
            parent = by_alias[node.parent or "t0"]
            keys = " AND ".join(
                f"{parent.alias}.{q(a)} = {node.alias}.{q(b)}"
                for a, b in zip(node.left_on, node.right_on, strict=True)
            )
            join = "LEFT JOIN" if node.join_type == "left" else "JOIN"
            source = q(tables[_key(node.group)])
            if node.kind == "point_in_time":
                keys += f" AND t0.{q(time or '')} >= {node.alias}.{q(node.group.event_time or '')}"
                join = "ASOF " + join
            elif node.kind == "latest":
                source = _newest_per_key(source, node.group.primary_key, node.group.event_time)
            sql.append(f"{join} {source} AS {node.alias} ON {keys}")
        condition = self._all_filters()
        if condition is not None:
            for ref in condition.refs():
                self._node_of(nodes, ref)  # an unknown feature is an error, even if unread
            check_types(condition, type_of)

            def column(ref: FeatureRef) -> str:
                # the value the output shows (e.g. nulled by max_feature_age), not the raw one
                return _expression(self._node_of(nodes, ref), ref.name, time, value, now)

            sql.append("WHERE " + condition.to_sql(column, type_of, value))
        order = (
            order_by
            if order_by is not None
            else [
                *root.group.primary_key,
                *([time] if time else []),
            ]
        )
        if order:
            sql.append("ORDER BY " + ", ".join(f"t0.{q(c)}" for c in order))
        return "\n".join(sql)

    def _all_filters(self) -> Filter | None:
        """This query's filter ANDed with those of every joined sub-query."""
        parts = [self.filter_] if self.filter_ is not None else []
        parts += [f for j in self.joins if (f := j.query._all_filters()) is not None]
        if not parts:
            return None
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part
        return combined

    @staticmethod
    def _type_of(nodes: list[Node], ref: FeatureRef) -> pa.DataType:
        for node in nodes:
            schema = node.group.schema
            same = (node.group.name, node.group.version) == (ref.group, ref.version)
            if same and schema is not None and ref.name in schema.names:
                return schema.field(ref.name).type
        return pa.null()  # unknown: _node_of names the problem

    @staticmethod
    def _node_of(nodes: list[Node], ref: FeatureRef) -> Node:
        """The node of the group a filter's feature belongs to."""
        matches = [n for n in nodes if (n.group.name, n.group.version) == (ref.group, ref.version)]
        if not matches:
            raise FtiError(
                f"the filter uses {ref.group} v{ref.version}.{ref.name}, which is not in the query"
            )
        if len(matches) > 1:
            raise FtiError(f"{ref.group} v{ref.version} appears twice: the filter is ambiguous")
        Query._check_columns(matches[0].group, [ref.name], "filter feature")
        return matches[0]

    # -- serialization (stored with feature views and training datasets) --------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group.name,
            "version": self.group.version,
            "features": list(self.features),
            "joins": [
                {
                    "query": j.query.to_dict(),
                    "left_on": list(j.left_on),
                    "right_on": list(j.right_on),
                    "join_type": j.join_type,
                    "prefix": j.prefix,
                    "max_feature_age_us": None
                    if j.max_feature_age is None
                    else j.max_feature_age // dt.timedelta(microseconds=1),
                }
                for j in self.joins
            ],
            "filter": None if self.filter_ is None else self.filter_.to_dict(),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any], get_group: Any) -> Query:
        """Rebuild a query; ``get_group(name, version)`` returns the feature group."""
        joins = tuple(
            Join(
                Query.from_dict(j["query"], get_group),
                tuple(j["left_on"]),
                tuple(j["right_on"]),
                j["join_type"],
                j["prefix"],
                None
                if j["max_feature_age_us"] is None
                else dt.timedelta(microseconds=j["max_feature_age_us"]),
            )
            for j in data["joins"]
        )
        return Query(
            get_group(data["group"], data["version"]),
            tuple(data["features"]),
            joins,
            None if data["filter"] is None else Filter.from_dict(data["filter"]),
        )

    # -- execution --------------------------------------------------------------------------

    def resolve_commits(self) -> dict[str, int]:
        """The commit each group will be read at: pinned, or the latest now."""
        commits = {}
        for node in self.nodes():
            key = _key(node.group)
            if key not in commits:
                commits[key] = self.pins.get(key, node.group._latest_commit())
        return commits

    def _needed_columns(self, node: Node, nodes: list[Node]) -> list[str]:
        group = node.group
        needed = {c for c, _ in node.outputs} | set(node.right_on) | set(group.primary_key)
        needed |= {c for n in nodes if n.parent == node.alias for c in n.left_on}
        if group.event_time:
            needed.add(group.event_time)
        condition = self._all_filters()
        if condition is not None:
            needed |= {
                r.name
                for r in condition.refs()
                if (r.group, r.version) == (group.name, group.version)
            }
        return sorted(needed)

    def _connect(
        self, commits: Mapping[str, int], latest: bool = False
    ) -> duckdb.DuckDBPyConnection:
        """A connection where each group's table holds its rows at the pinned commit.

        Local Delta snapshots are scanned by DuckDB straight from their Parquet files
        (parallel, overlapped with the join: ~0.3 s of 1.3 s saved at 1M rows); any other
        snapshot is loaded through delta-rs as Arrow first. With ``latest`` (newest row per
        key only) a group whose online store holds that commit's state and whose history is
        long is read from the online store instead: its cost grows with keys, not history.
        """
        con = _duckdb.connect()
        nodes = self.nodes()
        tables = _table_names(nodes)
        needed: dict[str, tuple[Node, set[str]]] = {}  # a group joined twice is read once
        for node in nodes:
            key = _key(node.group)
            needed.setdefault(key, (node, set()))[1].update(self._needed_columns(node, nodes))
        for key, (node, wanted) in needed.items():
            schema = node.group.schema
            columns = [c for c in (schema.names if schema else []) if c in wanted]
            newest = node.group._online_latest(commits[key], columns) if latest else None
            files = None if newest is not None else node.group._snapshot_files(commits[key])
            if newest is not None:
                con.register(tables[key], newest)
            elif files is None:
                con.register(tables[key], node.group._read_snapshot(commits[key], columns))
            else:
                con.register(tables[key], _parquet_scan(con, node, files, columns))
        return con

    def read(self, dataframe_type: str = "pandas") -> Any:
        """Run the query on the pinned (or latest) commits and return the rows."""
        return _frames.to_frame(self.to_arrow(), dataframe_type)

    def to_arrow(
        self,
        commits: Mapping[str, int] | None = None,
        *,
        spine: pa.Table | None = None,
        latest: bool = False,
    ) -> pa.Table:
        """Run the query; ``spine`` rows replace the root group's rows, in the spine's order."""
        con = self._connect(commits or self.resolve_commits(), latest and spine is None)
        try:
            if spine is None:
                sql, params = self.statement(latest=latest)
                return con.sql(sql, params=params).to_arrow_table()
            row = "__fti_spine_row"
            con.register(
                "__fti_spine", spine.append_column(row, pa.array(range(spine.num_rows), pa.int64()))
            )
            sql, params = self.statement("__fti_spine", [row], latest)
            return con.sql(sql, params=params).to_arrow_table()
        except (duckdb.ConversionException, duckdb.BinderException) as exc:
            # Bad filter values or spine columns: the user's input, so a clear fti error.
            raise FtiError(f"the query cannot run on this input: {exc}") from exc
        finally:
            con.close()

    def show(self, n: int = 10, online: bool = False, dataframe_type: str = "pandas") -> Any:
        """The first ``n`` rows, as Hopsworks' ``query.show(n)``; ``online``: of the newest
        row per entity (what the online store serves) instead of the point-in-time join."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise FtiError(f"show() takes a number of rows >= 0, got {n!r}")
        con = self._connect(self.resolve_commits(), online)
        try:
            sql, params = self.statement(latest=online)
            params.append(n)
            table = con.sql(f"{sql}\nLIMIT ${len(params)}", params=params).to_arrow_table()
        finally:
            con.close()
        return _frames.to_frame(table, dataframe_type)

    def read_batches(self, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Stream the result in Arrow record batches instead of materializing it."""
        con = self._connect(self.resolve_commits())
        try:
            sql, params = self.statement()
            reader = con.sql(sql, params=params).to_arrow_reader(batch_size)
            yield from reader
        finally:
            con.close()


def _expression(
    node: Node,
    column: str,
    root_time: str | None,
    value: Callable[[Any], str],
    now: dt.datetime | None = None,
) -> str:
    """A group's column as the query outputs it: nulled when older than max_feature_age, at
    the root row's event time (a point-in-time join) or at ``now`` (the newest rows)."""
    expr = f"{node.alias}.{q(column)}"
    event_time = node.group.event_time
    if node.max_feature_age is None or event_time is None:
        return expr
    if node.kind == "point_in_time":
        age = value(node.max_feature_age // dt.timedelta(microseconds=1))
        gap = f"t0.{q(root_time or '')} - {node.alias}.{q(event_time)}"
        expr = f"CASE WHEN {gap} <= to_microseconds({age}) THEN {expr} END"
    elif node.kind == "latest" and now is not None:
        oldest = value(now - node.max_feature_age)
        expr = f"CASE WHEN {node.alias}.{q(event_time)} >= {oldest} THEN {expr} END"
    return expr


def _parquet_scan(
    con: duckdb.DuckDBPyConnection, node: Node, files: list[str], columns: list[str]
) -> duckdb.DuckDBPyRelation:
    """The rows of the files, unread until the query runs (which reads only the columns it
    uses); columns no file has yet (features appended after those rows were written) read
    as typed nulls, as the Delta table defines them. The paths are a bound value."""
    # can_have_nan: Parquet statistics leave NaN out of min/max, so pruning row groups by them
    # would drop the NaN rows a filter matches (DuckDB sorts NaN above every number)
    scan = con.sql(
        "SELECT * FROM read_parquet($1, union_by_name = true, hive_partitioning = false, "
        "can_have_nan = true)",
        params=[files],
    )
    present = set(scan.columns)
    absent = [c for c in columns if c not in present]
    if not absent:
        return scan
    schema = node.group.schema
    assert schema is not None
    empty = pa.schema([schema.field(c) for c in absent]).empty_table()
    types = dict(zip(empty.column_names, map(str, con.from_arrow(empty).types), strict=True))
    select = [q(c) if c in present else f"CAST(NULL AS {types[c]}) AS {q(c)}" for c in columns]
    return scan.select(", ".join(select))


def _newest_per_key(source: str, keys: Sequence[str], time: str | None) -> str:
    pk = ", ".join(q(k) for k in keys)
    return (
        f"(SELECT * FROM {source} QUALIFY row_number() OVER (PARTITION BY {pk} "
        f"ORDER BY {q(time or '')} DESC) = 1)"
    )


def _key(group: FeatureGroup) -> str:
    return f"{group.name}:{group.version}"


def _table_names(nodes: Sequence[Node]) -> dict[str, str]:
    """The table of each group of a query, ``<group>_v<version>``, by ``name:version``.

    DuckDB's names ignore case, so groups named ``a`` and ``A`` would share one table: a
    later one gets a suffix (``_2``, ...) no group's table name can end with.
    """
    tables: dict[str, str] = {}
    taken: set[str] = set()
    for node in nodes:
        key = _key(node.group)
        if key in tables:
            continue
        name = base = f"{node.group.name}_v{node.group.version}"
        n = 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        tables[key] = name
    return tables
