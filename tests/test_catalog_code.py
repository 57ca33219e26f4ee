"""Code from the catalog is rebuilt in one place (fti._catalog_code): UDFs and predictors alike
are checked by sha256 and by the allow-list before they are compiled, inspectable afterwards."""

from __future__ import annotations

import inspect
import sys

import pytest

import fti
from fti import _catalog_code
from fti.serving import predictor
from fti.transform import UDF
from fti.trust import TrustedCode, UntrustedCode

SOURCE = """\
@fti.udf(float)
def doubled(x):
    return 2 * x
"""

# Running this source would leave a mark; the checks must refuse it before that.
MARKED = """\
import sys
sys.modules["fti"]._ran_untrusted = True
class Marked:
    pass
"""


def test_a_udf_is_rebuilt_from_its_source_and_stays_inspectable() -> None:
    rebuilt = _catalog_code.run(
        "transformation", "doubled", SOURCE, _catalog_code.sha256(SOURCE), {}, None
    )
    assert isinstance(rebuilt, UDF)
    assert rebuilt.fn(2.0) == 4.0
    assert inspect.getsource(rebuilt.fn) == SOURCE  # through linecache
    assert rebuilt.hash == _catalog_code.sha256(SOURCE)


def test_the_namespace_has_the_package_without_importing_it() -> None:
    source = "import sys\npackage = fti\n"
    got = _catalog_code.run("predictor", "package", source, _catalog_code.sha256(source), {})
    assert got is sys.modules["fti"] is fti


def test_a_corrupt_source_is_refused() -> None:
    with pytest.raises(fti.FtiError, match="stored source of transformation doubled is corrupt"):
        _catalog_code.run("transformation", "doubled", SOURCE, "0" * 64, {})


def test_code_off_the_allow_list_is_refused_before_it_runs() -> None:
    digest = _catalog_code.sha256(MARKED)
    trusted = TrustedCode(frozenset({"f" * 64}), "a test list")
    with pytest.raises(UntrustedCode, match=f"predictor 'Marked' sha256 {digest}"):
        _catalog_code.run("predictor", "Marked", MARKED, digest, {}, trusted)
    assert not hasattr(fti, "_ran_untrusted")
    with pytest.raises(UntrustedCode):
        predictor.build({"name": "Marked", "source": MARKED, "sha256": digest}, trusted)
    assert not hasattr(fti, "_ran_untrusted")
    reference = {"name": "doubled", "inputs": ["x"], "outputs": ["doubled"]}
    with pytest.raises(UntrustedCode, match="transformation 'doubled'"):
        UDF.from_dict(
            {**reference, "source": SOURCE, "hash": _catalog_code.sha256(SOURCE)}, trusted
        )
    listed = TrustedCode(frozenset({_catalog_code.sha256(SOURCE)}), "a test list")
    udf = UDF.from_dict(
        {**reference, "source": SOURCE, "hash": _catalog_code.sha256(SOURCE)}, listed
    )
    assert udf.name == "doubled"


def test_source_that_fails_or_defines_something_else_is_an_fti_error() -> None:
    broken = "def f(:\n"
    with pytest.raises(fti.FtiError, match="cannot rebuild predictor f"):
        _catalog_code.run("predictor", "f", broken, _catalog_code.sha256(broken), {})
    other = "x = 1\n"
    with pytest.raises(fti.FtiError, match="does not define y"):
        _catalog_code.run("predictor", "y", other, _catalog_code.sha256(other), {})
    with pytest.raises(fti.FtiError, match="does not define class x"):
        predictor.build({"name": "x", "source": other, "sha256": _catalog_code.sha256(other)})
