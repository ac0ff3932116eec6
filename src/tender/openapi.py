"""The API description at ``/schema``: its pages and what it says beyond what Litestar derives.

The Swagger UI page and every file it loads are served by the platform itself (from the
``swagger-ui-py`` package's copy of Swagger UI), so the description can be read on a network
with no internet.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

SCHEMA_PATH: Final = "/schema"
UI_FILES_PATH: Final = "/swagger-ui"
"""Where, under :data:`SCHEMA_PATH`, Swagger UI's own files are served."""


def swagger_ui_files() -> Path:
    """The folder of Swagger UI's files in the installed ``swagger-ui-py`` package (found
    without importing the package, which would pull in its framework adapters)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The swagger-ui-py package is not installed; reinstall the platform.")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class LocalSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI, with its scripts, stylesheet and icon served from the platform."""

    def __init__(self) -> None:
        files = f"{SCHEMA_PATH}{UI_FILES_PATH}"
        super().__init__(
            js_url=f"{files}/swagger-ui-bundle.js",
            css_url=f"{files}/swagger-ui.css",
            standalone_preset_js_url=f"{files}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{files}/favicon-32x32.png'>",
            path="/swagger",
        )

    def receive_router(self, router: Router) -> None:
        router.register(
            create_static_files_router(
                path=UI_FILES_PATH,
                directories=[swagger_ui_files()],
                include_in_schema=False,
            )
        )


def openapi_config() -> OpenAPIConfig:
    """The description's settings: Swagger UI at ``/schema`` (and ``/schema/swagger``), the
    JSON at ``/schema/openapi.json``."""
    return OpenAPIConfig(
        title="Tender",
        version="0.1.0",
        description="Signed bids, sealed on arrival, opened at the deadline, audited.",
        path=SCHEMA_PATH,
        render_plugins=[LocalSwaggerUI()],
    )
