"""The API description: readable without internet, and saying what the API really does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tender.app import create_app
from tender.platform import Platform


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def test_the_description_page_loads_nothing_from_outside(client: TestClient[Litestar]) -> None:
    page = client.get("/schema")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert any(url.endswith(".js") for url in assets)
    assert any(url.endswith(".css") for url in assets)
    for url in assets:
        assert not urlsplit(url).netloc, f"{url} is loaded from another host"
        served = client.get(url)
        assert served.status_code == 200, url
        assert served.content, url


@pytest.fixture
def description(client: TestClient[Litestar]) -> dict[str, Any]:
    answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200
    described: dict[str, Any] = answer.json()
    return described


def operations(description: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in description["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield method.upper(), path, operation


def test_public_routes_need_no_credentials_and_the_others_say_which(
    description: dict[str, Any],
) -> None:
    schemes = description["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "tender_session")
    assert (schemes["csrf"]["in"], schemes["csrf"]["name"]) == ("header", "X-CSRF-Token")
    security = {(method, path): op.get("security") for method, path, op in operations(description)}
    assert security[("GET", "/ocds/releases")] is None
    assert security[("POST", "/api/session")] is None
    assert security[("GET", "/api/tenders")] == [{"bearer": []}, {"session": []}]
    assert security[("POST", "/api/tenders")] == [{"bearer": []}, {"session": [], "csrf": []}]


def test_every_refusal_is_described_with_the_body_the_platform_sends(
    client: TestClient[Litestar], description: dict[str, Any]
) -> None:
    for method, path, operation in operations(description):
        assert "400" in operation["responses"], f"{method} {path}"
        assert "503" in operation["responses"], f"{method} {path}"
        if operation.get("security"):
            assert {"401", "403"} <= operation["responses"].keys(), f"{method} {path}"
    account = next(op for m, p, op in operations(description) if (m, p) == ("GET", "/api/account"))
    described = account["responses"]["401"]["content"]["application/json"]
    assert described["schema"] == {"$ref": "#/components/schemas/RefusalBody"}
    refusal_schema = description["components"]["schemas"]["RefusalBody"]

    refused = client.get("/api/account")

    assert refused.status_code == 401
    jsonschema.validate(refused.json(), refusal_schema)
    for example in described["examples"].values():
        jsonschema.validate(example["value"], refusal_schema)


def test_an_upload_is_described_as_raw_bytes(description: dict[str, Any]) -> None:
    upload = description["paths"]["/api/tenders/{tender_id}/bids/{file_name}"]["put"]
    body = upload["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/octet-stream"]["schema"]["format"] == "binary"


def _request_schemas(description: dict[str, Any]) -> set[str]:
    """The components that some operation takes in its JSON body, nested ones included."""
    components = description["components"]["schemas"]
    found: set[str] = set()
    waiting = [
        operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        for _, _, operation in operations(description)
    ]
    while waiting:
        node = waiting.pop()
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference and (name := reference.rsplit("/", 1)[-1]) not in found:
                found.add(name)
                waiting.append(components[name])
            waiting.extend(node.values())
        elif isinstance(node, list):
            waiting.extend(node)
    return found


def _strings(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The string schemas of a property, through arrays and nullable unions."""
    if schema.get("type") == "string":
        yield schema
    for key in ("oneOf", "anyOf"):
        for option in schema.get(key, ()):
            yield from _strings(option)
    if "items" in schema:
        yield from _strings(schema["items"])


def test_every_text_a_client_sends_has_its_length_bound_described(
    description: dict[str, Any],
) -> None:
    components = description["components"]["schemas"]
    unbounded = sorted(
        f"{name}.{field}"
        for name in _request_schemas(description)
        for field, schema in components[name].get("properties", {}).items()
        for string in _strings(schema)
        if not ({"maxLength", "enum", "format", "const"} & string.keys())
    )
    assert not unbounded, f"string fields with no maxLength in the description: {unbounded}"
