"""What a feature-vector request may carry: serving keys, passed features, request parameters.

Each check is prepared once per plan; a request whose values all have the plain Python type
of their feature passes with one identity test per value, and a bad one gets an
:class:`fti.InvalidDataError` naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from fti.errors import InvalidDataError

_EMPTY: Mapping[str, Any] = {}
_BOOLS = (bool, np.bool_)


def _no_check(value: Any) -> None:
    """What a value without a recorded type is checked against: nothing."""


def _validator(name: str, typ: pa.DataType, what: str = "passed feature") -> Callable[[Any], None]:
    """A check that a passed value fits the feature's type (None always does)."""
    if pa.types.is_floating(typ):
        ok: tuple[type, ...] = (float, int, np.floating, np.integer)
    elif pa.types.is_integer(typ):
        ok = (int, np.integer)
    elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
        ok = (str,)
    elif pa.types.is_boolean(typ):
        ok = (bool, np.bool_)
    elif pa.types.is_timestamp(typ):
        ok = (dt.datetime,)
    elif pa.types.is_date(typ):
        ok = (dt.date,)
    else:
        return _no_check
    no_bool = not pa.types.is_boolean(typ)
    bits = typ.bit_width if pa.types.is_integer(typ) else 0
    signed = pa.types.is_signed_integer(typ)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    # the plain Python types of the common case, checked by identity (a bool is not an int here)
    exact = frozenset(t for t in ok if t in (float, int, str, bool)) | {type(None)}

    def check(value: Any) -> None:
        if type(value) not in exact and (
            not isinstance(value, ok) or (no_bool and isinstance(value, _BOOLS))
        ):
            raise InvalidDataError(
                f"{what} {name!r} must be a {typ} value, got {value!r} ({type(value).__name__})"
            )
        if bits and value is not None and not low <= value <= high:
            raise InvalidDataError(f"{what} {name!r} = {value} is out of the range of {typ}")

    return check


class RequestChecks:
    """The checks of one plan's requests; each returns the checked mapping."""

    def __init__(
        self,
        serving_keys: Sequence[str],
        base_schema: pa.Schema,
        required_passed: Sequence[str],
        parameter_types: Mapping[str, pa.DataType],
        request_parameters: Sequence[str],
        required_request_parameters: Sequence[str],
    ) -> None:
        self.serving_keys = list(serving_keys)
        self.key_set = set(serving_keys)
        self.base = base_schema.names
        self.validators = {f.name: _validator(f.name, f.type) for f in base_schema}
        self.required_passed = list(required_passed)
        self.request_parameters = list(request_parameters)
        self.required_request_parameters = list(required_request_parameters)
        self.param_validators = {
            n: _validator(n, parameter_types[n], "request parameter")
            if n in parameter_types
            else _no_check
            for n in request_parameters
        }

    def keys(self, keys: Any) -> Mapping[str, Any]:
        if type(keys) is dict and keys.keys() == self.key_set:
            return keys
        serving_keys = self.serving_keys
        if not isinstance(keys, Mapping):
            raise InvalidDataError(f"serving_keys must be a dict of {serving_keys}, got {keys!r}")
        if len(keys) != len(serving_keys) or any(k not in keys for k in serving_keys):
            unknown = [k for k in keys if k not in serving_keys]
            if unknown:
                raise InvalidDataError(
                    f"unknown serving key(s) {unknown}; the serving keys are {serving_keys}"
                )
            absent = [k for k in serving_keys if k not in keys]
            raise InvalidDataError(f"missing serving key(s) {absent}")
        return keys

    def passed(self, given: Any) -> Mapping[str, Any]:
        if not given and not self.required_passed:
            return _EMPTY
        passed: Mapping[str, Any] = given or {}
        if type(passed) is not dict and not isinstance(passed, Mapping):
            raise InvalidDataError(f"passed_features must be a dict, got {passed!r}")
        validators = self.validators
        for name, value in passed.items():
            check = validators.get(name)
            if check is None:
                raise InvalidDataError(
                    f"unknown passed feature {name!r}; the view's features are {self.base}"
                )
            check(value)
        absent = [n for n in self.required_passed if n not in passed]
        if absent:
            raise InvalidDataError(
                f"passed feature(s) {absent} are required: their feature groups are not online"
            )
        return passed

    def params(self, given: Any) -> Mapping[str, Any]:
        if not given and not self.required_request_parameters:
            return _EMPTY
        params: Mapping[str, Any] = given or {}
        if type(params) is not dict and not isinstance(params, Mapping):
            raise InvalidDataError(f"request_parameters must be a dict, got {params!r}")
        validators = self.param_validators
        for name, value in params.items():
            check = validators.get(name)
            if check is None:
                raise InvalidDataError(
                    f"unknown request parameter {name!r}; the on-demand transformations read "
                    f"{self.request_parameters}"
                )
            check(value)
        absent = [n for n in self.required_request_parameters if n not in params]
        if absent:
            raise InvalidDataError(f"missing request parameter(s) {absent}")
        return params
