"""The operator's account commands: ``tender orgs add``, ``tender users add`` and ``tender
users token``, on a running platform's database; what they print works at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tender.app import create_app
from tender.cli import main
from tender.clock import ManualClock, format_time
from tender.platform import Platform
from tests.conftest import People


@pytest.fixture
def client(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient[Litestar]]:
    """The app of ``platform``, whose database the commands use."""
    monkeypatch.setenv("TENDER_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("TENDER_DATABASE_URL", platform.settings.effective_database_url)
    with TestClient(create_app(platform)) as client:
        yield client


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_the_first_admin_is_made_on_the_command_line_and_their_token_works(
    client: TestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        *("orgs", "add", "--kind", "platform", "--name-en", "Platform Operator"),
        *("--name-zh", "平台營運者", "--json"),
    )
    assert code == 0
    org = json.loads(out)
    assert org["kind"] == "platform"

    code, out, _ = _run(
        capsys,
        *("users", "add", "--org", "Platform Operator", "--role", "admin", "--name", "Ada"),
        *("--email", "ada@platform.example", "--json"),
    )
    assert code == 0
    added = json.loads(out)
    bearer = {"Authorization": f"Bearer {added['token']}"}
    me = client.get("/api/account", headers=bearer).json()
    assert (me["name"], me["role"], me["organisation_id"]) == ("Ada", "admin", org["id"])

    code, out, _ = _run(capsys, "users", "token", "--email", "ADA@platform.example")
    assert code == 0
    assert "New API token for Ada (shown only now)" in out
    fresh = {"Authorization": f"Bearer {out.split()[-1]}"}
    assert client.get("/api/account", headers=fresh).json()["name"] == "Ada"
    tokens = client.get("/api/account/tokens", headers=fresh).json()
    assert [t["second_factor"] for t in tokens] == [True, True]  # made by the operator


def test_a_user_with_an_email_sets_a_password_with_the_token_and_signs_in(
    client: TestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(
        capsys,
        *("users", "add", "--org", "Sigma Ltd", "--role", "supplier", "--name", "Sam"),
        *("--email", "sam@sigma.example", "--language", "zh-Hant-HK"),
    )
    bearer = {"Authorization": f"Bearer {out.split()[-1]}"}

    short = client.put("/api/account/password", json={"password": "short"}, headers=bearer)
    assert short.status_code == 422
    long_enough = {"password": "a long passphrase of words"}
    assert client.put("/api/account/password", json=long_enough, headers=bearer).is_success

    signed_in = client.post(
        "/api/session", json={"email": "sam@sigma.example", "password": long_enough["password"]}
    )
    assert signed_in.status_code == 201
    assert signed_in.json()["account"]["language"] == "zh-Hant-HK"


def test_an_organisation_registered_twice_is_refused_in_words(
    client: TestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        code, _, err = _run(
            capsys, "orgs", "add", "--kind", "supplier", "--name-en", "Alpha Ltd", "--br", "123"
        )
    assert code == 2
    assert "already registered" in err


def test_an_auditor_appointed_to_named_organisations_reads_only_their_drafts(
    client: TestClient[Litestar],
    capsys: pytest.CaptureFixture[str],
    people: People,
    clock: ManualClock,
) -> None:
    officer = {"Authorization": f"Bearer {people.tokens['Olivia']}"}
    deadline = format_time(clock.now() + timedelta(days=3))
    draft = client.post(
        "/api/tenders",
        json={"reference": "T-5", "title": "Drains", "deadline": deadline, "opening": "automatic"},
        headers=officer,
    )
    assert draft.status_code == 201, draft.text

    def drafts_seen_by(covers: str) -> list[str]:
        _, out, _ = _run(
            capsys,
            *("users", "add", "--org", "Audit Office", "--role", "auditor", "--name", "A"),
            *("--covers", covers, "--json"),
        )
        auditor = {"Authorization": f"Bearer {json.loads(out)['token']}"}
        return [t["reference"] for t in client.get("/api/tenders", headers=auditor).json()]

    assert drafts_seen_by("Procuring Entity") == ["T-5"]
    assert drafts_seen_by("Beta Ltd") == []
    code, _, err = _run(
        capsys,
        "users",
        "add",
        "--org",
        "X",
        "--role",
        "auditor",
        "--name",
        "B",
        "--covers",
        "Nobody Ltd",
    )
    assert code == 2
    assert "no organisation 'Nobody Ltd'" in err
