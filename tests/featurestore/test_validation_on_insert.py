"""Expectation suites on feature groups: strict writes nothing, warn writes and reports."""

from __future__ import annotations

import pytest

import fti
from fti import expect
from tests.featurestore.helpers import cards


def suite(policy: str) -> fti.ExpectationSuite:
    return fti.ExpectationSuite(
        name="spend_checks",
        expectations=[expect.not_null("spend"), expect.between("spend", min=0, max=100)],
        policy=policy,
    )


def test_strict_suite_rejects_and_writes_nothing(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "cards",
        primary_key=["cc_num"],
        event_time="event_ts",
        online_enabled=True,
        expectation_suite=suite("strict"),
    )
    fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
    message = r"(?s)nothing was written.*between\(spend, 0..100\) failed on 1 of 3 rows: row 1"
    with pytest.raises(fti.ValidationFailed, match=message) as info:
        fg.insert(cards([3, 4, 5], [0, 0, 0], [5.0, 500.0, 7.0]))
    report = info.value.report
    failed = [r for r in report.results if not r.success]
    assert len(failed) == 1 and list(failed[0].failed_rows) == [1]
    assert list(failed[0].failed_values) == [500.0]
    # nothing written, offline or online
    assert len(fg.commit_details()) == 1
    assert fg.read(dataframe_type="arrow").num_rows == 2
    assert fg.read(online=True, dataframe_type="arrow").num_rows == 2
    reports = fg.validation_reports()
    assert [(r.commit_id, r.ingestion, r.success) for r in reports] == [
        (0, "INGESTED", True),
        (None, "REJECTED", False),
    ]
    assert reports[1].content["results"][1]["failed_rows"] == [1]


def test_warn_suite_inserts_and_keeps_the_report(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "cards", primary_key=["cc_num"], event_time="event_ts", expectation_suite=suite("warn")
    )
    result = fg.insert(cards([1, 2], [0, 0], [None, 2.0]))
    assert result is not None and result.validation_report is not None
    assert result.validation_report.success is False
    assert fg.read(dataframe_type="arrow").num_rows == 2
    (stored,) = fg.validation_reports()
    assert (stored.commit_id, stored.success, stored.ingestion) == (0, False, "INGESTED")
    assert stored.content["results"][0]["failed_rows"] == [0]


def test_suite_survives_a_new_process(fs: fti.FeatureStore, project: fti.Project) -> None:
    fs.create_feature_group("cards", primary_key=["cc_num"], expectation_suite=suite("strict"))
    with fti.connect(project.home) as again:
        fg = again.get_feature_store().get_feature_group("cards")
        assert fg.expectation_suite is not None
        assert fg.expectation_suite.to_dict() == suite("strict").to_dict()
