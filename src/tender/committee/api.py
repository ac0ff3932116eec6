"""HTTP API of opening committees: members' keys, a tender's committee, releasing shares."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from tender.accounts.guards import allow
from tender.accounts.models import User
from tender.committee.dependencies import provide_committee_service
from tender.committee.models import TENDER_KEY
from tender.committee.schemas import (
    CommitteeKeyOut,
    CommitteeOut,
    EncryptedShareOut,
    KeyRegistration,
    ShareRelease,
    decoded,
    encoded,
)
from tender.committee.service import MEMBER_ROLES, CommitteeService
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)

_DEPENDENCIES = {"committee": Provide(provide_committee_service, sync_to_thread=False)}


class CommitteeKeyController(Controller):
    path = "/api/committee/keys"
    tags = ("committee",)
    dependencies = _DEPENDENCIES

    @post(
        "/",
        guards=allow(*MEMBER_ROLES, to=N_("register committee keys"), second_factor=True),
        sync_to_thread=True,
        summary="Register your committee public key (officers and auditors)",
        description="Shares of tenders created from now on are encrypted to it. `tender "
        "committee key create` makes the key pair (the private half stays in your key file, "
        "under your passphrase) and `tender committee key register` sends this.",
    )
    def register(
        self,
        data: JSONBody[KeyRegistration],
        user: NamedDependency[User],
        committee: NamedDependency[CommitteeService],
    ) -> CommitteeKeyOut:
        key = committee.register_key(
            actor=user, public_key=decoded(data.public_key, field=N_("public key"))
        )
        return CommitteeKeyOut.of(key, user)

    @get(
        "/",
        guards=allow(*MEMBER_ROLES, to=N_("list committee keys")),
        sync_to_thread=True,
        summary="Who can sit on an opening committee: everyone with a committee key",
    )
    def list_keys(self, committee: NamedDependency[CommitteeService]) -> list[CommitteeKeyOut]:
        return [CommitteeKeyOut.of(key, user) for key, user in committee.current_keys()]


class CommitteeController(Controller):
    path = "/api/tenders/{tender_id:uuid}/committee"
    tags = ("committee",)
    dependencies = _DEPENDENCIES

    @get(
        "/",
        guards=allow(*MEMBER_ROLES, to=N_("read opening committees")),
        sync_to_thread=True,
        summary="The tender's opening committee: who has released a share and who has not "
        "(the tender's officers and auditors, and the members)",
    )
    def status(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        committee: NamedDependency[CommitteeService],
    ) -> CommitteeOut:
        return CommitteeOut.of(*committee.committee(viewer=user, tender_id=tender_id))

    @get(
        "/share",
        guards=allow(*MEMBER_ROLES, to=N_("fetch committee shares")),
        sync_to_thread=True,
        summary="Your share of the tender's key, encrypted to your committee key (members, "
        "after the deadline; before it refused and audited)",
    )
    def share(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        committee: NamedDependency[CommitteeService],
        key: FromQuery[str] = TENDER_KEY,
    ) -> EncryptedShareOut:
        found = committee.encrypted_share(member=user, tender_id=tender_id, key_name=key)
        return EncryptedShareOut(
            tender_id=found.tender.id,
            reference=found.tender.reference,
            key=found.row.key_name,
            member_id=found.row.member_id,
            index=found.row.share_index,
            member_key=found.row.member_key.fingerprint,
            share_commitment=found.row.commitment,
            encrypted_share=encoded(found.row.encrypted_share),
        )

    @post(
        "/releases",
        guards=allow(*MEMBER_ROLES, to=N_("release committee shares"), second_factor=True),
        sync_to_thread=True,
        summary="Release your share of the tender's key (members, after the deadline)",
        description="The share is checked against the commitment the audit log recorded when "
        "the tender was created: a wrong one is refused and the refusal names you. Once the "
        "quorum has released, the tender opens by itself.",
    )
    def release(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[ShareRelease],
        user: NamedDependency[User],
        committee: NamedDependency[CommitteeService],
    ) -> CommitteeOut:
        committee.release(
            member=user,
            tender_id=tender_id,
            share=decoded(data.share, field=N_("share")),
            key_name=data.key,
        )
        return CommitteeOut.of(*committee.committee(viewer=user, tender_id=tender_id))
