"""Request and response shapes of clarifications."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tender.clarifications.models import Clarification


@dataclass(frozen=True)
class QuestionIn:
    question: str


@dataclass(frozen=True)
class AnswerIn:
    answer: str


@dataclass(frozen=True)
class ClarificationOut:
    id: uuid.UUID
    question: str
    answer: str | None
    asked_at: datetime
    answered_at: datetime | None
    # Asked by the caller's organisation (so a supplier finds its own questions).
    yours: bool
    # Who asked: shown to the buying officers only, never published.
    asked_by_organisation: str | None = None

    @classmethod
    def of(
        cls, clarification: Clarification, *, yours: bool, asker: str | None = None
    ) -> ClarificationOut:
        return cls(
            id=clarification.id,
            question=clarification.question,
            answer=clarification.answer,
            asked_at=clarification.asked_at,
            answered_at=clarification.answered_at,
            yours=yours,
            asked_by_organisation=asker,
        )
