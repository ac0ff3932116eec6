"""What an auditor checks of a two-envelope tender offline: that no financial envelope of a
bid not qualified was ever opened, that the financial opening came after every qualification
verdict, and that the financial key was unlocked (and its committee's shares released) only
after the officer asked for the financial opening.

From the log alone (:class:`~tender.verifier.ledger.TenderLedger`): the verdicts are the last
``bid.qualification`` per supplier before ``financial_opening.requested``; a ``bid.opened`` of
a receipt whose revealed fields say ``"envelope": "financial"`` must come after that request,
and be of a supplier whose verdict is qualified.
"""

from __future__ import annotations

from typing import Final

from tender.verifier.checks import Checker
from tender.verifier.committee import FINANCIAL_KEY, check_quorum
from tender.verifier.ledger import FINANCIAL, TECHNICAL, TenderLedger

FINANCIAL_RECORD: Final = "financial-record"
"""The name, in a tender's folder of an audit bundle, of the financial part of its opening
record (``.json`` and ``.pdf``); the technical part is ``record``, as for any tender."""


def check_envelopes(ledger: TenderLedger, reference: str, check: Checker) -> None:
    """The checks of a two-envelope tender (nothing for a single-envelope one)."""
    if ledger.envelopes != "two":
        return
    _check_sealed_unless_qualified(ledger, reference, check)
    if ledger.financial_requested is not None:
        _check_request(ledger, reference, check)
    _check_financial_key(ledger, reference, check)


def _check_sealed_unless_qualified(ledger: TenderLedger, reference: str, check: Checker) -> None:
    requested = ledger.financial_requested
    verdicts = ledger.verdicts
    financial = [bid for bid in ledger.bids.values() if bid.envelope == FINANCIAL]
    problems = []
    for bid in financial:
        opened = ledger.opened.get(bid.receipt_id)
        if opened is None:
            continue
        verdict = verdicts.get(str(bid.supplier))
        if requested is None or opened[0] < requested[0]:
            problems.append(
                f"financial envelope {bid.receipt_id} was opened (event {opened[0]}) before the "
                "financial opening was requested"
            )
        elif verdict is None or not verdict.qualified:
            problems.append(
                f"financial envelope {bid.receipt_id} of {bid.supplier} was opened (event "
                f"{opened[0]}), but that bid was "
                + ("never qualified" if verdict is None else f"not qualified (event {verdict.seq})")
            )
    check(
        f"envelopes {reference} unqualified stay sealed",
        not problems,
        "; ".join(problems)
        if problems
        else f"of the {len(financial)} financial envelopes received, only qualified bids' were "
        "opened, and only after the financial opening was requested",
    )


def _check_request(ledger: TenderLedger, reference: str, check: Checker) -> None:
    """The request came after the technical opening finished and after a verdict on every
    bid it opened; no verdict came after it."""
    assert ledger.financial_requested is not None
    seq, at = ledger.financial_requested
    finished = ledger.opening_finished
    verdicts = ledger.verdicts
    problems = []
    if finished is None or finished[0] > seq:
        problems.append("the technical opening had not finished")
    problems += [
        f"the bid of {bid.supplier} (technical envelope {bid.receipt_id}) had no verdict"
        for bid in {str(b.supplier): b for b in ledger.to_open(TECHNICAL)}.values()
        if str(bid.supplier) not in verdicts
    ]
    problems += [
        f"a verdict on {verdict.supplier_id} (event {verdict.seq}) came after it"
        for verdict in ledger.verdict_events
        if verdict.seq > seq
    ]
    check(
        f"financial opening {reference} after every verdict",
        not problems,
        f"financial_opening.requested (event {seq}, {at}): " + "; ".join(problems)
        if problems
        else f"financial_opening.requested (event {seq}, {at}) came after the technical "
        f"opening and after the {len(verdicts)} verdicts, and no verdict after it",
    )
    if ledger.financial_finished is not None:
        due = {bid.receipt_id for bid in ledger.financial_due()}
        missing = sorted(due - set(ledger.opened))
        check(
            f"financial opening {reference} complete",
            not missing,
            f"the {len(due)} financial envelopes of qualified bids were opened"
            if not missing
            else "qualified bids' financial envelopes without an opening result: "
            + ", ".join(missing),
        )


def _check_financial_key(ledger: TenderLedger, reference: str, check: Checker) -> None:
    """The financial key was unwrapped only after the request, and for a committee tender a
    quorum had released shares of it (after the request: the ledger counts no earlier one)
    before the financial opening started."""
    requested = ledger.financial_requested
    early = [
        f"event {seq} at {at}"
        for seq, at in ledger.financial_unwraps
        if requested is None or seq < requested[0]
    ]
    if ledger.financial_unwraps:
        check(
            f"financial key {reference} unwrapped after request",
            not early,
            "the financial key was unwrapped before the financial opening was requested: "
            + ", ".join(early)
            if early
            else f"all {len(ledger.financial_unwraps)} unwraps of the financial key came after "
            "the financial opening was requested",
        )
    check_quorum(
        ledger,
        f"committee {reference} financial quorum",
        FINANCIAL_KEY,
        ledger.financial_started,
        check,
    )
