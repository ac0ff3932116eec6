"""Who may see and act on which tender: the one place object-level rules live.

The route guards (:mod:`tender.accounts.guards`) decide by role; these decide by the tender.
An officer acts on their own organisation's tenders only, and reads other organisations'
published ones as anyone may. Suppliers, admins and the public see no drafts. An auditor
reads what their appointment covers: every organisation, or the ones named in it. Admins
manage organisations and users; no rule here lets them read bids (the routes that serve bid
content do not admit the admin role at all).

A tender someone may not see is answered as if it did not exist, so a draft's id tells an
outsider nothing.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from tender.accounts.models import AuditorAppointment, Role, User
from tender.errors import Forbidden, NotFound
from tender.i18n import gettext as _
from tender.tenders.models import Tender, TenderStatus


def no_such_tender(tender_id: uuid.UUID) -> NotFound:
    """The refusal for a tender that does not exist, or that the caller may not see."""
    return NotFound(
        _("There is no tender {tender_id}.").format(tender_id=tender_id),
        _(
            "No tender with that id exists on this platform, or it is a draft of another "
            "organisation."
        ),
        _("Check the id; GET /api/tenders lists the tenders you can see."),
        details={"tender_id": str(tender_id)},
    )


def visible_to(session: Session, actor: User | None) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Tender`: the tenders ``actor`` (None: the public) may see."""
    public = Tender.status != TenderStatus.DRAFT
    if actor is None:
        return public
    if actor.role is Role.OFFICER:
        return or_(public, Tender.organisation_id == actor.organisation_id)
    if actor.role is Role.AUDITOR:
        return or_(public, _covered_by(session, actor))
    return public


def require_visible(session: Session, actor: User | None, tender: Tender) -> None:
    """Refuse (as not found) unless ``actor`` may see ``tender``."""
    if tender.status is not TenderStatus.DRAFT:
        return
    if session.scalar(select(Tender.id).where(Tender.id == tender.id, visible_to(session, actor))):
        return
    raise no_such_tender(tender.id)


def require_buyer(actor: User, tender: Tender) -> None:
    """Refuse unless ``actor`` is an officer of the organisation that runs ``tender``.

    Another organisation's draft is answered as not found; its published tender as forbidden.
    """
    if actor.role is Role.OFFICER and actor.organisation_id == tender.organisation_id:
        return
    if tender.status is TenderStatus.DRAFT:
        raise no_such_tender(tender.id)
    raise Forbidden(
        _("You cannot change tender {reference}.").format(reference=tender.reference),
        _(
            "It is run by another organisation; your account ({name}, {organisation}) "
            "can act only on your own organisation's tenders."
        ).format(name=actor.name, organisation=actor.organisation),
        _("Ask an officer of the organisation that runs the tender."),
        tender_id=tender.id,
    )


def oversees(session: Session, actor: User, tender: Tender) -> bool:
    """Whether ``actor`` oversees ``tender``: an officer of its organisation, or an auditor whose
    appointment covers that organisation."""
    if actor.role is Role.OFFICER:
        return actor.organisation_id == tender.organisation_id
    return (
        actor.role is Role.AUDITOR
        and session.scalar(
            select(Tender.id).where(Tender.id == tender.id, _covered_by(session, actor))
        )
        is not None
    )


def require_overseer(session: Session, actor: User, tender: Tender) -> None:
    """Refuse unless ``actor`` may read what the opening revealed of ``tender``: see
    :func:`oversees`."""
    if oversees(session, actor, tender):
        return
    require_visible(session, actor, tender)
    raise Forbidden(
        _("You cannot read the opening of tender {reference}.").format(reference=tender.reference),
        _(
            "The opening record and the bids are for the officers of the organisation that runs "
            "the tender and the auditors appointed to it; your account ({name}, "
            "{organisation}) is neither."
        ).format(name=actor.name, organisation=actor.organisation),
        _(
            "Ask the organisation that runs the tender, or the platform administrator for an "
            "auditor's appointment."
        ),
        tender_id=tender.id,
    )


def _covered_by(session: Session, auditor: User) -> ColumnElement[bool]:
    """Tenders of the organisations ``auditor``'s appointment covers."""
    covers = session.scalars(
        select(AuditorAppointment.organisation_id).where(
            AuditorAppointment.auditor_id == auditor.id
        )
    ).all()
    if None in covers:  # appointed to every organisation
        return true()
    if not covers:
        return false()
    return Tender.organisation_id.in_(covers)
