"""The OCDS 1.1.5 shapes this platform publishes (the parts of the release schema it fills).

Field names are OCDS's. An organisation's Chinese name uses OCDS's language-variant field
``name_zh-Hant-HK``, which is not a Python identifier, hence the functional syntax there.
"""

from __future__ import annotations

from typing import TypedDict

OCDS_VERSION = "1.1"  # a package's "version": the major.minor of the schema (1.1.5)


class Period(TypedDict, total=False):
    startDate: str
    endDate: str


class Value(TypedDict):
    amount: float
    currency: str


class OrganizationReference(TypedDict):
    id: str
    name: str


Organization = TypedDict(
    "Organization",
    {"id": str, "name": str, "name_zh-Hant-HK": str, "roles": list[str]},
    total=False,
)


class Amendment(TypedDict):
    id: str
    date: str
    description: str
    amendsReleaseID: str
    releaseID: str


class Tender(TypedDict, total=False):
    id: str
    title: str
    description: str
    status: str
    procuringEntity: OrganizationReference
    procurementMethod: str
    submissionMethod: list[str]
    tenderPeriod: Period
    numberOfTenderers: int
    amendments: list[Amendment]


class Award(TypedDict):
    id: str
    status: str
    date: str
    value: Value
    suppliers: list[OrganizationReference]


class Release(TypedDict, total=False):
    ocid: str
    id: str
    date: str
    tag: list[str]
    initiationType: str
    language: str
    parties: list[Organization]
    buyer: OrganizationReference
    tender: Tender
    awards: list[Award]


class Publisher(TypedDict):
    name: str


class Links(TypedDict):
    next: str


class ReleasePackage(TypedDict, total=False):
    uri: str
    version: str
    publishedDate: str
    publisher: Publisher
    releases: list[Release]
    links: Links  # the next page of a list (OCDS's paging convention)
