"""Every message, in both languages, says what happened and what to do next, in the words
Hong Kong uses."""

# Chinese is written with full-width punctuation, which RUF001 takes for look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tender.notifications.messages import (
    ENGLISH,
    HONG_KONG_CHINESE,
    LANGUAGES,
    MessageKind,
    language_of,
    render,
    required_params,
)

DEADLINE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 18:00 in Hong Kong


MOMENTS = {"deadline", "expires_at", "received_at", "opened_at", "files_until"}


def params_for(kind: MessageKind) -> dict[str, object]:
    return {name: DEADLINE if name in MOMENTS else name for name in required_params(kind)}


@pytest.mark.parametrize("kind", list(MessageKind))
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_message_says_what_to_do_next_in_each_language(
    kind: MessageKind, language: str
) -> None:
    rendered = render(kind, language, params_for(kind))

    next_step = "What to do next:" if language == ENGLISH else "下一步："
    assert next_step in rendered.body
    assert rendered.subject
    assert "{" not in rendered.subject + rendered.body  # every placeholder filled


SUBMITTING_IS_THE_NEXT_STEP = {
    MessageKind.RECEIPT_ISSUED,
    MessageKind.FINGERPRINT_RECEIVED,
    MessageKind.ADDENDUM_PUBLISHED,
    MessageKind.CLARIFICATION_ANSWERED,
    MessageKind.DEADLINE_APPROACHING,
}


@pytest.mark.parametrize("kind", list(MessageKind))
def test_hong_kong_chinese_uses_hong_kong_government_vocabulary(kind: MessageKind) -> None:
    rendered = render(kind, HONG_KONG_CHINESE, params_for(kind))
    text = rendered.subject + rendered.body

    for word in ("送件", "憑證", "數位簽章", "數位"):
        assert word not in text
    if kind in SUBMITTING_IS_THE_NEXT_STEP:
        assert "遞交" in text or "提交" in text


def test_the_reminder_asks_for_files_signed_with_an_electronic_certificate() -> None:
    body = render(
        MessageKind.DEADLINE_APPROACHING,
        HONG_KONG_CHINESE,
        params_for(MessageKind.DEADLINE_APPROACHING),
    ).body

    assert "電子證書" in body
    assert "簽署" in body


def test_times_are_shown_in_hong_kong_time_and_utc() -> None:
    english = render(
        MessageKind.DEADLINE_APPROACHING, ENGLISH, params_for(MessageKind.DEADLINE_APPROACHING)
    ).body
    chinese = render(
        MessageKind.DEADLINE_APPROACHING,
        HONG_KONG_CHINESE,
        params_for(MessageKind.DEADLINE_APPROACHING),
    ).body

    assert "2026-12-01 18:00:00 Hong Kong time (2026-12-01 10:00:00 UTC)" in english
    assert "2026年12月1日 18:00:00（香港時間）" in chinese
    assert "2026-12-01 10:00:00 UTC" in chinese


def test_a_message_without_what_it_needs_is_refused_where_it_is_queued() -> None:
    with pytest.raises(TypeError, match="file_name"):
        render(MessageKind.RECEIPT_ISSUED, ENGLISH, {"reference": "T-1"})


def test_an_unknown_language_falls_back_to_english() -> None:
    assert language_of("fr") == ENGLISH
    assert language_of(None) == ENGLISH
    assert language_of("zh-Hant-HK") == HONG_KONG_CHINESE
