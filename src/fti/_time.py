"""Points in time from what feature-store code passes for one: the one parser of time bounds
(``start_time``, ``end_time``, ``as_of`` times, filter values).

A time without a zone is UTC, as in Hopsworks and Spark; every result is an aware UTC
``datetime``. Accepted: a ``datetime`` (pandas ``Timestamp`` included), a ``date`` (its
midnight), a NumPy ``datetime64``, an integer of epoch seconds (up to 10 digits) or
milliseconds (more), as Hopsworks reads one, and strings: ISO 8601 (``"2022-01-01"``,
``"2022-01-01 10:30:00"``, ``"2022-01-01T10:30:00+02:00"``, ``"...Z"``), the same with
slashes (``"2022/01/01"``), and
the compact forms ``YYYYMMDD``, ``YYYYMMDDHH``, ``YYYYMMDDHHMM``, ``YYYYMMDDHHMMSS`` and
``YYYYMMDDHHMMSSfff`` (milliseconds).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fti.errors import FtiError

_COMPACT = {
    8: "%Y%m%d",
    10: "%Y%m%d%H",
    12: "%Y%m%d%H%M",
    14: "%Y%m%d%H%M%S",
    17: "%Y%m%d%H%M%S%f",
}
_SEPARATORS = re.compile(r"[-/ :.T]")
_FORMS = (
    '"2022-01-01", "2022/01/01", "2022-01-01 10:30:00", "2022-01-01T10:30:00Z", "20220101", '
    '"20220101103000", epoch seconds or ms, or a datetime'
)


def utc(value: Any, what: str = "time") -> dt.datetime:
    """``value`` as an aware UTC datetime (naive means UTC); :class:`FtiError` naming
    ``what`` and the accepted forms for anything else."""
    if isinstance(value, bool):
        raise FtiError(f"{what} must be a point in time ({_FORMS}), got {value!r}")
    if type(value).__module__ == "numpy" and hasattr(value, "astype"):  # numpy.datetime64
        value = value.astype("datetime64[us]").item()
        if not isinstance(value, dt.datetime):
            raise FtiError(f"{what} {value!r} is not a point in time ({_FORMS})")
    if isinstance(value, dt.datetime):
        when: dt.datetime = value
        if hasattr(value, "to_pydatetime"):  # pandas: nanoseconds go, fti keeps microseconds
            when = value.to_pydatetime(warn=False)
        if when.tzinfo is None:
            return when.replace(tzinfo=dt.UTC)
        try:
            return when.astimezone(dt.UTC)
        except OverflowError:  # e.g. 0001-01-01 east of UTC
            raise FtiError(f"{what} {value!r} is out of range in UTC") from None
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, int):
        seconds = abs(value) < 10**10  # Hopsworks: up to 10 digits are epoch seconds
        try:
            return dt.datetime.fromtimestamp(value if seconds else value / 1000, dt.UTC)
        except (OverflowError, OSError, ValueError):
            unit = "seconds" if seconds else "milliseconds"
            raise FtiError(f"{what} {value} (epoch {unit}) is out of range") from None
    if isinstance(value, str):
        return _parse(value.strip(), what)
    raise FtiError(f"{what} must be a point in time ({_FORMS}), got {type(value).__name__}")


def _parse(text: str, what: str) -> dt.datetime:
    if not text.isdigit():  # digits alone are the compact forms (ISO's basic ones misread them)
        try:
            return utc(dt.datetime.fromisoformat(text.replace("/", "-")))
        except ValueError:
            pass
    compact = _SEPARATORS.sub("", text)
    form = _COMPACT.get(len(compact)) if compact.isdigit() else None
    if form is not None:
        try:
            return dt.datetime.strptime(compact, form).replace(tzinfo=dt.UTC)
        except ValueError:
            pass
    raise FtiError(f"{what} {text!r} is not a time fti can read: use {_FORMS}")
