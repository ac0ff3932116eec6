"""Awarding an opened tender, and reading its outcome. Works in the caller's transaction.

Who reads what: the officers of the buying organisation and the auditors appointed to it read
the award and every opened document's verdict in full. A supplier of the tender (an
organisation with a bid document in it) reads the award once it is made, its own documents'
rows of the opening record in full, and of the other suppliers only the organisation and the
verdict: enough to see that the award follows from the opening, without another's file names,
sizes, times or reasons.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from iso4217 import Currency
from sqlalchemy import select
from sqlalchemy.orm import Session

from tender import text
from tender.accounts.models import Role, User
from tender.audit import service as audit
from tender.awards.models import TenderAward
from tender.awards.schemas import AwardCreate, AwardOut, Verdict
from tender.bids.models import BidDocument
from tender.clock import Clock
from tender.errors import Conflict, Forbidden, Invalid
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.notifications.messages import MessageKind
from tender.notifications.service import NotificationService
from tender.opening.models import OpeningResult
from tender.qualification.models import BidQualification, FinancialOpening
from tender.tenders.access import require_buyer, require_overseer, require_visible
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender, move, status_word
from tender.verifier.kinds import EventKind

MAX_WINNERS = 100
MAX_VALUE = Decimal(10) ** 15  # larger than any public contract; a typo beyond it


@dataclass(frozen=True, kw_only=True)
class AwardService:
    """Awards, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock

    def award(self, *, actor: User, tender_id: uuid.UUID, data: AwardCreate) -> AwardOut:
        """Award an opened tender to suppliers whose documents were opened; final."""
        winners = _winners(data.winners)
        currency = _currency(data.currency)
        value = _value(data.value, currency)
        reasons = text.required(
            data.reasons, field=N_("reasons"), max_length=text.REASON_MAX, long=True
        )
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        now = self.clock.now()
        move(
            tender,
            TenderStatus.AWARDED,
            now=now,
            todo=_("A tender is awarded once its opening has finished, and only once."),
        )
        rows = self._opened(tender)
        bidders = {supplier.organisation for _, _, supplier in rows}
        if tender.two_envelopes:
            bidders &= self._qualified(tender)
        unknown = [winner for winner in winners if winner not in bidders]
        if unknown:
            raise Invalid(
                (
                    _("{unknown} had no bid opened in tender {reference} and found qualified.")
                    if tender.two_envelopes
                    else _("{unknown} had no bid opened in tender {reference}.")
                ).format(unknown=", ".join(unknown), reference=tender.reference),
                _(
                    "A tender is awarded only to suppliers whose bids were opened (of a "
                    "two-envelope tender: qualified, their financial envelopes opened)."
                )
                if tender.two_envelopes
                else _("A tender is awarded only to suppliers whose bids were opened."),
                _("Name the winners as the opening record does: {bidders}.").format(
                    bidders=", ".join(sorted(bidders)) or _("(no bid was opened)")
                ),
                tender_id=tender.id,
                details={"unknown": unknown, "bidders": sorted(bidders)},
            )
        award = TenderAward(
            tender_id=tender.id,
            winners=winners,
            value=value,
            currency=currency,
            reasons=reasons,
            awarded_by=actor.id,
            awarded_at=now,
        )
        self.session.add(award)
        tender.awarded_at = now
        audit.append(
            self.session,
            kind=EventKind.TENDER_AWARDED,
            actor=actor.actor,
            at=now,
            tender_id=tender.id,
            payload={"winners": winners, "value": value, "currency": currency, "reasons": reasons},
        )
        NotificationService(session=self.session, clock=self.clock).tell(
            _suppliers_of(self.session, tender.id),
            MessageKind.TENDER_AWARDED,
            tender=tender,
            winners=", ".join(winners),
            value=f"{currency} {value}",
        )
        self.session.flush()
        return AwardOut.of(award, tender.reference, self._verdicts(tender, rows, viewer=None))

    def outcome(self, *, viewer: User, tender_id: uuid.UUID) -> AwardOut:
        """The award and the verdicts ``viewer`` may read (see the module's docstring)."""
        tender = get_tender(self.session, tender_id)
        if viewer.role == Role.SUPPLIER:
            self._require_supplier_of(viewer, tender)
        else:
            require_overseer(self.session, viewer, tender)
        award = self.session.get(TenderAward, tender.id)
        if award is None:
            raise Conflict(
                _("Tender {reference} has not been awarded (it is {status}).").format(
                    reference=tender.reference,
                    status=status_word(tender.status_at(self.clock.now())),
                ),
                _(
                    "The outcome is published when the procuring entity awards the tender, after "
                    "the opening."
                ),
                _("Try again later; suppliers of the tender are notified of the award."),
                tender_id=tender.id,
            )
        rows = self._opened(tender)
        shown = None if viewer.role != Role.SUPPLIER else viewer
        return AwardOut.of(award, tender.reference, self._verdicts(tender, rows, viewer=shown))

    def announcement(self, tender_id: uuid.UUID) -> AwardOut | None:
        """The award as it is published for anyone (winners, value, reasons; no verdicts), or
        None before the tender is awarded. Drafts are not shown."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, None, tender)
        award = self.session.get(TenderAward, tender.id)
        return None if award is None else AwardOut.of(award, tender.reference, [])

    def _require_supplier_of(self, viewer: User, tender: Tender) -> None:
        require_visible(self.session, viewer, tender)  # not even a draft's reference
        if any(
            s.organisation == viewer.organisation for s in _suppliers_of(self.session, tender.id)
        ):
            return
        raise Forbidden(
            _("You cannot read the outcome of tender {reference} here.").format(
                reference=tender.reference
            ),
            _(
                "Your organisation ({organisation}) submitted nothing to it; the award "
                "and the verdicts are shown here to the tender's suppliers."
            ).format(organisation=viewer.organisation),
            _("Ask the procuring entity, or read the published award notice."),
            tender_id=tender.id,
        )

    def _qualified(self, tender: Tender) -> set[str]:
        """The organisations of a two-envelope tender's qualified bids, once its financial
        opening has finished; refused before (the prices are not known yet)."""
        opening = self.session.get(FinancialOpening, tender.id)
        if opening is None or opening.finished_at is None:
            raise Conflict(
                _("The financial envelopes of tender {reference} are not opened yet.").format(
                    reference=tender.reference
                ),
                _(
                    "A two-envelope tender is awarded on the qualified bids' prices, which are "
                    "in their financial envelopes."
                ),
                _(
                    "Record a verdict on every bid and ask for the financial opening (`tender "
                    "qualify`, `tender open-financial --tender {reference}`); award once "
                    "its record is written."
                ).format(reference=tender.reference),
                tender_id=tender.id,
            )
        return {
            user.organisation
            for user in self.session.scalars(
                select(User)
                .join(BidQualification, BidQualification.supplier_id == User.id)
                .where(BidQualification.tender_id == tender.id, BidQualification.qualified)
            )
        }

    def _opened(self, tender: Tender) -> list[tuple[BidDocument, OpeningResult, User]]:
        rows = self.session.execute(
            select(BidDocument, OpeningResult, User)
            .join(OpeningResult, OpeningResult.document_id == BidDocument.id)
            .join(User, User.id == BidDocument.supplier_id)
            .where(BidDocument.tender_id == tender.id)
            .order_by(BidDocument.received_at)
        ).all()
        return [(document, result, supplier) for document, result, supplier in rows]

    def _verdicts(
        self,
        tender: Tender,
        rows: list[tuple[BidDocument, OpeningResult, User]],
        *,
        viewer: User | None,
    ) -> list[Verdict]:
        """Every opened document's verdict: in full, unless ``viewer`` (a supplier) is given,
        who reads only the organisation and verdict of the others'."""
        verdicts = []
        for document, result, supplier in rows:
            organisation, indication = supplier.organisation, result.indication.value
            if viewer is not None and organisation != viewer.organisation:
                verdicts.append(Verdict(organisation, indication, own=False))
                continue
            verdicts.append(
                Verdict(
                    organisation,
                    indication,
                    own=viewer is not None,
                    receipt_id=document.id,
                    file_name=document.file_name,
                    size=document.size,
                    received_at=document.received_at,
                    sha256=document.sha256,
                    sub_indication=result.sub_indication.value if result.sub_indication else None,
                    reason=result.reason,
                )
            )
        return verdicts


def _suppliers_of(session: Session, tender_id: uuid.UUID) -> list[User]:
    """The users who submitted a document to the tender."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.id.in_(
                    select(BidDocument.supplier_id).where(BidDocument.tender_id == tender_id)
                )
            )
            .order_by(User.id)
        )
    )


def _winners(names: list[str]) -> list[str]:
    winners = list(
        dict.fromkeys(
            text.required(name, field=N_("winner"), max_length=text.NAME_MAX) for name in names
        )
    )
    if not 1 <= len(winners) <= MAX_WINNERS:
        raise Invalid(
            _("The award names {winners} winners.").format(winners=len(winners)),
            _("An award names from 1 to {max_winners} winning suppliers.").format(
                max_winners=MAX_WINNERS
            ),
            _("Name the winners as the opening record names their organisations."),
        )
    return winners


def _currency(code: str) -> str:
    """An ISO 4217 code of a currency (not a fund, metal or test code), in capitals."""
    wanted = code.strip().upper()
    try:
        currency = Currency(wanted)
    except ValueError:
        currency = None
    if currency is None or currency.exponent is None:
        raise Invalid(
            _("{code!r} is not a currency code.").format(code=code[:10]),
            _("The value of an award is in a currency named by its ISO 4217 code."),
            _("Use a three-letter code such as HKD, CNY, USD or EUR."),
            details={"currency": code[:10]},
        )
    return wanted


def _value(number: str, currency: str) -> str:
    """A positive amount in ``currency``, with no more decimals than it has, as text."""
    try:
        value = Decimal(number.strip())
    except (InvalidOperation, ValueError):
        value = None
    places = Currency(currency).exponent or 0
    if (
        value is None
        or not value.is_finite()
        or not 0 < value < MAX_VALUE
        or -value.as_tuple().exponent > places  # type: ignore[operator]
    ):
        raise Invalid(
            _("{number!r} is not an amount in {currency}.").format(
                number=number[:40], currency=currency
            ),
            _(
                "The value is a positive decimal number below {max_value:,} with at most "
                "{places} decimal places (those {currency} has)."
            ).format(max_value=MAX_VALUE, places=places, currency=currency),
            _('Send it as text, for example "1250000.00".'),
            details={"value": number[:40]},
        )
    return str(value)
