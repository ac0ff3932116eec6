"""The procurement officer's pages: the tenders of their organisation by state; creating,
editing, publishing and cancelling a tender; its documents, addenda and questions; after the
opening, the record with each bid's verdict in plain words, the qualification and financial
opening of a two-envelope tender, and the award.

Thin, like the API's controllers: every change goes through the service the API calls, which
decides what is allowed; the pages only say it to people. Deadlines are typed in Hong Kong
time (``datetime-local``) and stored in UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final, TypeVar

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from tender import i18n
from tender.accounts.guards import allow
from tender.accounts.models import Role, User
from tender.accounts.signin import Caller
from tender.awards.dependencies import provide_award_service
from tender.awards.schemas import AwardCreate
from tender.awards.service import AwardService
from tender.bids.dependencies import provide_bid_service
from tender.bids.service import BidService
from tender.clarifications.dependencies import provide_clarification_service
from tender.clarifications.service import ClarificationService
from tender.clock import HONG_KONG
from tender.committee.dependencies import provide_committee_service
from tender.committee.service import CommitteeService
from tender.documents.addenda import AddendumService
from tender.documents.dependencies import provide_addendum_service, provide_document_service
from tender.documents.schemas import AddendumIn
from tender.documents.service import DocumentService
from tender.errors import Invalid
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.opening.dependencies import provide_opening_service
from tender.opening.service import OpeningService
from tender.pages.errors import FORM_PAGE, PAGE, failure_page, remember_form
from tender.pages.session import FORM, VIEWER
from tender.qualification.dependencies import provide_qualification_service
from tender.qualification.service import QualificationService
from tender.tenders.access import require_buyer
from tender.tenders.dependencies import provide_tender_service
from tender.tenders.models import UNSEALED, Envelopes, OpeningMethod, Tender, TenderStatus
from tender.tenders.schemas import OPENING_TRUST, TenderCreate, TenderEdit
from tender.tenders.service import TenderService
from tender.verifier.formats import RecordBid

MAX_TEXT: Final = 20_000  # a description or an addendum at most; the services bound them closer
MAX_LINE: Final = 400

STATE_GROUPS: Final = (
    N_("Drafts"),
    N_("Open for bids"),
    N_("Closed, being opened"),
    N_("Opened"),
    N_("Awarded"),
    N_("Cancelled"),
)
"""The landing page's sections, in the order a tender goes through them."""
_GROUP_OF: Final = {
    TenderStatus.DRAFT: 0,
    TenderStatus.PUBLISHED: 1,
    TenderStatus.CLOSED: 2,
    TenderStatus.OPENING: 2,
    TenderStatus.OPENED: 3,
    TenderStatus.AWARDED: 4,
    TenderStatus.CANCELLED: 5,
}

_INDICATIONS: Final = {
    "TOTAL_PASSED": N_("Valid"),
    "TOTAL_FAILED": N_("Not valid"),
    "INDETERMINATE": N_("Not confirmed"),
}


Many = list[str] | str
"""A form's field that may be sent many times (checkboxes): one value comes as a string."""


def many(sent: Many) -> list[str]:
    """Every value of a field that may be sent many times."""
    return [sent] if isinstance(sent, str) else list(sent)


@dataclass(frozen=True)
class TenderForm:
    """A tender as typed on the form; ``deadline`` is Hong Kong time (``2026-12-05T12:00``).
    ``candidates`` ("id name") are who may sit on a committee, carried with the form so a
    refused one can offer them again."""

    reference: Annotated[str, Body(max_length=MAX_LINE)] = ""
    title: Annotated[str, Body(max_length=MAX_LINE)] = ""
    description: Annotated[str, Body(max_length=MAX_TEXT)] = ""
    deadline: Annotated[str, Body(max_length=40)] = ""
    opening: Annotated[str, Body(max_length=20)] = OpeningMethod.AUTOMATIC.value
    committee: Many = field(default_factory=list)
    quorum: Annotated[str, Body(max_length=4)] = ""
    envelopes: Annotated[str, Body(max_length=20)] = Envelopes.SINGLE.value
    candidates: Many = field(default_factory=list)
    csrf_token: Annotated[str, Body(max_length=200)] = ""


@dataclass(frozen=True)
class CancelForm:
    reason: Annotated[str, Body(max_length=MAX_TEXT)] = ""
    csrf_token: Annotated[str, Body(max_length=200)] = ""


@dataclass(frozen=True)
class AddendumForm:
    """An addendum as typed: its text, the waiting documents it publishes, and a later
    deadline in Hong Kong time (empty: the deadline stays)."""

    text: Annotated[str, Body(max_length=MAX_TEXT)] = ""
    documents: Many = field(default_factory=list)
    deadline: Annotated[str, Body(max_length=40)] = ""
    waiting: Many = field(default_factory=list)  # the documents it may publish
    csrf_token: Annotated[str, Body(max_length=200)] = ""


@dataclass(frozen=True)
class AnswerForm:
    answer: Annotated[str, Body(max_length=MAX_TEXT)] = ""
    # The question, carried so that a refused answer is shown again beside it.
    question: Annotated[str, Body(max_length=MAX_TEXT)] = ""
    csrf_token: Annotated[str, Body(max_length=200)] = ""


@dataclass(frozen=True)
class VerdictForm:
    supplier_id: Annotated[str, Body(max_length=40)] = ""
    qualified: Annotated[str, Body(max_length=5)] = ""
    reason: Annotated[str, Body(max_length=MAX_TEXT)] = ""
    csrf_token: Annotated[str, Body(max_length=200)] = ""


@dataclass(frozen=True)
class AwardForm:
    winners: Many = field(default_factory=list)
    value: Annotated[str, Body(max_length=40)] = ""
    currency: Annotated[str, Body(max_length=3)] = "HKD"
    reasons: Annotated[str, Body(max_length=MAX_TEXT)] = ""
    csrf_token: Annotated[str, Body(max_length=200)] = ""


@dataclass(frozen=True)
class Check:
    """One check of a bid's verdict in plain words: passed (True), failed (False) or not
    made (None)."""

    passed: bool | None
    words: str


@dataclass(frozen=True)
class BidVerdict:
    """An opened bid as the officer's page shows it."""

    bid: RecordBid
    received: datetime
    verdict: str
    explanation: str
    checks: list[Check]


def hong_kong_deadline(typed: str) -> datetime:
    """The deadline typed in Hong Kong time (a form's ``datetime-local``), in UTC."""
    try:
        moment = datetime.fromisoformat(typed.strip())
    except ValueError:
        raise Invalid(
            _("The deadline is not a date and time."),
            _("The deadline is typed as a date and a time of day, in Hong Kong time."),
            _("Choose the deadline's date and time again and send the form."),
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=HONG_KONG)).astimezone(UTC)


def typed_deadline(moment: datetime) -> str:
    """``moment`` as a form's ``datetime-local`` field shows it, in Hong Kong time."""
    return moment.astimezone(HONG_KONG).strftime("%Y-%m-%dT%H:%M")


def _quorum(typed: str) -> int | None:
    try:
        return int(typed) if typed.strip() else None
    except ValueError:
        raise Invalid(
            _("The quorum is not a whole number."),
            _("The quorum is how many committee members must release their shares."),
            _("Type a whole number, such as 2."),
        ) from None


def _member_ids(typed: Sequence[str]) -> tuple[uuid.UUID, ...]:
    try:
        return tuple(uuid.UUID(member) for member in typed)
    except ValueError:
        raise Invalid(
            _("A committee member on the form is not known."),
            _("Members are chosen from the list of people with a committee key."),
            _("Choose the members from the list again."),
        ) from None


Choice = TypeVar("Choice", OpeningMethod, Envelopes)


def _choice(kind: type[Choice], typed: str) -> Choice:
    try:
        return kind(typed)
    except ValueError:
        raise Invalid(
            _("A choice on the form is not one of those offered."),
            _("Only the choices shown on the form can be used."),
            _("Choose one of them and send the form again."),
        ) from None


def explained(bid: RecordBid) -> BidVerdict:
    """``bid``'s verdict in the reader's language, with the checks behind it: the file is the
    one received, the signature, its certificate's chain, and revocation as of submission."""
    report = bid["signature_report"]
    chinese = i18n.current_locale() == i18n.HONG_KONG_CHINESE
    explanation = str(report.get("message_zh" if chinese else "message_en") or bid["reason"])
    signatures = report.get("signatures") or []
    checks = [
        Check(
            bid["hash_matches"],
            _("The file opened is the one received: its SHA-256 matches the receipt.")
            if bid["hash_matches"]
            else _("The file opened does not match the SHA-256 on its receipt."),
        )
    ]
    if not signatures:
        checks.append(Check(False, _("No signature could be read in the file.")))
    else:
        first = signatures[0]
        intact = bool(first.get("intact") and first.get("crypto_valid"))
        checks.append(
            Check(
                intact,
                _("The signature is intact: the file is unchanged since it was signed.")
                if intact
                else _("The signature does not match the file or the signer's key."),
            )
        )
        checks.append(
            Check(
                bool(first.get("trusted")),
                _("The certificate chains to an authority the platform trusts.")
                if first.get("trusted")
                else _("The certificate does not chain to an authority the platform trusts."),
            )
        )
        evidence = first.get("revocation") or []
        revoked = any(item.get("status") == "revoked" for item in evidence)
        checks.append(
            Check(
                None if not evidence else not revoked,
                _("No revocation information was at hand for the certificate.")
                if not evidence
                else _("The certificate was revoked as of submission time.")
                if revoked
                else _("The certificate was not revoked as of submission time."),
            )
        )
    return BidVerdict(
        bid=bid,
        received=datetime.fromisoformat(bid["received_at"]),
        verdict=_(_INDICATIONS.get(bid["indication"], _INDICATIONS["INDETERMINATE"])),
        explanation=explanation,
        checks=checks,
    )


def _committee_candidates(committee: CommitteeService) -> list[str]:
    return [
        f"{user.id} {user.name} ({user.organisation})" for _key, user in committee.current_keys()
    ]


def _run_by(officer: User, tenders: TenderService, tender_id: uuid.UUID) -> Tender:
    """The tender, if ``officer``'s organisation runs it; refused as the API refuses others."""
    tender = tenders.get(tender_id, viewer=officer)
    require_buyer(officer, tender)
    return tender


def _to_tender(tender_id: uuid.UUID, anchor: str = "") -> Redirect:
    return Redirect(f"/officer/tenders/{tender_id}{anchor}", status_code=303)


class OfficerPages(Controller):
    """The pages of a procurement officer (see the module)."""

    path = "/officer"
    opt = {PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "tenders": Provide(provide_tender_service, sync_to_thread=False),
        "documents": Provide(provide_document_service, sync_to_thread=False),
        "addenda": Provide(provide_addendum_service, sync_to_thread=False),
        "clarifications": Provide(provide_clarification_service, sync_to_thread=False),
        "bids": Provide(provide_bid_service, sync_to_thread=False),
        "opening": Provide(provide_opening_service, sync_to_thread=False),
        "qualification": Provide(provide_qualification_service, sync_to_thread=False),
        "awards": Provide(provide_award_service, sync_to_thread=False),
        "committee": Provide(provide_committee_service, sync_to_thread=False),
    }

    @get("/", guards=allow(Role.OFFICER, to="see the tenders they run"), sync_to_thread=True)
    def home(
        self,
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
    ) -> Template:
        now = tenders.clock.now()
        groups: list[list[tuple[Tender, TenderStatus]]] = [[] for _group in STATE_GROUPS]
        for tender in tenders.list(viewer=user):
            if tender.organisation_id == user.organisation_id:
                status = tender.status_at(now)
                groups[_GROUP_OF[status]].append((tender, status))
        return Template(
            "officer/home.html",
            context={"viewer": viewer, "groups": list(zip(STATE_GROUPS, groups, strict=True))},
        )

    @get("/tenders/new", guards=allow(Role.OFFICER, to="create tenders"), sync_to_thread=True)
    def new_tender(
        self, viewer: NamedDependency[Caller | None], committee: NamedDependency[CommitteeService]
    ) -> Template:
        candidates = _committee_candidates(committee)
        opening = OpeningMethod.COMMITTEE if len(candidates) >= 2 else OpeningMethod.AUTOMATIC
        form = TenderForm(opening=opening.value, candidates=candidates)
        return Template("officer/tender_form.html", context={"viewer": viewer, "form": form})

    @post(
        "/tenders",
        guards=allow(Role.OFFICER, to="create tenders"),
        opt={FORM_PAGE: "officer/tender_form.html"},
        sync_to_thread=True,
    )
    def create_tender(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[TenderForm, FORM],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> Redirect:
        remember_form(request, data)
        opening = _choice(OpeningMethod, data.opening)
        committee = opening is OpeningMethod.COMMITTEE
        created = tenders.create(
            actor=user,
            data=TenderCreate(
                reference=data.reference,
                title=data.title,
                description=data.description,
                deadline=hong_kong_deadline(data.deadline),
                opening=opening,
                committee=_member_ids(many(data.committee)) if committee else (),
                quorum=_quorum(data.quorum) if committee else None,
                envelopes=_choice(Envelopes, data.envelopes),
            ),
        )
        return _to_tender(created.id)

    @get(
        "/tenders/{tender_id:uuid}",
        guards=allow(Role.OFFICER, to="run tenders"),
        sync_to_thread=True,
    )
    def tender_page(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
        documents: NamedDependency[DocumentService],
        addenda: NamedDependency[AddendumService],
        clarifications: NamedDependency[ClarificationService],
        bids: NamedDependency[BidService],
        opening: NamedDependency[OpeningService],
        qualification: NamedDependency[QualificationService],
        awards: NamedDependency[AwardService],
    ) -> Template:
        tender = _run_by(user, tenders, tender_id)
        now = tenders.clock.now()
        status = tender.status_at(now)
        opened = status in UNSEALED
        record = opening.stored_record(reader=user, tender_id=tender.id) if opened else None
        standings = (
            qualification.standings(viewer=user, tender_id=tender.id)
            if opened and tender.two_envelopes
            else None
        )
        verdicts = [explained(bid) for bid in record["bids"]] if record else []
        bidders = sorted({v.bid["supplier_organisation"] for v in verdicts})
        if standings is not None:
            bidders = sorted(b.supplier_organisation for b in standings.bids if b.qualified)
        listed = documents.listing(viewer=user, tender_id=tender.id)
        return Template(
            "officer/tender.html",
            context={
                "viewer": viewer,
                "tender": tender,
                "status": status,
                "changeable": status in (TenderStatus.DRAFT, TenderStatus.PUBLISHED),
                "cancellable": status
                in (TenderStatus.DRAFT, TenderStatus.PUBLISHED, TenderStatus.CLOSED)
                or status is TenderStatus.OPENED,
                "opening_trust": OPENING_TRUST[tender.opening].format(quorum=tender.quorum),
                "documents": listed,
                "waiting": [d for d in listed if d.addendum is None and not d.superseded],
                "addenda": addenda.listing(viewer=user, tender_id=tender.id),
                "clarifications": clarifications.listing(viewer=user, tender_id=tender.id),
                "received": bids.summary(viewer=user, tender_id=tender.id).documents_received,
                "record": record,
                "verdicts": verdicts,
                "standings": standings,
                "bidders": bidders,
                "award": awards.announcement(tender.id) if status is TenderStatus.AWARDED else None,
            },
        )

    @get(
        "/tenders/{tender_id:uuid}/edit",
        guards=allow(Role.OFFICER, to="edit tenders"),
        sync_to_thread=True,
    )
    def edit_form(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
    ) -> Template:
        tender = _run_by(user, tenders, tender_id)
        form = TenderForm(
            reference=tender.reference,
            title=tender.title,
            description=tender.description,
            deadline=typed_deadline(tender.deadline),
        )
        return Template(
            "officer/tender_form.html",
            context={"viewer": viewer, "form": form, "tender_id": tender.id},
        )

    @post(
        "/tenders/{tender_id:uuid}/edit",
        guards=allow(Role.OFFICER, to="edit tenders"),
        opt={FORM_PAGE: "officer/tender_form.html"},
        sync_to_thread=True,
    )
    def edit(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        data: Annotated[TenderForm, FORM],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> Redirect:
        remember_form(request, data)
        tenders.edit(
            actor=user,
            tender_id=tender_id,
            data=TenderEdit(
                reference=data.reference,
                title=data.title,
                description=data.description,
                deadline=hong_kong_deadline(data.deadline),
            ),
        )
        return _to_tender(tender_id)

    @post(
        "/tenders/{tender_id:uuid}/publish",
        guards=allow(Role.OFFICER, to="publish tenders", second_factor=True),
        sync_to_thread=True,
    )
    def publish(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> Redirect:
        tenders.publish(actor=user, tender_id=tender_id)
        return _to_tender(tender_id)

    @post(
        "/tenders/{tender_id:uuid}/cancellation",
        guards=allow(Role.OFFICER, to="cancel tenders", second_factor=True),
        sync_to_thread=True,
    )
    def cancel(
        self,
        tender_id: FromPath[uuid.UUID],
        data: Annotated[CancelForm, FORM],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> Redirect:
        tenders.cancel(actor=user, tender_id=tender_id, reason=data.reason)
        return _to_tender(tender_id)

    @get(
        "/tenders/{tender_id:uuid}/addenda/new",
        guards=allow(Role.OFFICER, to="publish addenda"),
        sync_to_thread=True,
    )
    def addendum_form(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
        documents: NamedDependency[DocumentService],
    ) -> Template:
        tender = _run_by(user, tenders, tender_id)
        waiting = [
            d.name
            for d in documents.listing(viewer=user, tender_id=tender.id)
            if d.addendum is None and not d.superseded
        ]
        form = AddendumForm(documents=waiting, waiting=waiting)
        return Template(
            "officer/addendum_form.html",
            context={"viewer": viewer, "form": form, "tender_id": tender.id},
        )

    @post(
        "/tenders/{tender_id:uuid}/addenda",
        guards=allow(Role.OFFICER, to="publish addenda"),
        opt={FORM_PAGE: "officer/addendum_form.html"},
        sync_to_thread=True,
    )
    def publish_addendum(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        data: Annotated[AddendumForm, FORM],
        user: NamedDependency[User],
        addenda: NamedDependency[AddendumService],
    ) -> Redirect:
        remember_form(request, data)
        addenda.publish(
            actor=user,
            tender_id=tender_id,
            data=AddendumIn(
                text=data.text,
                documents=many(data.documents),
                deadline=hong_kong_deadline(data.deadline) if data.deadline.strip() else None,
            ),
        )
        return _to_tender(tender_id, "#addenda")

    @post(
        "/tenders/{tender_id:uuid}/clarifications/{clarification_id:uuid}/answer",
        guards=allow(Role.OFFICER, to="answer clarification questions"),
        opt={FORM_PAGE: "officer/answer_form.html"},
        sync_to_thread=True,
    )
    def answer(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        clarification_id: FromPath[uuid.UUID],
        data: Annotated[AnswerForm, FORM],
        user: NamedDependency[User],
        clarifications: NamedDependency[ClarificationService],
    ) -> Redirect:
        remember_form(request, data)
        clarifications.answer(
            officer=user, tender_id=tender_id, clarification_id=clarification_id, answer=data.answer
        )
        return _to_tender(tender_id, "#clarifications")

    @post(
        "/tenders/{tender_id:uuid}/qualification",
        guards=allow(Role.OFFICER, to="qualify bids", second_factor=True),
        sync_to_thread=True,
    )
    def qualify(
        self,
        tender_id: FromPath[uuid.UUID],
        data: Annotated[VerdictForm, FORM],
        user: NamedDependency[User],
        qualification: NamedDependency[QualificationService],
    ) -> Redirect:
        qualification.record(
            actor=user,
            tender_id=tender_id,
            supplier_id=_member_ids([data.supplier_id])[0],
            qualified=data.qualified == "yes",
            reason=data.reason,
        )
        return _to_tender(tender_id, "#qualification")

    @post(
        "/tenders/{tender_id:uuid}/financial-opening",
        guards=allow(Role.OFFICER, to="open financial envelopes", second_factor=True),
        sync_to_thread=True,
    )
    def financial_opening(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        qualification: NamedDependency[QualificationService],
    ) -> Redirect:
        qualification.request_financial_opening(actor=user, tender_id=tender_id)
        return _to_tender(tender_id, "#qualification")

    @post(
        "/tenders/{tender_id:uuid}/award",
        guards=allow(Role.OFFICER, to="award tenders", second_factor=True),
        sync_to_thread=True,
    )
    def award(
        self,
        tender_id: FromPath[uuid.UUID],
        data: Annotated[AwardForm, FORM],
        user: NamedDependency[User],
        awards: NamedDependency[AwardService],
    ) -> Redirect:
        awards.award(
            actor=user,
            tender_id=tender_id,
            data=AwardCreate(
                winners=many(data.winners),
                value=data.value,
                currency=data.currency,
                reasons=data.reasons,
            ),
        )
        return _to_tender(tender_id, "#award")
