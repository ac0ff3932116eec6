"""The opening committee's pages: the tenders whose key a member holds a share of, who has
released theirs, and releasing one's own after the deadline.

A share is encrypted to the member's committee key (ML-KEM-768 + X25519, HPKE) whose private
half sits in their key file under an Argon2id passphrase: neither is in a browser's WebCrypto,
and the platform must never see the key file. So the member decrypts their share on their own
computer with the command the page shows (``tender committee decrypt``, or ``release``, which
also sends it) and pastes the decrypted share here; the service checks it against the
commitment the audit log holds, as it does for the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from tender.accounts.guards import allow
from tender.accounts.models import User
from tender.accounts.signin import Caller
from tender.committee.dependencies import provide_committee_service
from tender.committee.models import TENDER_KEY
from tender.committee.schemas import CommitteeOut, decoded
from tender.committee.service import MEMBER_ROLES, CommitteeService
from tender.pages.errors import FORM_PAGE, PAGE, failure_page, remember_form
from tender.pages.session import FORM, VIEWER
from tender.tenders.access import oversees
from tender.tenders.models import TenderStatus

SHARE_MAX = 4096  # base64 of a held share of a tender key is well under 1 KiB
OPENED = frozenset({TenderStatus.OPENED, TenderStatus.AWARDED})


@dataclass(frozen=True)
class ReleaseForm:
    share: Annotated[str, Body(max_length=SHARE_MAX)] = ""
    key: Annotated[str, Body(max_length=20)] = TENDER_KEY


@dataclass(frozen=True)
class ReleaseShown:
    """The release form as it is shown again after a refusal: what was typed, and the time
    left until shares may be released (the deadline, or the end of the files' grace)."""

    share: str
    key: str
    reference: str
    seconds_left: int


class CommitteePages(Controller):
    """Pages of committee members (officers and auditors)."""

    path = "/committee"
    opt = {PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "committee": Provide(provide_committee_service, sync_to_thread=False),
    }

    @get("/", guards=allow(*MEMBER_ROLES, to="read opening committees"), sync_to_thread=True)
    def seats(
        self,
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        committee: NamedDependency[CommitteeService],
    ) -> Template:
        now = committee.clock.now()
        seats = []
        for tender, share in committee.seats(member=user):
            _, members = committee.committee(viewer=user, tender_id=tender.id)
            of_key = [row for row, _ in members if row.key_name == share.key_name]
            seats.append(
                {
                    "tender": tender,
                    "share": share,
                    "status": tender.status_at(now),
                    "seconds_left": max(0, int((tender.files_until - now).total_seconds())),
                    "released": sum(1 for row in of_key if row.released_at is not None),
                    "members": len(of_key),
                }
            )
        return Template("committee/seats.html", context={"viewer": viewer, "seats": seats})

    @get(
        "/tenders/{tender_id:uuid}",
        guards=allow(*MEMBER_ROLES, to="read opening committees"),
        sync_to_thread=True,
    )
    def tender_committee(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        committee: NamedDependency[CommitteeService],
    ) -> Template:
        tender, members = committee.committee(viewer=user, tender_id=tender_id)
        now = committee.clock.now()
        status = CommitteeOut.of(tender, members)
        own = [share for share, member in members if member.id == user.id]
        return Template(
            "committee/tender.html",
            context={
                "viewer": viewer,
                "tender": tender,
                "committee": status,
                "status": tender.status_at(now),
                "opened": tender.status in OPENED,
                # The record is for the tender's overseers; other members are told it opened.
                "reads_record": oversees(committee.session, user, tender),
                "seconds_left": max(0, int((tender.files_until - now).total_seconds())),
                "own": own,
                "form": {"share": "", "key": TENDER_KEY},
            },
        )

    @post(
        "/tenders/{tender_id:uuid}/release",
        guards=allow(*MEMBER_ROLES, to="release committee shares", second_factor=True),
        opt={FORM_PAGE: "committee/release_refused.html"},
        sync_to_thread=True,
    )
    def release(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        data: Annotated[ReleaseForm, FORM],
        user: NamedDependency[User],
        committee: NamedDependency[CommitteeService],
    ) -> Redirect:
        tender, _ = committee.committee(viewer=user, tender_id=tender_id)
        left = (tender.files_until - committee.clock.now()).total_seconds()
        remember_form(
            request,
            ReleaseShown(data.share, data.key, tender.reference, max(0, int(left))),
        )
        committee.release(
            member=user,
            tender_id=tender_id,
            share=decoded("".join(data.share.split()), field="share"),
            key_name=data.key,
        )
        return Redirect(f"/committee/tenders/{tender_id}", status_code=303)
