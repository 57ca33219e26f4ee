"""The public API is what ``fti.__all__`` says, and every name in it resolves."""

from __future__ import annotations

import fti


def test_all_names_resolve_once() -> None:
    assert len(set(fti.__all__)) == len(fti.__all__)
    for name in fti.__all__:
        assert getattr(fti, name) is not None, name


def test_contract_names_exist() -> None:
    expected = {
        "connect",
        "Project",
        "FeatureStore",
        "FeatureGroup",
        "Feature",
        "ExpectationSuite",
        "expect",
        "FtiError",
        "ValidationFailed",
        "udf",
        "builtins",
        "FeatureVectorNotFound",
        "Settings",
    }
    assert expected <= set(fti.__all__)


def test_every_error_is_an_fti_error() -> None:
    exported = [getattr(fti, n) for n in fti.__all__]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, Exception)]
    assert len(errors) > 10
    assert [e for e in errors if not issubclass(e, fti.FtiError | Warning)] == []
