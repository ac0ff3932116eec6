"""Checks a release package against the official OCDS 1.1.5 schema and codelists (a copy in
tests/vectors/ocds), offline: the schemas' $refs to standard.open-contracting.org resolve to the
local files, and every closed codelist's values are looked up in its CSV."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

OCDS = Path(__file__).resolve().parents[1] / "vectors" / "ocds" / "1.1.5"


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OCDS / name).read_text())
    return loaded


@cache
def _validator() -> Draft4Validator:
    release = _load("release-schema.json")
    registry: Registry[Any] = Registry().with_resource(
        release["id"], Resource.from_contents(release, default_specification=DRAFT4)
    )
    return Draft4Validator(_load("release-package-schema.json"), registry=registry)


@cache
def _codes(codelist: str) -> frozenset[str]:
    with (OCDS / "codelists" / codelist).open(newline="") as rows:
        return frozenset(row["Code"] for row in csv.DictReader(rows))


def _codelist_errors(schema: dict[str, Any], data: Any, where: str) -> list[str]:
    errors: list[str] = []
    if "codelist" in schema and not schema.get("openCodelist", True):
        values = data if isinstance(data, list) else [data]
        codes = _codes(schema["codelist"])
        errors += [
            f"{where}: {value!r} is not in {schema['codelist']}"
            for value in values
            if value is not None and value not in codes
        ]
    if isinstance(data, dict):
        for key, value in data.items():
            if key in schema.get("properties", {}):
                errors += _codelist_errors(schema["properties"][key], value, f"{where}.{key}")
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(data):
            errors += _codelist_errors(schema["items"], item, f"{where}[{index}]")
    return errors


def ocds_problems(package: dict[str, Any]) -> list[str]:
    """What is wrong with ``package`` by the schema and the closed codelists (none: valid)."""
    problems = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _validator().iter_errors(package)
    ]
    release = _load("dereferenced-release-schema.json")
    for index, item in enumerate(package.get("releases", [])):
        problems += _codelist_errors(release, item, f"releases[{index}]")
    return problems
