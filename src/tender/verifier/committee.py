"""What an auditor checks of a tender's key offline: the committee's releases and quorum, and
that nobody unwrapped the key before the deadline.

From the log alone (:class:`~tender.verifier.ledger.TenderLedger`): each
``committee.share_released`` is by a member of the committee ``committee.formed`` named, of
the very share dealt to them (the commitment the platform published when the tender was
created), after the deadline, and once; a quorum of such releases came before
``opening.started``; and every ``tender.key_unwrapped`` came after the deadline. The shares
themselves are never in the log: published, they would give anyone with a bundle the
tender's key.
"""

from __future__ import annotations

from typing import Final

from tender.verifier.checks import Checker
from tender.verifier.ledger import TenderLedger, parse_time

TENDER_KEY: Final = "tender"
"""The name of the key a tender's bids are sealed to, which the opening needs. Shares,
commitments and releases are kept per key name, so that a tender with a second key (a
two-envelope tender's financial envelope) has its own, released on their own."""
FINANCIAL_KEY: Final = "financial"
"""The name of a two-envelope tender's second key, which its financial envelopes are sealed
to: unlocked only once the officer has asked for the financial opening (after the
qualification verdicts), and only for the bids found qualified."""


def check_committee(ledger: TenderLedger, reference: str, check: Checker) -> None:
    """The committee's releases, and its quorum before the opening (committee tenders)."""
    if ledger.opening_method != "committee":
        return
    if not ledger.committees:
        check(
            f"committee {reference}",
            False,
            "tender.created says the tender is opened by a committee, but no committee.formed "
            "event names its members and the commitments to their shares",
        )
        return
    for key, formed in ledger.committees.items():
        mine = [release for release in ledger.releases if release.key == key]
        problems = [
            f"event {release.seq}: {problem}"
            for release in mine
            if (problem := ledger.release_problem(release)) is not None
        ]
        check(
            f"committee {reference} releases",
            not problems,
            "; ".join(problems)
            if problems
            else f"each of the {len(mine)} releases of key {key!r} is a member's own share, "
            f"as committed in event {formed.seq}, released after the deadline",
        )
    check_quorum(ledger, f"committee {reference} quorum", TENDER_KEY, ledger.opening_started, check)


def check_quorum(
    ledger: TenderLedger,
    name: str,
    key: str,
    started: tuple[int, str] | None,
    check: Checker,
) -> None:
    """A quorum of the committee of ``key`` released valid shares before the opening that
    needed it started (``started``: its event's seq and time; nothing to check before)."""
    committee = ledger.committees.get(key)
    if started is None or committee is None:
        return
    seq, at = started
    counted = ledger.released(key, before_seq=seq)
    names = ", ".join(committee.members[release.member_id].name for release in counted)
    check(
        name,
        len(counted) >= committee.quorum,
        f"{len(counted)} of the {len(committee.members)} members released their shares of key "
        f"{key!r} before its opening started (event {seq}, {at}): {names or 'none'}; the "
        f"quorum is {committee.quorum}",
    )


def check_unwraps(ledger: TenderLedger, reference: str, check: Checker) -> None:
    """Every unwrap of the tender's key (``tender.key_unwrapped``) came after its deadline."""
    if not ledger.unwraps:
        return
    due = ledger.files_until
    early = [
        f"event {seq} at {at}"
        for seq, at in ledger.unwraps
        if due is None or parse_time(at) < parse_time(due)
    ]
    check(
        f"tender key {reference} unwrapped after deadline",
        not early,
        f"the key was unwrapped before the deadline ({due}): {', '.join(early)}"
        if early
        else f"all {len(ledger.unwraps)} unwraps of the key came after the deadline ({due})",
    )
