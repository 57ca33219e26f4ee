"""The query layer: selections, filters, point-in-time / key / latest joins, pins and reading.

Read-only tests share one module-scoped store (``store``); tests that insert after building a
query (pins, determinism across commits) get a fresh ``fs``. Every expected value below is
worked out by hand from the small tables in ``_build_store``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import fti
from fti.featurestore.filters import Filter
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")
DAY = dt.date(2026, 1, 1)


def utc(seconds: list[int | None]) -> pa.Array:
    return pa.array([None if s is None else ts(s) for s in seconds], UTC_US)


def ids(query: Any, column: str = "tid") -> list[Any]:
    return query.read(dataframe_type="arrow").column(column).to_pylist()


# -- the shared, read-only store ---------------------------------------------------------------


class Store:
    """Feature groups of a small card-fraud world (times are seconds after T0)."""

    def __init__(self, fs: fti.FeatureStore) -> None:
        self.fs = fs
        # Transactions, the root of most joins.
        self.tx = fs.create_feature_group("tx", primary_key=["tid"], event_time="event_ts")
        self.tx.insert(
            pa.table(
                {
                    "tid": pa.array([1, 2, 3, 4, 5], pa.int64()),
                    "cc_num": pa.array([10, 10, 20, 30, 20], pa.int64()),
                    "merchant_id": pa.array([100, 200, 100, 300, 200], pa.int64()),
                    "event_ts": utc([5, 15, 15, 15, 0]),
                    "amount": pa.array([1.0, 2.0, 3.0, 4.0, 5.0], pa.float64()),
                }
            )
        )
        # Card features over time; card 30 never appears, card 20 only from t=1.
        self.card = fs.create_feature_group("card", primary_key=["cc_num"], event_time="event_ts")
        self.card.insert(
            pa.table(
                {
                    "cc_num": pa.array([10, 10, 10, 20], pa.int64()),
                    "event_ts": utc([0, 10, 20, 1]),
                    "spend": pa.array([100.0, 110.0, 120.0, 200.0], pa.float64()),
                }
            )
        )
        # Merchants, which point to a region (snowflake).
        self.merchant = fs.create_feature_group(
            "merchant", primary_key=["merchant_id"], event_time="event_ts"
        )
        self.merchant.insert(
            pa.table(
                {
                    "merchant_id": pa.array([100, 100, 200], pa.int64()),
                    "event_ts": utc([0, 12, 0]),
                    "category": ["food", "grocery", "travel"],
                    "region_id": pa.array([1, 2, 1], pa.int64()),
                }
            )
        )
        self.region = fs.create_feature_group(
            "region", primary_key=["region_id"], event_time="event_ts"
        )
        self.region.insert(
            pa.table(
                {
                    "region_id": pa.array([1, 1, 2, 2], pa.int64()),
                    "event_ts": utc([0, 10, 0, 20]),
                    "tax": pa.array([0.1, 0.15, 0.2, 0.25], pa.float64()),
                }
            )
        )
        # No event time: a plain key join.
        self.profile = fs.create_feature_group("profile", primary_key=["cc_num"])
        self.profile.insert(
            pa.table({"cc_num": pa.array([10, 20], pa.int64()), "tier": ["gold", "silver"]})
        )
        # A key under another name.
        self.holder = fs.create_feature_group("holder", primary_key=["number"])
        self.holder.insert(
            pa.table({"number": pa.array([10, 20], pa.int64()), "holder": ["Ann", "Bob"]})
        )
        # A composite key.
        self.pair = fs.create_feature_group("pair", primary_key=["cc_num", "merchant_id"])
        self.pair.insert(
            pa.table(
                {
                    "cc_num": pa.array([10, 20], pa.int64()),
                    "merchant_id": pa.array([100, 100], pa.int64()),
                    "visits": pa.array([7, 8], pa.int64()),
                }
            )
        )
        # Every column type the filters handle, with a row of nulls (id 4).
        self.items = fs.create_feature_group("items", primary_key=["id"], event_time="event_ts")
        self.items.insert(
            pa.table(
                {
                    "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
                    "event_ts": utc([1, 2, 3, 4, 5]),
                    "i": pa.array([1, 2, 3, None, 5], pa.int64()),
                    "f": pa.array([0.5, 1.5, -2.25, None, 10.0], pa.float64()),
                    "s": pa.array(["apple", "banana", "O'Brien", None, "100%_sure"], pa.string()),
                    "b": pa.array([True, False, True, None, False], pa.bool_()),
                    "t": utc([10, 20, 30, None, 50]),
                    "d": pa.array(
                        [DAY + dt.timedelta(days=n) for n in (0, 1, 2)]
                        + [None, DAY.replace(day=5)],
                        pa.date32(),
                    ),
                }
            )
        )
        # A declared schema and no commit yet.
        self.empty = fs.create_feature_group(
            "empty",
            primary_key=["cc_num"],
            event_time="event_ts",
            features=[
                fti.Feature("cc_num", "int64"),
                fti.Feature("event_ts", "timestamp"),
                fti.Feature("score", "double"),
            ],
        )
        # Neither a declared schema nor data.
        self.bare = fs.create_feature_group("bare", primary_key=["cc_num"])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with fti.connect(tmp_path_factory.mktemp("query") / "home") as project:
        yield Store(project.get_feature_store())


# -- select / select_all / select_except ---------------------------------------------------------


def test_select_all_returns_every_feature_in_schema_order(store: Store) -> None:
    table = store.tx.select_all().read(dataframe_type="arrow")
    assert table.column_names == ["tid", "cc_num", "merchant_id", "event_ts", "amount"]
    assert table.to_pylist()[0] == {
        "tid": 1,
        "cc_num": 10,
        "merchant_id": 100,
        "event_ts": ts(5),
        "amount": 1.0,
    }
    assert table.num_rows == 5


def test_select_keeps_the_requested_order(store: Store) -> None:
    query = store.tx.select(["amount", "tid"])
    assert query.output_columns == ["amount", "tid"]
    table = query.read(dataframe_type="arrow")
    assert table.column_names == ["amount", "tid"]
    assert table.to_pydict() == {"amount": [1.0, 2.0, 3.0, 4.0, 5.0], "tid": [1, 2, 3, 4, 5]}


def test_select_except_drops_the_named_features(store: Store) -> None:
    table = store.tx.select_except(["event_ts", "merchant_id"]).read(dataframe_type="arrow")
    assert table.column_names == ["tid", "cc_num", "amount"]
    assert table.column("cc_num").to_pylist() == [10, 10, 20, 30, 20]


@pytest.mark.parametrize(
    "build",
    [
        lambda g: g.select(["amount", "nope"]),
        lambda g: g.select_except(["nope"]),
        lambda g: g["nope"],
    ],
    ids=["select", "select_except", "getitem"],
)
def test_unknown_features_raise_schema_error_listing_known_ones(
    store: Store, build: Callable[[fti.FeatureGroup], Any]
) -> None:
    with pytest.raises(fti.SchemaError, match="nope") as info:
        build(store.tx)
    for known in ("tid", "cc_num", "merchant_id", "event_ts", "amount"):
        assert known in str(info.value)


def test_unknown_attribute_is_an_attribute_error_listing_features(store: Store) -> None:
    with pytest.raises(AttributeError, match="nope") as info:
        store.tx.nope  # noqa: B018
    assert "amount" in str(info.value)
    assert getattr(store.tx, "nope", None) is None


def test_attribute_and_item_give_the_same_feature_reference(store: Store) -> None:
    by_attr = store.tx.filter(store.tx.amount > 2.5)
    by_item = store.tx.filter(store.tx["amount"] > 2.5)
    assert by_attr.to_string() == by_item.to_string()
    assert ids(by_attr) == ids(by_item) == [3, 4, 5]


def test_group_without_schema_says_so(store: Store) -> None:
    with pytest.raises(fti.FtiError, match="no schema yet"):
        store.bare.select_all()
    with pytest.raises(fti.FtiError, match="no schema yet"):
        store.tx.select_all().join(store.bare)


@pytest.mark.parametrize(
    "build",
    [lambda g: g.select(["x"]), lambda g: g.select_except(["x"]), lambda g: g["x"]],
    ids=["select", "select_except", "getitem"],
)
def test_group_without_schema_says_so_for_named_features(
    store: Store, build: Callable[[fti.FeatureGroup], Any]
) -> None:
    with pytest.raises(fti.FtiError, match="no schema yet"):
        build(store.bare)


def test_hasattr_on_group_without_schema_is_false(store: Store) -> None:
    assert not hasattr(store.bare, "x")


def test_declared_schema_without_commits_reads_empty(store: Store) -> None:
    table = store.empty.select_all().read(dataframe_type="arrow")
    assert table.num_rows == 0
    assert table.column_names == ["cc_num", "event_ts", "score"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda g: g.select([]), r"select\(\) needs at least one feature"),
        (lambda g: g.select_except(g.schema.names), r"select_except\(\) would leave no feature"),
    ],
    ids=["select-none", "except-all"],
)
def test_selecting_nothing_is_a_clear_error(
    store: Store, build: Callable[[fti.FeatureGroup], Any], message: str
) -> None:
    with pytest.raises(fti.FtiError, match=message):
        build(store.holder).read()


def test_queries_are_immutable(store: Store) -> None:
    base = store.tx.select(["tid", "amount"])
    joined = base.join(store.profile)
    filtered = base.filter(store.tx.amount > 3)
    assert base.output_columns == ["tid", "amount"]
    assert base.joins == () and base.filter_ is None
    assert joined.output_columns == ["tid", "amount", "tier"]
    assert ids(base) == [1, 2, 3, 4, 5]
    assert ids(filtered) == [4, 5]


# -- filters -------------------------------------------------------------------------------------

F = Callable[[fti.FeatureGroup], Filter]

# (id, filter on the "items" group, expected ids). Nulls follow SQL: a comparison with null is
# unknown, so the row of nulls (id 4) matches only isnull() (and a NOT of something non-null).
FILTER_CASES: list[tuple[str, F, list[int]]] = [
    ("int-eq", lambda g: g.i == 2, [2]),
    ("int-ne", lambda g: g.i != 2, [1, 3, 5]),
    ("int-lt", lambda g: g.i < 3, [1, 2]),
    ("int-le", lambda g: g.i <= 3, [1, 2, 3]),
    ("int-gt", lambda g: g.i > 3, [5]),
    ("int-ge", lambda g: g.i >= 3, [3, 5]),
    ("int-numpy", lambda g: g.i == np.int64(3), [3]),
    ("int-isin", lambda g: g.i.isin([1, 5, 99]), [1, 5]),
    ("int-isin-empty", lambda g: g.i.isin([]), []),
    ("int-not-isin-empty", lambda g: ~g.i.isin([]), [1, 2, 3, 4, 5]),
    ("int-isnull", lambda g: g.i.isnull(), [4]),
    ("int-notnull", lambda g: g.i.notnull(), [1, 2, 3, 5]),
    ("float-eq", lambda g: g.f == 1.5, [2]),
    ("float-ne", lambda g: g.f != 0.5, [2, 3, 5]),
    ("float-lt", lambda g: g.f < 0, [3]),
    ("float-le", lambda g: g.f <= 0.5, [1, 3]),
    ("float-gt", lambda g: g.f > 0.5, [2, 5]),
    ("float-ge", lambda g: g.f >= 1.5, [2, 5]),
    ("float-int-literal", lambda g: g.f > 1, [2, 5]),
    ("float-numpy", lambda g: g.f == np.float64(-2.25), [3]),
    ("float-isin", lambda g: g.f.isin([0.5, 10.0]), [1, 5]),
    ("str-eq", lambda g: g.s == "banana", [2]),
    ("str-eq-quote", lambda g: g.s == "O'Brien", [3]),
    ("str-ne", lambda g: g.s != "apple", [2, 3, 5]),
    ("str-lt", lambda g: g.s < "b", [1, 3, 5]),
    ("str-ge", lambda g: g.s >= "b", [2]),
    ("str-isin", lambda g: g.s.isin(["apple", "O'Brien", "zzz"]), [1, 3]),
    ("str-like-contains", lambda g: g.s.like("%an%"), [2]),
    ("str-like-underscore", lambda g: g.s.like("_pple"), [1]),
    ("str-like-quote", lambda g: g.s.like("O'%"), [3]),
    ("str-like-percent", lambda g: g.s.like("100%"), [5]),
    ("str-isnull", lambda g: g.s.isnull(), [4]),
    ("str-notnull", lambda g: g.s.notnull(), [1, 2, 3, 5]),
    ("bool-true", lambda g: g.b == True, [1, 3]),  # noqa: E712
    ("bool-false", lambda g: g.b == False, [2, 5]),  # noqa: E712
    ("bool-ne", lambda g: g.b != True, [2, 5]),  # noqa: E712
    ("bool-isin", lambda g: g.b.isin([False]), [2, 5]),
    ("bool-isnull", lambda g: g.b.isnull(), [4]),
    ("ts-eq", lambda g: g.t == ts(30), [3]),
    ("ts-ne", lambda g: g.t != ts(30), [1, 2, 5]),
    ("ts-lt", lambda g: g.t < ts(20), [1]),
    ("ts-le", lambda g: g.t <= ts(20), [1, 2]),
    ("ts-gt", lambda g: g.t > ts(20), [3, 5]),
    ("ts-ge", lambda g: g.t >= ts(20), [2, 3, 5]),
    ("ts-other-tz", lambda g: g.t == ts(30).astimezone(ZoneInfo("Asia/Kolkata")), [3]),
    ("ts-pandas", lambda g: g.t == pd.Timestamp(ts(50)), [5]),
    ("ts-isin", lambda g: g.t.isin([ts(10), ts(50)]), [1, 5]),
    ("ts-isnull", lambda g: g.t.isnull(), [4]),
    ("event-time-range", lambda g: (g.event_ts >= ts(2)) & (g.event_ts < ts(5)), [2, 3, 4]),
    ("date-ge", lambda g: g.d >= DAY.replace(day=3), [3, 5]),
    ("and", lambda g: (g.i > 1) & (g.f < 5), [2, 3]),
    ("and-three", lambda g: (g.i > 0) & (g.b == True) & g.s.like("%a%"), [1]),  # noqa: E712
    ("or", lambda g: (g.i == 1) | (g.s == "banana"), [1, 2]),
    ("not", lambda g: ~(g.i > 2), [1, 2]),
    ("not-or-isnull", lambda g: ~(g.i > 2) | g.i.isnull(), [1, 2, 4]),
    ("nested", lambda g: ((g.i == 1) | (g.i == 5)) & (g.b == False), [5]),  # noqa: E712
    ("double-not", lambda g: ~~(g.i == 3), [3]),
]


def _cases(bugs: dict[str, str]) -> list[Any]:
    """FILTER_CASES as pytest params, known bugs (if any) marked as strict xfails."""
    return [
        pytest.param(
            name,
            build,
            expected,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=bugs[name])] if name in bugs else [],
        )
        for name, build, expected in FILTER_CASES
    ]


@pytest.mark.parametrize(("name", "build", "expected"), _cases({}))
def test_filter(store: Store, name: str, build: F, expected: list[int]) -> None:
    assert ids(store.items.filter(build(store.items)), "id") == expected


def test_filter_on_a_feature_that_is_not_selected(store: Store) -> None:
    query = store.items.select(["id"]).filter(store.items.s == "banana")
    table = query.read(dataframe_type="arrow")
    assert table.column_names == ["id"]
    assert table.column("id").to_pylist() == [2]


def test_successive_filters_are_anded(store: Store) -> None:
    g = store.items
    query = g.filter(g.i > 1).filter(g.f < 5).filter(g.b == True)  # noqa: E712
    assert ids(query, "id") == [3]


@pytest.mark.parametrize(
    ("name", "build", "expected"),
    _cases({}),
)
def test_filter_json_roundtrip_gives_the_same_sql_and_rows(
    store: Store, name: str, build: F, expected: list[int]
) -> None:
    original = build(store.items)
    restored = Filter.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored.to_dict() == original.to_dict()
    a, b = store.items.filter(original), store.items.filter(restored)
    assert a.to_string() == b.to_string()
    assert ids(b, "id") == expected


def test_quotes_in_literals_are_escaped_not_injected(store: Store) -> None:
    g = store.items
    for evil in ["x' OR '1'='1", "'; DROP TABLE items_v1; --", "\\'", "'"]:
        query = g.filter(g.s == evil)
        assert ids(query, "id") == []
        assert "'" + evil.replace("'", "''") + "'" in query.to_string()
    assert ids(g.filter(g.s.isin(["x') OR TRUE OR ('"])), "id") == []
    assert ids(g.filter(g.s.like("%' OR '1'='1")), "id") == []
    assert ids(g.filter(g.s != "x' OR '1'='1"), "id") == [1, 2, 3, 5]  # and nothing broke


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparing_with_none_points_to_isnull(store: Store, op: str) -> None:
    g = store.items
    compare = {
        "==": lambda r: r == None,  # noqa: E711
        "!=": lambda r: r != None,  # noqa: E711
        "<": lambda r: r < None,
        "<=": lambda r: r <= None,
        ">": lambda r: r > None,
        ">=": lambda r: r >= None,
    }[op]
    with pytest.raises(fti.FtiError, match=r"isnull"):
        g.filter(compare(g.i)).read()


def test_a_naive_time_in_a_filter_is_utc(store: Store) -> None:
    g = store.items
    for naive, aware in [
        (dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        (
            dt.datetime(2026, 1, 2, 3),
            dt.datetime(2026, 1, 2, 4, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ),
    ]:
        for build in (lambda v: g.t > v, lambda v: g.t <= v, lambda v: g.t.isin([v])):
            assert (
                g.filter(build(naive))
                .read(dataframe_type="arrow")
                .equals(g.filter(build(aware)).read(dataframe_type="arrow"))
            )


def test_python_boolean_operators_on_filters_are_a_clear_error(store: Store) -> None:
    g = store.items
    with pytest.raises(fti.FtiError, match=r"& \| ~"):
        g.filter((g.i > 1) and (g.i < 3))
    with pytest.raises(fti.FtiError, match=r"& \| ~"):
        g.filter((g.i > 1) or (g.i < 3))
    with pytest.raises(fti.FtiError, match=r"& \| ~"):
        g.filter(not (g.i > 1))
    with pytest.raises(fti.FtiError, match=r"& \| ~"):
        bool(g.i > 1)


def test_other_misuse_of_filters_is_a_clear_error(store: Store) -> None:
    g = store.items
    with pytest.raises(fti.FtiError, match="combine"):
        _ = (g.i > 1) & True
    with pytest.raises(fti.FtiError, match="two features"):
        _ = g.i > g.f
    with pytest.raises(fti.FtiError, match="feature expression"):
        g.filter(True)  # type: ignore[arg-type]
    with pytest.raises(fti.FtiError, match="feature expression"):
        g.select_all().filter(g.i)  # type: ignore[arg-type]
    with pytest.raises(fti.FtiError, match="cannot use"):
        g.filter(g.i == object()).read()


def test_filter_value_of_the_wrong_type_is_a_clear_error(store: Store) -> None:
    with pytest.raises(fti.FtiError, match="double"):
        store.items.filter(store.items.f == "x' OR 1=1 --").read()


def test_isin_with_a_bare_string_is_an_error(store: Store) -> None:
    with pytest.raises(fti.FtiError, match="isin\\(\\) takes a list of values, not 'apple'"):
        store.items.filter(store.items.s.isin("apple")).read()


def test_filter_on_a_group_not_in_the_query_is_a_clear_error(store: Store) -> None:
    query = store.tx.select_all().filter(store.card.spend > 100)
    with pytest.raises(fti.FtiError, match=r"card v1\.spend.*not in the query"):
        query.read()
    with pytest.raises(fti.FtiError, match="not in the query"):
        query.to_string()


def test_filter_on_a_group_joined_twice_is_ambiguous(store: Store) -> None:
    query = (
        store.tx.select(["tid"])
        .join(store.profile, prefix="a_")
        .join(store.profile, prefix="b_")
        .filter(store.profile.tier == "gold")
    )
    with pytest.raises(fti.FtiError, match="twice"):
        query.read()


# -- joins ---------------------------------------------------------------------------------------


def test_point_in_time_join_on_the_default_primary_key(store: Store) -> None:
    query = store.tx.select(["tid", "cc_num", "event_ts"]).join(
        store.card.select_all(), prefix="c_"
    )
    table = query.read(dataframe_type="arrow")
    assert table.column_names == ["tid", "cc_num", "event_ts", "c_event_ts", "c_spend"]
    assert table.column("c_spend").to_pylist() == [100.0, 110.0, 200.0, None, None]
    assert table.column("c_event_ts").to_pylist() == [ts(0), ts(10), ts(1), None, None]
    assert [n.kind for n in query.nodes()] == ["root", "point_in_time"]
    assert "ASOF LEFT JOIN" in query.to_string()


def test_explicit_on_equals_the_default(store: Store) -> None:
    card = store.card.select_except(["event_ts"])
    default = store.tx.select(["tid"]).join(card)
    explicit = store.tx.select(["tid"]).join(card, on=["cc_num"])
    assert default.to_string() == explicit.to_string()
    assert explicit.read(dataframe_type="arrow").equals(default.read(dataframe_type="arrow"))


def test_on_accepts_a_single_column_name(store: Store) -> None:
    card = store.card.select_except(["event_ts"])
    query = store.tx.select(["tid"]).join(card, on="cc_num")  # type: ignore[arg-type]
    assert query.read(dataframe_type="arrow").column("spend").to_pylist()[:3] == [
        100.0,
        110.0,
        200.0,
    ]


def test_left_on_right_on_with_different_names(store: Store) -> None:
    query = store.tx.select(["tid", "cc_num"]).join(
        store.holder, left_on=["cc_num"], right_on=["number"]
    )
    table = query.read(dataframe_type="arrow")
    assert table.column_names == ["tid", "cc_num", "holder"]  # the right key is not repeated
    assert table.column("holder").to_pylist() == ["Ann", "Ann", "Bob", None, "Bob"]
    assert [n.kind for n in query.nodes()] == ["root", "key"]


def test_composite_key_join(store: Store) -> None:
    query = store.tx.select(["tid"]).join(store.pair)  # on (cc_num, merchant_id)
    assert query.read(dataframe_type="arrow").column("visits").to_pylist() == [
        7,
        None,
        8,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"left_on": ["merchant_id"], "right_on": ["region_id"]}, fti.SchemaError, "primary key"),
        ({"on": ["event_ts"]}, fti.SchemaError, r"merchant's primary key \['merchant_id'\]"),
        ({"on": ["nope"]}, fti.SchemaError, r"unknown left join key.*nope"),
        ({"left_on": ["tid"], "right_on": ["nope"]}, fti.SchemaError, "unknown right join key"),
        ({"on": ["merchant_id"], "left_on": ["merchant_id"]}, fti.FtiError, "not both"),
        ({"left_on": ["merchant_id"]}, fti.FtiError, "same number"),
        ({"left_on": ["merchant_id", "tid"], "right_on": ["merchant_id"]}, fti.FtiError, "same"),
        ({"join_type": "outer"}, fti.FtiError, "join_type"),
        ({"join_type": "right"}, fti.FtiError, "join_type"),
        ({"max_feature_age": dt.timedelta(seconds=-1)}, fti.FtiError, "negative"),
    ],
    ids=[
        "keys-not-pk",
        "on-not-pk",
        "unknown-left",
        "unknown-right",
        "on-and-left_on",
        "left_on-alone",
        "length-mismatch",
        "outer",
        "right",
        "negative-age",
    ],
)
def test_bad_join_arguments_are_clear_errors(
    store: Store, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        store.tx.select_all().join(store.merchant.select(["category"]), **kwargs)


def test_join_on_part_of_a_composite_key_is_refused(store: Store) -> None:
    with pytest.raises(fti.SchemaError, match=r"pair's primary key \['cc_num', 'merchant_id'\]"):
        store.tx.select_all().join(store.pair, on=["cc_num"])


def test_inner_join_drops_unmatched_root_rows_left_keeps_them(store: Store) -> None:
    card = store.card.select_except(["event_ts"])
    inner = store.tx.select(["tid"]).join(card, join_type="inner").read(dataframe_type="arrow")
    left = store.tx.select(["tid"]).join(card, join_type="left").read(dataframe_type="arrow")
    # tid 4: card 30 does not exist; tid 5 (t=0): card 20's first row is at t=1.
    assert inner.to_pydict() == {"tid": [1, 2, 3], "spend": [100.0, 110.0, 200.0]}
    assert left.to_pydict() == {"tid": [1, 2, 3, 4, 5], "spend": [100.0, 110.0, 200.0, None, None]}
    key_inner = store.tx.select(["tid"]).join(store.profile, join_type="inner")
    assert key_inner.read(dataframe_type="arrow").to_pydict() == {
        "tid": [1, 2, 3, 5],
        "tier": ["gold", "gold", "silver", "silver"],
    }


def test_prefix_renames_every_joined_column(store: Store) -> None:
    query = store.tx.select_all().join(store.merchant, prefix="m_")
    table = query.read(dataframe_type="arrow")
    assert table.column_names == [
        "tid",
        "cc_num",
        "merchant_id",
        "event_ts",
        "amount",
        "m_event_ts",
        "m_category",
        "m_region_id",
    ]
    assert table.column("m_category").to_pylist() == ["food", "travel", "grocery", None, "travel"]


def test_ambiguous_columns_name_both_groups_and_the_remedies(store: Store) -> None:
    query = store.tx.select_all().join(store.card.select_all())
    with pytest.raises(fti.SchemaError, match="'event_ts'") as info:
        query.read()
    message = str(info.value)
    for part in ("tx v1", "card v1", "select_except", "prefix"):
        assert part in message
    with pytest.raises(fti.SchemaError, match="ambiguous"):
        query.to_string()
    with pytest.raises(fti.SchemaError, match="ambiguous"):
        query.output_columns  # noqa: B018
    # Both remedies work.
    assert "spend" in store.tx.select_all().join(store.card.select_except(["event_ts"])).read()
    assert "c_spend" in store.tx.select_all().join(store.card, prefix="c_").read()


def test_snowflake_join_reads_nested_groups_as_of_the_root_time(store: Store) -> None:
    merchant = store.merchant.select(["category"]).join(store.region.select(["tax"]))
    query = (
        store.tx.select(["tid", "merchant_id"])
        .join(merchant, on=["merchant_id"])
        .join(store.card.select(["spend"]))
    )
    table = query.read(dataframe_type="arrow")
    assert table.column_names == ["tid", "merchant_id", "category", "tax", "spend"]
    assert table.to_pydict() == {
        "tid": [1, 2, 3, 4, 5],
        "merchant_id": [100, 200, 100, 300, 200],
        "category": ["food", "travel", "grocery", None, "travel"],
        # region of the merchant at the root's time, read at the root's time
        "tax": [0.1, 0.15, 0.2, None, 0.1],
        "spend": [100.0, 110.0, 200.0, None, None],
    }
    nodes = query.nodes()
    assert [(n.group.name, n.kind) for n in nodes] == [
        ("tx", "root"),
        ("merchant", "point_in_time"),
        ("region", "point_in_time"),
        ("card", "point_in_time"),
    ]
    assert nodes[2].parent == nodes[1].alias


def test_snowflake_prefixes_accumulate(store: Store) -> None:
    merchant = store.merchant.select(["category"]).join(store.region.select(["tax"]), prefix="r_")
    query = store.tx.select(["tid"]).join(merchant, prefix="m_")
    table = query.read(dataframe_type="arrow")
    assert table.column_names == ["tid", "m_category", "m_r_tax"]
    assert table.column("m_r_tax").to_pylist() == [0.1, 0.15, 0.2, None, 0.1]


def test_joining_a_feature_group_equals_joining_its_select_all(store: Store) -> None:
    direct = store.tx.select(["tid"]).join(store.merchant, prefix="m_")
    via_query = store.tx.select(["tid"]).join(store.merchant.select_all(), prefix="m_")
    assert direct.to_string() == via_query.to_string()
    assert direct.read(dataframe_type="arrow").equals(via_query.read(dataframe_type="arrow"))


def test_group_without_event_time_is_a_key_join(store: Store) -> None:
    query = store.tx.select(["tid"]).join(store.profile)
    assert [n.kind for n in query.nodes()] == ["root", "key"]
    sql = query.to_string()
    assert "ASOF" not in sql and "LEFT JOIN" in sql
    assert query.read(dataframe_type="arrow").column("tier").to_pylist() == [
        "gold",
        "gold",
        "silver",
        None,
        "silver",
    ]


def test_root_without_event_time_takes_the_newest_row_per_key(store: Store) -> None:
    query = store.profile.select_all().join(store.card.select_all(), prefix="c_")
    assert [n.kind for n in query.nodes()] == ["root", "latest"]
    assert query.read(dataframe_type="arrow").to_pydict() == {
        "cc_num": [10, 20],
        "tier": ["gold", "silver"],
        "c_event_ts": [ts(20), ts(1)],  # card 10's newest row is at t=20
        "c_spend": [120.0, 200.0],
    }
    inner = store.holder.select_all().join(
        store.card.select(["spend"]), left_on=["number"], right_on=["cc_num"], join_type="inner"
    )
    assert inner.read(dataframe_type="arrow").to_pydict() == {
        "number": [10, 20],
        "holder": ["Ann", "Bob"],
        "spend": [120.0, 200.0],
    }


def test_max_feature_age_nulls_older_matches(store: Store) -> None:
    card = store.card.select_all()
    query = store.tx.select(["tid"]).join(
        card, prefix="c_", max_feature_age=dt.timedelta(seconds=5)
    )
    # ages: tid 1 5 s (kept, inclusive), tid 2 5 s (kept), tid 3 14 s (too old)
    assert query.read(dataframe_type="arrow").to_pydict() == {
        "tid": [1, 2, 3, 4, 5],
        "c_event_ts": [ts(0), ts(10), None, None, None],
        "c_spend": [100.0, 110.0, None, None, None],
    }
    tight = store.tx.select(["tid"]).join(
        card, prefix="c_", max_feature_age=dt.timedelta(seconds=4, microseconds=999_999)
    )
    assert tight.read(dataframe_type="arrow").column("c_spend").to_pylist() == [None] * 5
    zero = store.tx.select(["tid"]).join(
        store.merchant.select(["category"]), max_feature_age=dt.timedelta(0)
    )
    # only tid 5 (t=0) has a merchant row at exactly its time
    assert zero.read(dataframe_type="arrow").column("category").to_pylist() == [
        None,
        None,
        None,
        None,
        "travel",
    ]


def test_filter_sees_the_values_max_feature_age_returns(store: Store) -> None:
    query = store.tx.select(["tid"]).join(
        store.card.select(["spend"]), max_feature_age=dt.timedelta(seconds=5)
    )
    assert query.read(dataframe_type="arrow").column("spend").to_pylist() == [
        100.0,
        110.0,
        None,
        None,
        None,
    ]
    assert ids(query.filter(store.card.spend.isnull())) == [3, 4, 5]
    assert ids(query.filter(store.card.spend > 150)) == []


def test_filter_on_a_joined_groups_feature(store: Store) -> None:
    base = store.tx.select(["tid"]).join(store.card.select(["spend"]))
    assert ids(base.filter(store.card.spend > 105)) == [2, 3]
    assert ids(base.filter(store.card.spend.isnull())) == [4, 5]
    assert ids(base.filter((store.card.spend < 150) & (store.tx.amount > 1))) == [2]
    snowflake = store.tx.select(["tid"]).join(
        store.merchant.select(["category"]).join(store.region.select(["tax"]))
    )
    assert ids(snowflake.filter(store.region.tax >= 0.15)) == [2, 3]
    sql = base.filter(store.card.spend > 105).to_string()
    assert 'WHERE (t1."spend" > 105)' in sql


def test_filter_of_a_joined_query_is_not_silently_dropped(store: Store) -> None:
    query = store.tx.select(["tid"]).join(
        store.card.select(["spend"]).filter(store.card.spend > 150)
    )
    try:
        table = query.read(dataframe_type="arrow")
    except fti.FtiError:
        return  # refusing it is acceptable too
    assert all(s is not None and s > 150 for s in table.column("spend").to_pylist())


def test_joined_group_with_declared_schema_and_no_commit_gives_nulls(store: Store) -> None:
    query = store.tx.select(["tid"]).join(store.empty.select(["score"]))
    assert query.resolve_commits()["empty:1"] == -1
    assert query.read(dataframe_type="arrow").to_pydict() == {
        "tid": [1, 2, 3, 4, 5],
        "score": [None] * 5,
    }


# -- SQL, reading, batches, order ----------------------------------------------------------------


def test_to_string_shows_the_asof_join_and_the_where_clause(store: Store) -> None:
    query = (
        store.tx.select(["tid", "amount"])
        .join(store.card.select(["spend"]))
        .filter((store.tx.amount > 1.5) & (store.card.spend.isin([110.0, 200.0])))
    )
    sql = query.to_string()
    assert 'FROM "tx_v1" AS t0' in sql
    assert 'ASOF LEFT JOIN "card_v1" AS t1 ON t0."cc_num" = t1."cc_num"' in sql
    assert 't0."event_ts" >= t1."event_ts"' in sql
    assert 'WHERE ((t0."amount" > 1.5) AND (t1."spend" IN (110.0, 200.0)))' in sql
    assert sql.rstrip().endswith('ORDER BY t0."tid", t0."event_ts"')
    assert ids(query) == [2, 3]


@pytest.mark.parametrize(
    ("kind", "frame_type"),
    [
        ("pandas", pd.DataFrame),
        ("polars", pl.DataFrame),
        ("arrow", pa.Table),
        ("pyarrow", pa.Table),
    ],
)
def test_read_dataframe_types(store: Store, kind: str, frame_type: type) -> None:
    query = store.tx.select(["tid", "amount"]).join(store.profile)
    frame = query.read(dataframe_type=kind)
    assert isinstance(frame, frame_type)
    assert list(frame.columns if kind in ("pandas", "polars") else frame.column_names) == [
        "tid",
        "amount",
        "tier",
    ]
    as_arrow = pa.Table.from_pandas(frame, preserve_index=False) if kind == "pandas" else frame
    if kind == "polars":
        as_arrow = frame.to_arrow()
    assert as_arrow.column("tid").to_pylist() == [1, 2, 3, 4, 5]
    assert as_arrow.column("tier").to_pylist() == ["gold", "gold", "silver", None, "silver"]


def test_read_default_is_pandas_and_unknown_type_is_an_error(store: Store) -> None:
    assert isinstance(store.tx.select_all().read(), pd.DataFrame)
    with pytest.raises(fti.FtiError, match="dataframe_type"):
        store.tx.select_all().read(dataframe_type="spark")


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_read_batches_concatenate_to_to_arrow(store: Store, batch_size: int) -> None:
    query = store.tx.select_all().join(store.card, prefix="c_").join(store.profile)
    expected = query.to_arrow()
    batches = list(query.read_batches(batch_size))
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert all(b.num_rows <= batch_size for b in batches)
    assert sum(b.num_rows for b in batches) == 5
    assert len(batches) == -(-5 // batch_size)
    assert pa.Table.from_batches(batches, schema=expected.schema).equals(expected)


def test_same_query_read_twice_is_identical(store: Store) -> None:
    query = (
        store.tx.select_all()
        .join(store.card, prefix="c_")
        .join(store.merchant.select(["category"]).join(store.region.select(["tax"])))
        .join(store.profile)
    )
    first, second = query.to_arrow(), query.to_arrow()
    assert first.equals(second)
    assert query.read(dataframe_type="arrow").equals(first)


def test_parquet_scan_equals_reading_arrow_snapshots(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local snapshots are scanned from their Parquet files; the Arrow path gives the same."""
    query = (
        store.tx.select_all()
        .join(store.card, prefix="c_")
        .join(store.merchant.select(["category"]).join(store.region.select(["tax"])))
        .join(store.profile)
    )
    assert store.tx._snapshot_files(store.tx._latest_commit())  # the Parquet path is taken
    scanned = query.to_arrow()
    monkeypatch.setattr(fti.FeatureGroup, "_snapshot_files", lambda self, commit: None)
    assert query.to_arrow().equals(scanned)


def test_appended_feature_reads_as_typed_nulls_before_it_was_written(
    fs: fti.FeatureStore,
) -> None:
    root = fs.create_feature_group("root", primary_key=["k"], event_time="event_ts")
    root.insert(pa.table({"k": [1, 2], "event_ts": utc([10, 10])}))
    feat = fs.create_feature_group("feat", primary_key=["k"], event_time="event_ts")
    feat.insert(pa.table({"k": [1, 2], "event_ts": utc([0, 0]), "v": [1.0, 2.0]}))
    feat.append_features([fti.Feature("country", "string"), fti.Feature("n", "int32")])
    query = root.select_all().join(feat.select_except(["event_ts"]))
    before = query.to_arrow()  # no file has the new columns yet
    assert before.schema.field("country").type == pa.string()
    assert before.schema.field("n").type == pa.int32()
    assert before.column("country").to_pylist() == [None, None]
    feat.insert(
        pa.table(
            {
                "k": [2],
                "event_ts": utc([5]),
                "v": [3.0],
                "country": ["NL"],
                "n": pa.array([7], pa.int32()),
            }
        )
    )
    after = query.to_arrow()
    assert after.column("country").to_pylist() == [None, "NL"]
    assert after.column("n").to_pylist() == [None, 7]
    assert query.as_of({"feat:1": 1}).to_arrow().equals(before)


def test_row_order_is_by_root_key_and_time_whatever_the_insert_order(
    fs: fti.FeatureStore,
) -> None:
    g = fs.create_feature_group("events", primary_key=["k"], event_time="event_ts")
    rng = np.random.default_rng(7)
    rows = [(k, s) for k in range(6) for s in range(4)]
    order = rng.permutation(len(rows))
    for chunk in np.array_split(order, 4):  # several commits, appends and merges
        g.insert(
            pa.table(
                {
                    "k": pa.array([rows[i][0] for i in chunk], pa.int64()),
                    "event_ts": utc([rows[i][1] for i in chunk]),
                    "v": pa.array([rows[i][0] * 10 + rows[i][1] for i in chunk], pa.int64()),
                }
            )
        )
    query = g.select_all()
    first, second = query.to_arrow(), query.to_arrow()
    assert first.equals(second)
    assert first.column("v").to_pylist() == [k * 10 + s for k, s in sorted(rows)]
    assert list(
        zip(first.column("k").to_pylist(), first.column("event_ts").to_pylist(), strict=True)
    ) == [(k, ts(s)) for k, s in sorted(rows)]


# -- as_of pins ----------------------------------------------------------------------------------


def _counter(fs: fti.FeatureStore) -> tuple[fti.FeatureGroup, fti.FeatureGroup]:
    """Two groups with commits 0, 1, 2 each; ``v`` of key 1 is the commit number."""
    root = fs.create_feature_group("root", primary_key=["k"], event_time="event_ts")
    root.insert(pa.table({"k": pa.array([1], pa.int64()), "event_ts": utc([100])}))
    feat = fs.create_feature_group("feat", primary_key=["k"], event_time="event_ts")
    for commit in range(3):
        if commit:
            time.sleep(0.01)  # commit times have millisecond resolution
        feat.insert(
            pa.table(
                {
                    "k": pa.array([1], pa.int64()),
                    "event_ts": utc([0]),  # same key and time: an upsert
                    "v": pa.array([commit], pa.int64()),
                }
            )
        )
    return root, feat


def test_as_of_commit_id_pins_a_single_group(fs: fti.FeatureStore) -> None:
    _, feat = _counter(fs)
    query = feat.select(["k", "v"])
    assert [c.commit_id for c in feat.commit_details()] == [0, 1, 2]
    for commit in range(3):
        pinned = query.as_of(commit)
        assert pinned.resolve_commits() == {"feat:1": commit}
        assert pinned.read(dataframe_type="arrow").to_pydict() == {"k": [1], "v": [commit]}
    assert query.resolve_commits() == {"feat:1": 2}


def test_as_of_datetime_pins_each_group_to_its_commit_at_that_time(
    fs: fti.FeatureStore,
) -> None:
    root, feat = _counter(fs)
    times = [c.committed_at for c in feat.commit_details()]
    assert all(t.tzinfo is not None for t in times) and times == sorted(set(times))
    query = root.select_all().join(feat.select(["v"]))
    for commit, when in enumerate(times):
        pinned = query.as_of(when)
        assert pinned.resolve_commits() == {"root:1": 0, "feat:1": commit}
        assert pinned.read(dataframe_type="arrow").column("v").to_pylist() == [commit]
    between = times[0] + (times[1] - times[0]) / 2
    assert query.as_of(between).resolve_commits()["feat:1"] == 0
    in_kolkata = times[1].astimezone(ZoneInfo("Asia/Kolkata"))
    assert query.as_of(in_kolkata).resolve_commits()["feat:1"] == 1
    with pytest.raises(fti.CommitNotFound):
        query.as_of(times[0] - dt.timedelta(days=365))


def test_as_of_dict_pins_named_groups_and_leaves_the_rest_latest(
    fs: fti.FeatureStore,
) -> None:
    root, feat = _counter(fs)
    query = root.select_all().join(feat.select(["v"]))
    assert query.resolve_commits() == {"root:1": 0, "feat:1": 2}
    pinned = query.as_of({"feat:1": 1})
    assert pinned.resolve_commits() == {"root:1": 0, "feat:1": 1}
    assert pinned.read(dataframe_type="arrow").column("v").to_pylist() == [1]
    both = query.as_of({"root:1": 0, "feat:1": 0})
    assert both.read(dataframe_type="arrow").column("v").to_pylist() == [0]
    assert both.as_of(None).resolve_commits() == {"root:1": 0, "feat:1": 2}
    with pytest.raises(fti.CommitNotFound):
        query.as_of({"feat:1": 9}).read()


def test_pinned_query_ignores_later_inserts(fs: fti.FeatureStore) -> None:
    root, feat = _counter(fs)
    query = root.select_all().join(feat.select(["v"]))
    by_id = query.as_of({"root:1": 0, "feat:1": 1})
    by_time = query.as_of(feat.commit_details()[1].committed_at)
    before = by_id.to_arrow()
    assert before.column("v").to_pylist() == [1]
    assert by_time.to_arrow().equals(before)
    time.sleep(0.01)
    root.insert(pa.table({"k": pa.array([2], pa.int64()), "event_ts": utc([100])}))
    feat.insert(
        pa.table(
            {
                "k": pa.array([1, 2], pa.int64()),
                "event_ts": utc([0, 0]),
                "v": pa.array([99, 98], pa.int64()),
            }
        )
    )
    assert by_id.to_arrow().equals(before)
    assert by_time.to_arrow().equals(before)
    assert next(iter(by_id.read_batches(1))).to_pydict() == before.to_pydict()
    latest = query.read(dataframe_type="arrow")
    assert latest.to_pydict() == {"k": [1, 2], "event_ts": [ts(100), ts(100)], "v": [99, 98]}


def test_as_of_a_naive_datetime_is_utc(fs: fti.FeatureStore) -> None:
    _, feat = _counter(fs)
    later = dt.datetime(2030, 1, 1)
    assert (
        feat.select_all().as_of(later).pins
        == feat.select_all().as_of(later.replace(tzinfo=dt.UTC)).pins
        == feat.select_all().as_of("2030-01-01").pins
    )
    with pytest.raises(fti.FtiError, match="as_of 'later' is not a time fti can read"):
        feat.select_all().as_of("later")


def test_as_of_dict_with_an_unknown_group_is_an_error(fs: fti.FeatureStore) -> None:
    _, feat = _counter(fs)
    with pytest.raises(fti.FtiError, match="feet:1"):
        feat.select_all().as_of({"feet:1": 0}).read()


def test_as_of_missing_commit_names_the_group(fs: fti.FeatureStore) -> None:
    root, feat = _counter(fs)
    with pytest.raises(fti.CommitNotFound, match="root"):
        root.select_all().join(feat.select(["v"])).as_of(2)


# -- latest rows from the online store -------------------------------------------------------


def test_latest_rows_from_the_online_store_equal_the_offline_history(
    fs: fti.FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fti.featurestore.storage import Storage

    root = fs.create_feature_group(
        "root", primary_key=["k"], event_time="event_ts", online_enabled=True
    )
    feat = fs.create_feature_group(
        "feat", primary_key=["k"], event_time="event_ts", online_enabled=True
    )
    root.insert(pa.table({"k": [1, 1, 2, 3], "event_ts": utc([0, 9, 3, 4]), "r": [1, 2, 3, 4]}))
    feat.insert(pa.table({"k": [1, 2, 2], "event_ts": utc([5, 1, 8]), "v": [0.5, None, 2.5]}))
    feat.insert(pa.table({"k": [1, 2], "event_ts": utc([2, 8]), "v": [9.0, 7.5]}))  # late, tie
    query = root.select_all().join(feat.select(["v"]))
    monkeypatch.setattr(fs._storage, "settings", fti.Settings(online_scan_factor=10**12))
    offline = query.to_arrow(latest=True)
    assert offline.to_pydict() == {
        "k": [1, 2, 3],
        "event_ts": [ts(9), ts(3), ts(4)],
        "r": [2, 3, 4],
        "v": [0.5, 7.5, None],  # newest event wins; the tie went to the later commit
    }
    calls: list[str] = []
    read_online = Storage.read_online

    def spy(self: Storage, fg: fti.FeatureGroup) -> pa.Table:
        calls.append(fg.name)
        return read_online(self, fg)

    monkeypatch.setattr(Storage, "read_online", spy)
    monkeypatch.setattr(fs._storage, "settings", fti.Settings(online_scan_factor=0))
    assert query.to_arrow(latest=True).equals(offline)
    assert sorted(calls) == ["feat", "root"]
    # An online store behind the pinned commit is not used: the offline history is.
    calls.clear()
    assert query.as_of({"feat:1": 0}).to_arrow(latest=True).column("v").to_pylist() == [
        0.5,
        2.5,
        None,
    ]
    assert calls == ["root"]
