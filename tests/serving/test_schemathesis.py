"""Schemathesis against the server's OpenAPI description: whatever a client sends, the
server answers without a server error (5xx): generated valid requests (positive) and
requests that break the schema (negative) for every operation."""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

import fti
from fti.serving.server import create_app
from tests.serving.test_deployment import deployed


def test_no_server_errors(project: fti.Project) -> None:
    deployed(project)
    app = create_app(project)
    checked = []
    with TestClient(app):  # runs the lifespan: the deployments are started
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation, mode in itertools.product(operations, list(GenerationMode)):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=40,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def no_5xx(case: Any) -> None:
                response = case.call()
                assert response.status_code < 500, (case.path, case.body, response.text)

            try:
                no_5xx()
            except Unsatisfiable:  # nothing to break in an operation without inputs
                assert mode is GenerationMode.NEGATIVE
                continue
            checked.append(f"{operation.method.upper()} {operation.path}")  # valid and not
    assert "POST /v1/deployments/fraud/predict" in checked
    assert "POST /v2/models/{name}/infer" in checked
