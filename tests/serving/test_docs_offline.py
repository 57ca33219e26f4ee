"""``/docs`` works without internet: the Swagger UI page refers to no other host, and its
script, stylesheet and icon are served from files shipped in the package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import fti
from fti.serving import server
from fti.serving.server import create_app

STATIC = Path(server.__file__).parent / "static"


@pytest.fixture
def client(project: fti.Project) -> Iterator[TestClient]:
    with TestClient(create_app(project, allow_empty=True)) as test_client:
        yield test_client


def test_docs_refer_to_no_other_host_and_their_assets_are_served(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assert not re.search(r"(https?:)?//[\w.-]+\.\w", page.text), page.text
    assets = re.findall(r"""(?:href|src|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    served = {}
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        served[url.rsplit("/", 1)[-1]] = response
    assert set(served) >= {"swagger-ui-bundle.js", "swagger-ui.css", "openapi.json"}
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert served[name].content == (STATIC / name).read_bytes()
    assert served["swagger-ui-bundle.js"].headers["content-type"].startswith("text/javascript")
    assert served["swagger-ui.css"].headers["content-type"].startswith("text/css")


def test_only_the_vendored_assets_are_served(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404  # it would load its script from a CDN
    assert client.get("/docs/assets/README.md").status_code == 404
    assert client.get("/docs/assets/..%2Fserver.py").status_code == 404


def test_the_assets_are_package_data() -> None:
    import tomllib

    pyproject = Path(server.__file__).parents[3] / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["fti"]
    assert "serving/static/*" in data
    notice = (STATIC / "README.md").read_text()
    assert "swagger-ui-dist" in notice and "Apache-2.0" in notice
