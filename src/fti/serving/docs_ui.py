"""``/docs``: Swagger UI from files shipped in the package, not from a CDN.

A server in a network without internet access (or a user offline) still gets a working page;
FastAPI's own docs route would load the script and stylesheet from jsDelivr. The vendored
files and their version and license are in ``static/`` (see its README).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_PREFIX = "/docs/assets"


def add_docs(app: FastAPI) -> None:
    """``GET /docs`` and its assets under ``/docs/assets/`` (create the app with
    ``docs_url=None, redoc_url=None``: ReDoc would load its script from a CDN too)."""

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")  # behind a proxy's prefix
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_PREFIX}/favicon-32x32.png",
            # no badge fetched from the online validator
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(_PREFIX + "/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        media_type = ASSETS.get(name)  # only these names: nothing else of the package
        if media_type is None:
            return JSONResponse({"error": "NotFound", "detail": f"no asset {name!r}"}, 404)
        return FileResponse(
            STATIC / name, media_type=media_type, headers={"Cache-Control": "max-age=86400"}
        )
