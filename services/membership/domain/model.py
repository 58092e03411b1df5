"""Commands, events and the member's state (DOMAIN.md glossary names).

A member is the stream ``member-<uuid>``; the uuid is random, so the stream id
is the pseudonymous id every other department sees. Names and identity
numbers are not part of the state or of any event: they stay in the
service's encrypted table (docs/membership.md, "Personal data").
"""

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

Standing = Literal["formal", "probationary"]
Way = Literal["found", "developed", "recruited"]
LeaveReason = Literal["death", "expulsion", "left"]

STANDING_ZH = {"formal": "正式党员", "probationary": "预备党员"}


@dataclass(frozen=True)
class DomainEvent:
    """An event a decision produced: its type and JSON-ready payload."""

    type: str
    payload: dict[str, Any]


# -- commands ------------------------------------------------------------------
@dataclass(frozen=True)
class AddMember:
    """Register a person as a member: found in the survey (排查), developed (发展) or recruited (招聘)."""

    way: Way
    member_id: str
    standing: Standing
    admitted_on: date
    entity_id: str
    organization_id: str | None  # None: a hidden or pocket member (隐形/口袋党员)


@dataclass(frozen=True)
class Reveal:
    organization_id: str
    entity_id: str | None = None  # None: stays at the current entity


@dataclass(frozen=True)
class Transfer:
    from_organization_id: str
    to_organization_id: str
    to_entity_id: str


@dataclass(frozen=True)
class Leave:
    reason: LeaveReason


@dataclass(frozen=True)
class ErasePersonalData:
    reason: str  # a PIPL art. 47 ground (platform_core.contracts.erasure), never free text


# -- state ---------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    member_id: str
    standing: Standing
    admitted_on: date
    entity_id: str
    organization_id: str | None
    way: Way
    active: bool = True
    functional: frozenset[str] = field(default_factory=frozenset)
    personal_data_erased: bool = False

    @property
    def hidden(self) -> bool:
        return self.organization_id is None


def evolve(state: Member | None, event_type: str, payload: dict[str, Any]) -> Member:
    """The member after one event (payloads as stored: dates as ISO text)."""
    if event_type in ("MemberRegistered", "MemberDeveloped", "MemberRecruited"):
        way = {"MemberRegistered": "found", "MemberDeveloped": "developed", "MemberRecruited": "recruited"}
        return Member(member_id=payload["member_id"], standing=payload["standing"],
                      admitted_on=date.fromisoformat(payload["admitted_on"]), entity_id=payload["entity_id"],
                      organization_id=payload.get("organization_id"), way=way[event_type])
    if state is None:
        raise ValueError(f"{event_type} before the member was registered")
    if event_type == "MemberRevealed":
        return replace(state, organization_id=payload["organization_id"], entity_id=payload["entity_id"])
    if event_type == "MemberConfirmed":
        return replace(state, standing="formal")
    if event_type == "MemberTransferred":
        return replace(state, organization_id=payload["to_organization_id"], entity_id=payload["to_entity_id"])
    if event_type == "MemberLeft":
        return replace(state, active=False, functional=frozenset())
    if event_type == "FunctionalMembershipAdded":
        return replace(state, functional=state.functional | {payload["organization_id"]})
    if event_type == "FunctionalMembershipRemoved":
        return replace(state, functional=state.functional - {payload["organization_id"]})
    if event_type == "MemberPersonalDataErased":
        return replace(state, personal_data_erased=True)
    raise ValueError(f"unknown member event {event_type!r}")
