"""The ``tender`` command tree: every command has --help, data comes as --json on request,
and what goes wrong is a sentence that says what to do, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tender.cli import audit_commands, build_parser, main
from tender.verifier.chain import GENESIS_HASH
from tests.verifier.chains import exported_lines, jsonl


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder with no platform in it, and no TENDER_* settings."""
    for name in list(os.environ):
        if name.startswith("TENDER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = list(_commands(build_parser()))
    assert {("sign",), ("verify",), ("audit", "verify"), ("receipt", "verify"), ("up",)} <= set(
        commands
    )
    for command in commands:
        with pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        assert done.value.code == 0, command
        assert "usage: tender" in capsys.readouterr().out


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_signing_without_a_terminal_asks_for_a_password_file(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (elsewhere / "bid.csv").write_text("a,b\n")
    (elsewhere / "key.p12").write_bytes(b"not read before the password")

    code, _, err = _run(capsys, "sign", "bid.csv", "--p12", "key.p12")

    assert code == 2
    assert "no terminal to ask for the password" in err
    assert "--password-file" in err


def test_a_missing_receipt_is_named(elsewhere: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (elsewhere / "platform.pub").write_text("origin+00000000+AQ==\n")

    code, _, err = _run(capsys, "receipt", "verify", "nope.json", "--key", "platform.pub")

    assert code == 2
    assert "cannot read the receipt nope.json" in err


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "verify"),
        ("audit", "public-key"),
        ("users", "add", "--name", "N", "--org", "O", "--role", "officer"),
        ("audit", "export", "--out", "x.jsonl"),
    ],
)
def test_in_a_folder_without_a_platform_nothing_is_created(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    code, _, err = _run(capsys, *command)

    assert code == 2
    assert "there is no platform here" in err
    assert "TENDER_DATA_DIR" in err
    assert list(elsewhere.iterdir()) == []  # no database, no key, no var/


def test_results_come_as_json_on_request(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = elsewhere / "trail.jsonl"
    export.write_bytes(jsonl(exported_lines(3)))
    (elsewhere / "platform.pub").write_text("origin+00000000+AQ==\n")
    (elsewhere / "receipt.jws").write_text("a.b.c\n")

    chain_code, chain, _ = _run(capsys, "audit", "verify", "--file", str(export), "--json")
    receipt_code, receipt, _ = _run(
        capsys, "receipt", "verify", "receipt.jws", "--key", "platform.pub", "--json"
    )

    assert chain_code == 0
    assert json.loads(chain)["ok"] is True
    assert json.loads(chain)["events"] == 3
    assert receipt_code == 1
    assert json.loads(receipt)["holds"] is False
    assert json.loads(receipt)["checks"][0]["name"] == "platform key"


def test_a_line_that_is_not_an_event_is_named_not_a_traceback(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = elsewhere / "trail.jsonl"
    export.write_text(json.dumps({"seq": 1, "prev_hash": GENESIS_HASH}) + "\n")  # half an event

    code, out, err = _run(capsys, "audit", "verify", "--file", str(export))

    assert code == 1
    assert err == ""
    assert out.startswith("FAILED at event 1: line 1 is not the canonical JSON of an event")


def test_an_unexpected_failure_is_one_sentence(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    export = elsewhere / "trail.jsonl"
    export.write_bytes(jsonl(exported_lines(1)))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(audit_commands, "verify_chain_file", broken)
    code, _, err = _run(capsys, "audit", "verify", "--file", str(export))

    assert code == 1
    assert err.count("\n") == 1
    assert "TENDER_DEBUG=1" in err


def test_help_and_errors_are_in_the_language_chosen(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (elsewhere / "bid.csv").write_text("a,b\n")
    (elsewhere / "key.p12").write_bytes(b"not read before the password")

    with pytest.raises(SystemExit):
        main(["--lang", "zh-HK", "submit", "--help"])
    chinese_help = capsys.readouterr().out
    code, _, chinese_error = _run(capsys, "--lang", "zh-HK", "sign", "bid.csv", "--p12", "key.p12")
    with pytest.raises(SystemExit):
        main(["submit", "--help"])
    english_help = capsys.readouterr().out

    assert "將 FILE 上載至編號為 REF 的投標" in chinese_help
    assert "標書檔案" in chinese_help
    assert code == 2
    assert "沒有可詢問key.p12 的密碼的終端機" in chinese_error  # the prompt's words too
    assert "--password-file" in chinese_error
    assert "Upload FILE to the tender with reference REF" in english_help
