"""An unreachable catalog is one fti error naming it and what was and was not written."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import fti
from fti.catalog import Catalog
from tests.featurestore.helpers import cards


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket is closed


def test_an_unreachable_postgresql_catalog_is_one_error_naming_it() -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql://fti:secret@127.0.0.1:{_closed_port()}/team"
    with pytest.raises(fti.BackendUnavailable) as failed:
        Catalog(url)
    message = str(failed.value)
    assert "catalog database at postgresql+psycopg://fti:***@127.0.0.1:" in message
    assert "secret" not in message
    assert "did not happen" in message
    assert "\n" not in message


def test_a_catalog_lost_after_the_offline_commit_says_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fti.connect(tmp_path / "home") as project:
        fg = project.get_feature_store().create_feature_group(
            "cards", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
        )
        fg.insert(cards([1], [0], [1.0]))

        def unreachable(*args: object, **kwargs: object) -> None:
            raise fti.BackendUnavailable("the catalog database at postgresql://db is unreachable")

        monkeypatch.setattr(Catalog, "record_commit", unreachable)
        with pytest.raises(fti.BackendUnavailable, match=r"offline commit 1 was written, but"):
            fg.insert(cards([2], [0], [2.0]))
        monkeypatch.undo()
        assert fg.read(dataframe_type="arrow").num_rows == 2
        fg.insert(cards([3], [0], [3.0]))  # the next insert brings the online store up to date
        assert fg.read(online=True, dataframe_type="arrow").num_rows == 3
