"""HTTP API of the opening record."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from tender.accounts.models import Role, User
from tender.accounts.service import require_role
from tender.platform import Platform


class OpeningController(Controller):
    path = "/api/tenders/{tender_id:uuid}/opening"
    tags = ("opening",)

    @get("/", sync_to_thread=True, summary="The opening record (officers and auditors)")
    def record(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        require_role(user, [Role.OFFICER, Role.AUDITOR], "read opening records")
        with platform.sessions.begin() as session:
            return platform.opening.stored_record(session, tender_id)
