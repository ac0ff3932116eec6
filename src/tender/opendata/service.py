"""OCDS releases of the public record, built from the tenders, addenda, openings and awards.

Each release is the tender as it stood at one public moment: its publication (``tender``),
each addendum (``tenderAmendment``, with the deadline it set), the end of the opening
(``tenderUpdate``, the number of tenderers: nothing about bids is public before it), the award
(``award``) and a cancellation of a published tender (``tenderCancellation``). A draft has no
release and its ocid answers as unknown, so nobody learns that it exists.

ocids are ``<prefix>-<tender id>`` (``TENDER_OCDS_PREFIX``): the id never changes, unlike a
reference, which a draft may still edit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tender.accounts.models import Organisation, User
from tender.awards.models import TenderAward
from tender.bids.models import BidDocument
from tender.documents.models import Addendum
from tender.errors import NotFound
from tender.i18n import gettext as _
from tender.opendata.schemas import (
    OCDS_VERSION,
    Amendment,
    Award,
    Organization,
    OrganizationReference,
    Release,
    ReleasePackage,
    Tender,
)
from tender.opening.models import OpeningResult
from tender.tenders.models import Tender as TenderRow

MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000


def ocds_time(moment: datetime) -> str:
    """OCDS date-time: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class OpenDataService:
    """Public releases, read in the caller's transaction."""

    session: Session
    prefix: str
    publisher: str
    now: datetime

    def ocid(self, tender: TenderRow) -> str:
        return f"{self.prefix}-{tender.id}"

    def releases_of(self, ocid: str, *, uri: str) -> ReleasePackage:
        """Every release of the tender with ``ocid``, as a release package."""
        tender = self._public_tender(ocid)
        return self._package(self._releases(tender), uri=uri)

    def page(self, *, offset: int, limit: int, uri: str, next_uri: str) -> ReleasePackage:
        """The releases of published tenders ``offset`` to ``offset + limit`` (oldest first);
        ``links.next`` (``next_uri``) when more follow."""
        public = select(TenderRow).where(TenderRow.published_at.is_not(None))
        total = self.session.scalar(select(func.count()).select_from(public.subquery())) or 0
        tenders = self.session.scalars(
            public.order_by(TenderRow.published_at, TenderRow.id).offset(offset).limit(limit)
        ).all()
        releases = [release for tender in tenders for release in self._releases(tender)]
        if not releases:
            raise NotFound(
                _("There are no releases from tender {number} on.").format(number=offset + 1),
                _(
                    "This platform has published {total} tenders; an OCDS release package holds "
                    "at least one release."
                ).format(total=total),
                _("Start from offset=0, or follow links.next of the previous page."),
            )
        package = self._package(releases, uri=uri)
        if offset + limit < total:
            package["links"] = {"next": next_uri}
        return package

    def _package(self, releases: list[Release], *, uri: str) -> ReleasePackage:
        return {
            "uri": uri,
            "version": OCDS_VERSION,
            "publishedDate": ocds_time(self.now),
            "publisher": {"name": self.publisher},
            "releases": releases,
        }

    def _public_tender(self, ocid: str) -> TenderRow:
        start = f"{self.prefix}-"
        tender = None
        if ocid.startswith(start):
            try:
                tender = self.session.get(TenderRow, uuid.UUID(ocid.removeprefix(start)))
            except ValueError:
                tender = None
        if tender is None or tender.published_at is None:  # a draft is not public
            raise NotFound(
                _("There is no published tender with ocid {ocid!r}.").format(ocid=ocid),
                _(
                    "ocids on this platform are '{start}' followed by a tender's id, and only "
                    "published tenders have releases."
                ).format(start=start),
                _("Check the ocid; GET /ocds/releases lists every published tender's releases."),
            )
        return tender

    def _releases(self, tender: TenderRow) -> list[Release]:
        assert tender.published_at is not None  # only public tenders come here
        ocid = self.ocid(tender)
        buyer = self.session.get(Organisation, tender.organisation_id)
        assert buyer is not None  # a foreign key
        snapshot = _Snapshot(ocid, tender, _party(buyer, roles=["buyer", "procuringEntity"]))
        addenda = self.session.scalars(
            select(Addendum).where(Addendum.tender_id == tender.id).order_by(Addendum.number)
        ).all()
        # The deadline as published: before the first addendum that extended it.
        snapshot.deadline = next(
            (a.previous_deadline for a in addenda if a.previous_deadline), tender.deadline
        )
        releases = [snapshot.release("tender", tender.published_at)]
        for addendum in addenda:
            snapshot.deadline = addendum.deadline or snapshot.deadline
            snapshot.amendments.append(
                {
                    "id": str(addendum.number),
                    "date": ocds_time(addendum.published_at),
                    "description": addendum.text,
                    "amendsReleaseID": releases[-1]["id"],
                    "releaseID": snapshot.release_id(f"addendum-{addendum.number}"),
                }
            )
            releases.append(
                snapshot.release(
                    "tenderAmendment", addendum.published_at, suffix=f"addendum-{addendum.number}"
                )
            )
        if tender.opened_at is not None:  # bids are public only from the end of the opening
            snapshot.tenderers = self._tenderers(tender.id)
            releases.append(snapshot.release("tenderUpdate", tender.opened_at, suffix="opening"))
        award = self.session.get(TenderAward, tender.id)
        if award is not None:
            snapshot.status = "complete"
            snapshot.award = self._award(ocid, award)
            releases.append(snapshot.release("award", award.awarded_at))
        if tender.cancelled_at is not None:
            snapshot.status = "cancelled"
            releases.append(snapshot.release("tenderCancellation", tender.cancelled_at))
        return releases

    def _tenderers(self, tender_id: uuid.UUID) -> int:
        """How many organisations' bids were opened."""
        return (
            self.session.scalar(
                select(func.count(func.distinct(User.organisation_id)))
                .select_from(OpeningResult)
                .join(BidDocument, BidDocument.id == OpeningResult.document_id)
                .join(User, User.id == BidDocument.supplier_id)
                .where(OpeningResult.tender_id == tender_id)
            )
            or 0
        )

    def _award(self, ocid: str, award: TenderAward) -> tuple[Award, list[Organization]]:
        winners = [self._supplier(name) for name in award.winners]
        return (
            {
                "id": f"{ocid}-award",
                "status": "active",
                "date": ocds_time(award.awarded_at),
                "value": {"amount": float(Decimal(award.value)), "currency": award.currency},
                "suppliers": [_reference(party) for party in winners],
            },
            winners,
        )

    def _supplier(self, name: str) -> Organization:
        organisation = self.session.scalar(select(Organisation).where(Organisation.name_en == name))
        if organisation is None:  # named in the record, no longer a record: its name only
            return {"id": f"name:{name}", "name": name, "roles": ["supplier"]}
        return _party(organisation, roles=["supplier"])


class _Snapshot:
    """The tender as the public saw it, changed release by release."""

    def __init__(self, ocid: str, tender: TenderRow, buyer: Organization) -> None:
        self.ocid = ocid
        self.tender = tender
        self.buyer = buyer
        self.deadline = tender.deadline
        self.status = "active"
        self.amendments: list[Amendment] = []
        self.tenderers: int | None = None
        self.award: tuple[Award, list[Organization]] | None = None

    def release_id(self, suffix: str) -> str:
        return f"{self.ocid}-{suffix}"

    def release(self, tag: str, at: datetime, *, suffix: str | None = None) -> Release:
        assert self.tender.published_at is not None
        tender: Tender = {
            "id": self.tender.reference,
            "title": self.tender.title,
            "description": self.tender.description,
            "status": self.status,
            "procuringEntity": _reference(self.buyer),
            "procurementMethod": "open",
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": {
                "startDate": ocds_time(self.tender.published_at),
                "endDate": ocds_time(self.deadline),
            },
        }
        if self.amendments:
            tender["amendments"] = list(self.amendments)
        if self.tenderers is not None:
            tender["numberOfTenderers"] = self.tenderers
        release: Release = {
            "ocid": self.ocid,
            "id": self.release_id(suffix or tag),
            "date": ocds_time(at),
            "tag": [tag],
            "initiationType": "tender",
            "language": "en",
            "parties": [self.buyer],
            "buyer": _reference(self.buyer),
            "tender": tender,
        }
        if self.award is not None:
            award, winners = self.award
            release["awards"] = [award]
            release["parties"] = [self.buyer, *winners]
        return release


def _party(organisation: Organisation, *, roles: list[str]) -> Organization:
    party: Organization = {"id": str(organisation.id), "name": organisation.name_en, "roles": roles}
    if organisation.name_zh:
        party["name_zh-Hant-HK"] = organisation.name_zh
    return party


def _reference(party: Organization) -> OrganizationReference:
    return {"id": party["id"], "name": party["name"]}
