"""schemathesis over the API description, against the served platform (SQLite, the real
SeaweedFS): every operation, valid and invalid requests, all of schemathesis' checks.

Each operation is called as a role its rule admits (an officer where officers may, else a
supplier, an auditor, an administrator), so that requests get past the guards to the services;
public ones without credentials. A few examples per operation keep the run short.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from litestar.routes import HTTPRoute
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tender.accounts.guards import rule_of
from tender.accounts.models import Role
from tender.accounts.service import AccountService
from tender.app import create_app
from tender.config import Settings
from tender.openapi import SCHEMA_PATH
from tender.platform import Platform
from tender.runtime import serving

EXAMPLES_PER_OPERATION = 8
ROLES_BY_PREFERENCE = (Role.OFFICER, Role.SUPPLIER, Role.AUDITOR, Role.ADMIN)
CONFIG = schemathesis.Config.from_str(
    # A request of the described form may still be refused for what it says: 409 (not in
    # this state: a random tender is not open) or 422 (a random signature does not verify).
    # 400 stays unexpected: it says the platform could not read what its description allows.
    # A request longer than its described bounds may be refused as too large (413) before
    # any field is read.
    """
    [checks.positive_data_acceptance]
    expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

    [checks.negative_data_rejection]
    expected-statuses = [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"
    ]
    """
)


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """SQLite only: the run is about the API, not the database."""
    return sqlite_database_url


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No rate limit: the run sends hundreds of requests from one address in a minute."""
    return dataclasses.replace(settings, rate_limit_per_minute=0)


@pytest.fixture
def url(platform: Platform) -> Iterator[str]:
    with serving(platform) as base:
        yield base


def tokens_by_role(platform: Platform) -> dict[Role, str]:
    with platform.sessions.begin() as session:
        accounts = AccountService(session=session, clock=platform.clock)
        return {
            role: accounts.create_user(name=role.value, organisation=role.value, role=role)[1]
            for role in Role
        }


def caller_of(platform: Platform) -> dict[tuple[str, str], Role | None]:
    """For each operation ("GET", "/api/tenders/{tender_id}"): the role to call it as, None
    for a public one."""
    callers: dict[tuple[str, str], Role | None] = {}
    for route in create_app(platform).routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            roles = rule_of(handler)
            if roles == frozenset():  # Litestar's OPTIONS, the description's own pages
                continue
            callers[(method, route.path_format)] = (
                None if roles is None else next(r for r in ROLES_BY_PREFERENCE if r in roles)
            )
    return callers


@pytest.mark.timeout(600)  # about 90 s alone; more on a machine busy with the rest of the suite
def test_the_api_keeps_to_its_description(platform: Platform, url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{url}{SCHEMA_PATH}/openapi.json", config=CONFIG)
    tokens, callers = tokens_by_role(platform), caller_of(platform)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"not a valid operation: {result.err()}")
            continue
        operation = result.ok()
        role = callers[(operation.method.upper(), operation.path)]
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += run(operation, mode, base_url=url, headers=headers)
    assert not failures, "\n\n".join(failures)


def run(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    *,
    base_url: str,
    headers: dict[str, str],
) -> list[str]:
    """What schemathesis found wrong with ``operation`` in a few requests of ``mode``."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def call(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(base_url=base_url, headers=headers)

    try:
        call()
    except hypothesis.errors.Unsatisfiable:
        # Negative mode on an operation that takes nothing: no invalid request can be made.
        assert mode is GenerationMode.NEGATIVE, operation.label
    except (AssertionError, BaseExceptionGroup) as failure:  # schemathesis' failures
        return [f"{operation.label} ({mode.value}): {failure}"]
    return []
