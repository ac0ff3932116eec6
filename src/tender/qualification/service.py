"""Qualification of a two-envelope tender's bids, and the request for its financial opening.

After the timed opening has opened the technical envelopes, the officer records each bid
(a supplier's documents) as qualified or not, with a reason; a verdict can be corrected until
the financial opening is requested, which is refused until every opened bid has one. The
request is what lets the financial key be unlocked (``committee.service.unlock_tender_key``
refuses before it); the opening job then opens the qualified bids' financial envelopes only.

Every verdict and the request are audit events, and what counts is what the log says: the last
verdict per supplier before ``financial_opening.requested`` (``verifier.ledger``). Works in the
caller's transaction; it never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender import text
from tender.accounts.models import User
from tender.audit import service as audit
from tender.clock import Clock, for_people
from tender.committee.models import FINANCIAL_KEY, CommitteeShare
from tender.committee.service import tender_ledger
from tender.db import after_commit
from tender.errors import Conflict, Invalid
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.jobs import Jobs
from tender.notifications.messages import MessageKind
from tender.notifications.service import NotificationService
from tender.qualification.models import BidQualification, FinancialOpening
from tender.qualification.schemas import BidStanding, Qualification
from tender.tenders.access import require_buyer, require_overseer
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.service import get_tender, status_word
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TECHNICAL, TenderLedger


@dataclass(frozen=True, kw_only=True)
class QualificationService:
    """Verdicts and the financial opening's request, in the caller's transaction."""

    session: Session
    clock: Clock
    jobs: Jobs

    def standings(self, *, viewer: User, tender_id: uuid.UUID) -> Qualification:
        """Each bid whose technical envelope was opened, with its verdict so far, and where
        the financial opening is (the tender's officers and auditors)."""
        tender = get_tender(self.session, tender_id)
        require_overseer(self.session, viewer, tender)
        ledger = self._ledger_after_opening(tender)
        verdicts = ledger.verdicts
        opening = self.session.get(FinancialOpening, tender.id)
        bids = [
            BidStanding(
                supplier_id=uuid.UUID(supplier_id),
                supplier_organisation=organisation,
                qualified=None if verdict is None else verdict.qualified,
                reason=None if verdict is None else verdict.reason,
            )
            for supplier_id, organisation in _opened_bids(ledger).items()
            for verdict in [verdicts.get(supplier_id)]
        ]
        return Qualification(
            tender_id=tender.id,
            bids=bids,
            financial_opening_requested_at=None if opening is None else opening.requested_at,
            financial_opening_finished_at=None if opening is None else opening.finished_at,
        )

    def record(
        self,
        *,
        actor: User,
        tender_id: uuid.UUID,
        supplier_id: uuid.UUID,
        qualified: bool,
        reason: str,
    ) -> BidQualification:
        """Record (or correct) the verdict on ``supplier_id``'s bid: a ``bid.qualification``
        event. Refused unless ``actor`` runs the tender, its technical envelopes are opened,
        the supplier's technical envelope was among them, and the financial opening has not
        been requested."""
        reason = text.required(
            reason, field=N_("reason for the verdict"), max_length=text.REASON_MAX, long=True
        )
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        ledger = self._ledger_after_opening(tender)
        self._refuse_once_requested(tender, ledger)
        bids = _opened_bids(ledger)
        if str(supplier_id) not in bids:
            raise Invalid(
                _("Tender {reference} opened no technical envelope of bid {supplier_id}.").format(
                    reference=tender.reference, supplier_id=supplier_id
                ),
                _(
                    "A verdict is given on a bid whose technical envelope the opening opened; a "
                    "bid is named by its supplier's id, as the opening record and GET /api/"
                    "tenders/{id}/qualification list them."
                ).format(id=tender.id),
                _("Name one of the bids listed there."),
                tender_id=tender.id,
                details={"bid": str(supplier_id), "bids": sorted(bids)},
            )
        now = self.clock.now()
        earlier = ledger.verdicts.get(str(supplier_id))
        event = audit.append(
            self.session,
            kind=EventKind.BID_QUALIFICATION,
            actor=actor.actor,
            at=now,
            tender_id=tender.id,
            payload={
                "supplier_id": str(supplier_id),
                "supplier_organisation": bids[str(supplier_id)],
                "qualified": qualified,
                "reason": reason,
                "officer": f"{actor.name} ({actor.organisation})",
                "corrects": None if earlier is None else earlier.seq,
            },
        )
        row = self.session.get(BidQualification, (tender.id, supplier_id))
        if row is None:
            row = BidQualification(tender_id=tender.id, supplier_id=supplier_id)
            self.session.add(row)
        row.qualified, row.reason = qualified, reason
        row.decided_by, row.decided_at, row.audit_seq = actor.id, now, event.seq
        return row

    def request_financial_opening(self, *, actor: User, tender_id: uuid.UUID) -> FinancialOpening:
        """Ask for the qualified bids' financial envelopes to be opened: a
        ``financial_opening.requested`` event, after which the verdicts are final and the
        financial key may be unlocked. Refused until every bid opened has a verdict. Where a
        committee holds the financial key, its members are told to release their shares;
        else the opening job is asked for at once."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        ledger = self._ledger_after_opening(tender)
        self._refuse_once_requested(tender, ledger)
        verdicts = ledger.verdicts
        bids = _opened_bids(ledger)
        waiting = sorted(
            f"{organisation} ({supplier_id})"
            for supplier_id, organisation in bids.items()
            if supplier_id not in verdicts
        )
        if waiting:
            raise Conflict(
                _("Not every bid of tender {reference} has a qualification verdict.").format(
                    reference=tender.reference
                ),
                _(
                    "The financial envelopes are opened once, after every bid whose technical "
                    "envelope was opened has been found qualified or not; these have no "
                    "verdict: {waiting}."
                ).format(waiting=", ".join(waiting)),
                _(
                    "Record a verdict on each (`tender qualify --tender {reference} --bid "
                    "ID --qualified|--not-qualified --reason TEXT`), then ask again."
                ).format(reference=tender.reference),
                tender_id=tender.id,
                details={"without_verdict": waiting},
            )
        now = self.clock.now()
        qualified = sorted(s for s, verdict in verdicts.items() if verdict.qualified)
        audit.append(
            self.session,
            kind=EventKind.FINANCIAL_OPENING_REQUESTED,
            actor=actor.actor,
            at=now,
            tender_id=tender.id,
            payload={
                "qualified": qualified,
                "not_qualified": sorted(set(verdicts) - set(qualified)),
                "verdict_events": sorted(verdict.seq for verdict in verdicts.values()),
            },
        )
        opening = FinancialOpening(tender_id=tender.id, requested_by=actor.id, requested_at=now)
        self.session.add(opening)
        if tender.opening is OpeningMethod.COMMITTEE:
            self._tell_committee(tender, qualified=len(qualified))
        else:
            tender_id = tender.id
            # After commit: the job must find the request in the log.
            after_commit(self.session, lambda: self.jobs.request_opening(tender_id))
        return opening

    def _tell_committee(self, tender: Tender, *, qualified: int) -> None:
        members = self.session.execute(
            select(CommitteeShare, User)
            .join(User, User.id == CommitteeShare.member_id)
            .where(CommitteeShare.tender_id == tender.id, CommitteeShare.key_name == FINANCIAL_KEY)
        ).all()
        NotificationService(session=self.session, clock=self.clock).tell(
            [user for _, user in members],
            MessageKind.FINANCIAL_RELEASE_DUE,
            tender=tender,
            quorum=tender.quorum,
            members=len(members),
            qualified=qualified,
        )

    def _ledger_after_opening(self, tender: Tender) -> TenderLedger:
        """What the log says of ``tender``; refused unless it is a two-envelope tender whose
        technical envelopes are opened."""
        if not tender.two_envelopes:
            raise Invalid(
                _(
                    "Tender {reference} has a single envelope: its bids are not qualified "
                    "before a financial opening."
                ).format(reference=tender.reference),
                _(
                    "Qualification verdicts and the financial opening belong to two-envelope "
                    "tenders, whose prices are sealed apart; this tender opened every file at its "
                    "deadline."
                ),
                _("Evaluate its bids from the opening record."),
                tender_id=tender.id,
            )
        if tender.status_at(self.clock.now()) not in (TenderStatus.OPENED, TenderStatus.AWARDED):
            raise Conflict(
                _("The technical envelopes of tender {reference} are not opened yet.").format(
                    reference=tender.reference
                ),
                _(
                    "It is {status}; bids are qualified on "
                    "what their technical envelopes hold, once the timed opening has opened them."
                ).format(status=status_word(tender.status_at(self.clock.now()))),
                _(
                    "Wait for the opening after the deadline "
                    "({deadline}); the opening record lists the bids."
                ).format(deadline=for_people(tender.deadline)),
                tender_id=tender.id,
            )
        return tender_ledger(self.session, tender)

    def _refuse_once_requested(self, tender: Tender, ledger: TenderLedger) -> None:
        if ledger.financial_requested is None:
            return
        seq, at = ledger.financial_requested
        raise Conflict(
            _("The financial opening of tender {reference} was requested at {at}.").format(
                reference=tender.reference, at=at
            ),
            _(
                "From then on the verdicts are final: the financial envelopes opened are those of "
                "the bids qualified then (event {seq}), and a request is made once."
            ).format(seq=seq),
            _(
                "GET /api/tenders/{id}/qualification shows the verdicts; the financial "
                "part of the opening record lists what was opened."
            ).format(id=tender.id),
            tender_id=tender.id,
            details={"requested_in_event": seq},
        )


def _opened_bids(ledger: TenderLedger) -> dict[str, str]:
    """The bids whose technical envelope the opening opened: supplier id -> organisation."""
    return {
        str(bid.supplier): str((bid.fields or {}).get("supplier_organisation"))
        for bid in ledger.to_open(TECHNICAL)
    }
