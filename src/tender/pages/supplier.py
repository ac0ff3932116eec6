"""The supplier's pages: registering a company and confirming its email; the signing
certificates it signs bids with, with a guide to getting one; its tenders and bids, each
tender as the supplier sees it (receipts, withdrawal, questions, outcome), and its receipts.

Thin, like the API's controllers: the same services decide; the templates say it to people.
Uploading a bid is a page of its own (``/supplier/tenders/{id}/upload``), linked from here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template
from litestar.serialization import encode_json

from tender import i18n
from tender.accounts.api import MAX_SIGNATURE_BYTES
from tender.accounts.dependencies import (
    provide_account_service,
    provide_certificate_service,
    provide_registration_service,
)
from tender.accounts.guards import PUBLIC, allow
from tender.accounts.models import Language, OrganisationStatus, Role, User
from tender.accounts.registration import NewRegistration, RegistrationService
from tender.accounts.service import AccountService, CertificateService
from tender.accounts.signin import Caller
from tender.awards.dependencies import provide_award_service
from tender.awards.schemas import AwardOut, Verdict
from tender.awards.service import AwardService
from tender.bids.dependencies import provide_bid_service
from tender.bids.intake import BidIntake
from tender.bids.schemas import OwnReceipt, Receipt
from tender.bids.service import BidService
from tender.clarifications.dependencies import provide_clarification_service
from tender.clarifications.service import ClarificationService
from tender.errors import Invalid, Refusal
from tender.i18n import gettext as _
from tender.pages.errors import FORM_PAGE, PAGE, failure_page, remember_form
from tender.pages.session import VIEWER
from tender.signing import Indication, SubIndication
from tender.signing.messages import explain
from tender.tenders.dependencies import provide_tender_service
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import TenderService

MAX_FIELD: Final = 320  # an email address; names and numbers are shorter (the service bounds them)
MAX_QUESTION: Final = 10_000
MAX_TOKEN: Final = 200
AFTER_THE_DEADLINE: Final = frozenset(
    {TenderStatus.CLOSED, TenderStatus.OPENING, TenderStatus.OPENED, TenderStatus.AWARDED}
)

URL_FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


@dataclass(frozen=True)
class RegistrationForm:
    name_en: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    name_zh: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    br_number: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    contact_email: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    contact_phone: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    user_name: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    email: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    password: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    language: Annotated[str, Body(max_length=20)] = Language.EN.value


@dataclass(frozen=True)
class ConfirmationForm:
    token: Annotated[str, Body(max_length=MAX_TOKEN)] = ""


@dataclass(frozen=True)
class QuestionForm:
    question: Annotated[str, Body(max_length=MAX_QUESTION)] = ""


@dataclass(frozen=True)
class WithdrawalForm:
    file_name: Annotated[str, Body(max_length=MAX_FIELD)] = ""  # empty: the whole bid


@dataclass(frozen=True)
class ChallengeShown:
    """The challenge to sign, carried by the certificate form so that a refused form can
    show it again (the service checks the signature against its own copy)."""

    challenge_id: str = ""
    challenge_text: str = ""


@dataclass(frozen=True)
class CertificateForm:
    signature: UploadFile
    challenge_id: str = ""
    challenge_text: str = ""


class RegistrationPages(Controller):
    """A supplier registers its company, and confirms its email with the emailed link."""

    opt = {**PUBLIC, PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "registrations": Provide(provide_registration_service, sync_to_thread=False),
    }

    @get("/register", sync_to_thread=False)
    def registration_form(self, viewer: NamedDependency[Caller | None]) -> Template:
        return Template(
            "supplier/register.html", context={"viewer": viewer, "form": RegistrationForm()}
        )

    @post("/register", opt={FORM_PAGE: "supplier/register.html"}, sync_to_thread=True)
    def register(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[RegistrationForm, URL_FORM],
        registrations: NamedDependency[RegistrationService],
    ) -> Redirect:
        remember_form(request, replace(data, password=""))  # a password is never sent back
        try:
            language = Language(data.language)
        except ValueError:
            language = Language.EN
        registrations.register(
            NewRegistration(
                name_en=data.name_en,
                name_zh=data.name_zh or None,
                br_number=data.br_number,
                contact_email=data.contact_email,
                contact_phone=data.contact_phone or None,
                user_name=data.user_name,
                email=data.email,
                password=data.password,
                language=language,
            )
        )
        return Redirect(f"/register/sent?{urlencode({'email': data.email})}", status_code=303)

    @get("/register/sent", sync_to_thread=False)
    def check_your_email(
        self,
        viewer: NamedDependency[Caller | None],
        registrations: NamedDependency[RegistrationService],
        email: Annotated[str, QueryParameter(max_length=MAX_FIELD)] = "",
    ) -> Template:
        return Template(
            "supplier/register_sent.html",
            context={
                "viewer": viewer,
                "email": email,
                "open_registration": registrations.open_registration,
            },
        )

    @get("/confirm-email", sync_to_thread=False)
    def confirmation_form(
        self,
        viewer: NamedDependency[Caller | None],
        token: Annotated[str, QueryParameter(max_length=MAX_TOKEN)] = "",
    ) -> Template:
        """The emailed link's page: a button confirms (a POST, so that a mail program's
        link scanner opening the link confirms nothing)."""
        return Template("supplier/confirm_email.html", context={"viewer": viewer, "token": token})

    @post("/confirm-email", sync_to_thread=True)
    def confirm(
        self,
        data: Annotated[ConfirmationForm, URL_FORM],
        viewer: NamedDependency[Caller | None],
        registrations: NamedDependency[RegistrationService],
    ) -> Template:
        try:
            organisation = registrations.confirm(data.token)
        except Refusal as refusal:
            # Nobody is signed in to hold to it: the refusal is said on the page itself,
            # with what to do (the link used, or expired), rather than "nothing here".
            return Template(
                "supplier/confirm_email.html",
                context={"viewer": viewer, "token": data.token, "refusal": refusal},
                status_code=refusal.status_code,
            )
        return Template(
            "supplier/confirmed.html",
            context={
                "viewer": viewer,
                "active": organisation.status is OrganisationStatus.ACTIVE,
            },
        )


@dataclass(frozen=True)
class TenderRow:
    """A tender on the supplier's landing page, with what the supplier sent to it."""

    tender: Tender
    status: TenderStatus
    counting: int  # files that count for the opening
    withdrawn: int  # files withdrawn
    outcome: AwardOut | None  # once awarded, to a supplier who bid
    won: bool


def _plain_verdict(verdict: Verdict) -> str:
    """A verdict in one sentence in the reader's language."""
    english, chinese = explain(
        Indication(verdict.indication),
        SubIndication(verdict.sub_indication) if verdict.sub_indication else None,
    )
    return chinese if i18n.current_locale() == i18n.HONG_KONG_CHINESE else english


class SupplierPages(Controller):
    """A signed-in supplier's pages: its tenders, bids, receipts and certificates."""

    opt = {PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "tenders": Provide(provide_tender_service, sync_to_thread=False),
        "bids": Provide(provide_bid_service, sync_to_thread=False),
        "clarifications": Provide(provide_clarification_service, sync_to_thread=False),
        "awards": Provide(provide_award_service, sync_to_thread=False),
        "accounts": Provide(provide_account_service, sync_to_thread=False),
        "certificates": Provide(provide_certificate_service, sync_to_thread=False),
    }

    @get(
        "/supplier",
        guards=allow(Role.SUPPLIER, to="see your tenders and bids"),
        sync_to_thread=True,
    )
    def my_tenders(
        self,
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
        bids: NamedDependency[BidService],
        awards: NamedDependency[AwardService],
    ) -> Template:
        now = tenders.clock.now()
        receipts = bids.own_receipts(supplier=user)
        bid_on = {r.receipt.tender_id for r in receipts}
        rows = []
        for tender in tenders.list(viewer=user):
            status = tender.status_at(now)
            if tender.id not in bid_on and status is not TenderStatus.PUBLISHED:
                continue
            mine = [r for r in receipts if r.receipt.tender_id == tender.id]
            outcome = (
                awards.outcome(viewer=user, tender_id=tender.id)
                if status is TenderStatus.AWARDED and mine
                else None
            )
            rows.append(
                TenderRow(
                    tender=tender,
                    status=status,
                    counting=sum(r.counts for r in mine),
                    withdrawn=sum(r.standing == "withdrawn" for r in mine),
                    outcome=outcome,
                    won=outcome is not None and user.organisation in outcome.winners,
                )
            )
        return Template(
            "supplier/my_tenders.html",
            context={
                "viewer": viewer,
                "bid_on": [row for row in rows if row.tender.id in bid_on],
                "open": [row for row in rows if row.tender.id not in bid_on],
            },
        )

    @get(
        "/supplier/tenders/{tender_id:uuid}",
        guards=allow(Role.SUPPLIER, to="see your bids"),
        sync_to_thread=True,
    )
    def tender_page(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
        bids: NamedDependency[BidService],
        clarifications: NamedDependency[ClarificationService],
        awards: NamedDependency[AwardService],
        asked: Annotated[bool, QueryParameter()] = False,
    ) -> Template:
        tender = tenders.get(tender_id, viewer=user)
        now = tenders.clock.now()
        status = tender.status_at(now)
        receipts = bids.own_receipts(supplier=user, tender_id=tender.id)
        outcome = (
            awards.outcome(viewer=user, tender_id=tender.id)
            if status is TenderStatus.AWARDED and receipts
            else None
        )
        return Template(
            "supplier/tender.html",
            context={
                "viewer": viewer,
                "tender": tender,
                "status": status,
                "open": status is TenderStatus.PUBLISHED,
                "after_deadline": status in AFTER_THE_DEADLINE,
                "seconds_left": max(0, int((tender.deadline - now).total_seconds())),
                "receipts": receipts,
                "current_files": sorted({r.receipt.file_name for r in receipts if r.counts}),
                "questions": [
                    c for c in clarifications.listing(viewer=user, tender_id=tender.id) if c.yours
                ],
                "outcome": outcome,
                "won": outcome is not None and user.organisation in outcome.winners,
                "verdicts": [
                    (v, _plain_verdict(v)) for v in (outcome.verdicts if outcome else []) if v.own
                ],
                "asked": asked,
            },
        )

    @post(
        "/supplier/tenders/{tender_id:uuid}/questions",
        guards=allow(Role.SUPPLIER, to="ask clarification questions"),
        opt={FORM_PAGE: "supplier/question.html"},
        sync_to_thread=True,
    )
    def ask(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        data: Annotated[QuestionForm, URL_FORM],
        user: NamedDependency[User],
        clarifications: NamedDependency[ClarificationService],
    ) -> Redirect:
        remember_form(request, data)
        clarifications.ask(supplier=user, tender_id=tender_id, question=data.question)
        return Redirect(f"/supplier/tenders/{tender_id}?asked=true#questions", status_code=303)

    @post(
        "/supplier/tenders/{tender_id:uuid}/withdrawal",
        guards=allow(Role.SUPPLIER, to="withdraw bids"),
        opt={FORM_PAGE: "supplier/withdraw.html"},
    )
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        data: Annotated[WithdrawalForm, URL_FORM],
        user: NamedDependency[User],
        bid_intake: NamedDependency[BidIntake],
        arrived_at: NamedDependency[datetime | None],
        viewer: NamedDependency[Caller | None],
    ) -> Template:
        """Withdraw, and show the withdrawal's receipt: it is given once, now, to keep."""
        remember_form(request, data)
        receipt = await bid_intake.withdraw(
            supplier=user,
            tender_id=tender_id,
            file_name=data.file_name or None,
            arrived_at=arrived_at,
        )
        return Template(
            "supplier/withdrawn.html",
            context={
                "viewer": viewer,
                "receipt": receipt,
                "receipt_json": encode_json(receipt).decode(),
            },
        )

    @get(
        "/supplier/receipts/{receipt_id:uuid}",
        guards=allow(Role.SUPPLIER, to="read receipts"),
        sync_to_thread=True,
    )
    def receipt_page(
        self,
        receipt_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        bids: NamedDependency[BidService],
    ) -> Template:
        receipt = bids.own_receipt(supplier=user, receipt_id=receipt_id)
        standing: OwnReceipt | None = next(
            (
                own
                for own in bids.own_receipts(supplier=user, tender_id=receipt.tender_id)
                if own.receipt.receipt_id == receipt_id
            ),
            None,
        )
        return Template(
            "supplier/receipt.html",
            context={"viewer": viewer, "receipt": receipt, "standing": standing},
        )

    @get(
        "/supplier/receipts/{receipt_id:uuid}/receipt.json",
        guards=allow(Role.SUPPLIER, to="read receipts"),
        sync_to_thread=True,
        media_type=MediaType.JSON,
    )
    def receipt_json(
        self,
        receipt_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        bids: NamedDependency[BidService],
    ) -> Response[Receipt]:
        """The receipt as ``tender submit`` saves it, for ``tender receipt verify``."""
        receipt = bids.own_receipt(supplier=user, receipt_id=receipt_id)
        name = f"{receipt.file_name}.receipt-{str(receipt_id)[:8]}.json"
        return Response(
            receipt,
            media_type=MediaType.JSON,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )

    @get(
        "/supplier/certificates",
        guards=allow(Role.SUPPLIER, to="register signing certificates"),
        sync_to_thread=True,
    )
    def certificates_page(
        self,
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        accounts: NamedDependency[AccountService],
        registered: Annotated[bool, QueryParameter()] = False,
    ) -> Template:
        return Template(
            "supplier/certificates.html",
            context={
                "viewer": viewer,
                "certificates": accounts.certificates_of(user.organisation_id),
                "registered": registered,
                "form": ChallengeShown(),
            },
        )

    @post(
        "/supplier/certificates/challenge",
        guards=allow(Role.SUPPLIER, to="register signing certificates"),
        sync_to_thread=True,
    )
    def challenge(
        self,
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        accounts: NamedDependency[AccountService],
        certificates: NamedDependency[CertificateService],
    ) -> Template:
        """A text to sign with the certificate's key: shown at once, to download and sign
        (each challenge is good once, for a few minutes, so there is nothing to come back to)."""
        made = certificates.challenge(actor=user)
        return Template(
            "supplier/certificates.html",
            context={
                "viewer": viewer,
                "certificates": accounts.certificates_of(user.organisation_id),
                "form": ChallengeShown(str(made.id), made.text),
                "expires_at": made.expires_at,
            },
        )

    @post(
        "/supplier/certificates",
        guards=allow(Role.SUPPLIER, to="register signing certificates"),
        opt={FORM_PAGE: "supplier/certificates.html"},
        request_max_body_size=2 * MAX_SIGNATURE_BYTES,  # the signature, and the challenge
        sync_to_thread=True,
    )
    def register_certificate(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[CertificateForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        user: NamedDependency[User],
        certificates: NamedDependency[CertificateService],
    ) -> Redirect:
        remember_form(request, ChallengeShown(data.challenge_id, data.challenge_text))
        signature = data.signature.file.read()
        try:
            challenge_id = uuid.UUID(data.challenge_id)
        except ValueError:
            raise Invalid(
                _("There is no text to sign with this form."),
                _("A certificate is registered with a signature over a text the platform gives."),
                _("Ask for a text to sign, sign it, and upload the signature."),
            ) from None
        certificates.register(actor=user, challenge_id=challenge_id, signature=signature)
        return Redirect("/supplier/certificates?registered=true", status_code=303)
