"""Commands, events and the member's state (names from docs/rules.md's glossary).

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
Moves = Literal["registration", "workplace"]

STANDING_ZH = {"formal": "正式党员", "probationary": "预备党员"}


@dataclass(frozen=True)
class Registration:
    """Where a member's one primary registration (组织关系) is: a campaign organization, a body the campaign
    does not manage (by name), or nowhere (a hidden or pocket member)."""

    organization_id: str | None = None
    outside_organization: str | None = None

    def __post_init__(self) -> None:
        if self.organization_id is not None and self.outside_organization is not None:
            raise ValueError("one primary registration: an organization id or an outside organization's name")

    @property
    def none(self) -> bool:
        return self.organization_id is None and self.outside_organization is None

    def payload(self, prefix: str = "") -> dict[str, str | None]:
        """As events carry it: the organization id always, the outside name only when there is one."""
        fields = {f"{prefix}organization_id": self.organization_id}
        if self.outside_organization is not None:
            fields[f"{prefix}outside_organization"] = self.outside_organization
        return fields

    @classmethod
    def of(cls, payload: dict[str, Any], prefix: str = "") -> "Registration":
        return cls(payload.get(f"{prefix}organization_id"), payload.get(f"{prefix}outside_organization"))

    def __str__(self) -> str:
        if self.organization_id is not None:
            return self.organization_id
        return f"outside the campaign: {self.outside_organization}" if self.outside_organization else "none"


# -- commands ------------------------------------------------------------------
@dataclass(frozen=True)
class AddMember:
    """Register a person as a member: found in the survey (排查), developed (发展) or recruited (招聘)."""

    way: Way
    member_id: str
    standing: Standing
    admitted_on: date
    entity_id: str
    registration: Registration  # none: a hidden or pocket member (隐形/口袋党员)


@dataclass(frozen=True)
class Reveal:
    registration: Registration
    entity_id: str | None = None  # None: stays at the current entity


@dataclass(frozen=True)
class Transfer:
    """Within one department's territory: registration and workplace move in one command."""

    from_organization_id: str | None  # the registration the caller saw (None: registered outside the campaign)
    to: Registration
    to_entity_id: str


@dataclass(frozen=True)
class ChangeWorkplace:
    """The member now works at another entity; the registration stays."""

    entity_id: str


@dataclass(frozen=True)
class Release:
    """转出 across departments' territories: the target's acceptance completes it (R13)."""

    release_id: str
    to_entity_id: str
    to_district_code: str
    to: Registration  # none: a change of workplace only
    from_organization_id: str | None = None  # registration transfers: what the caller saw
    valid_days: int = 30


@dataclass(frozen=True)
class Accept:
    release_id: str


@dataclass(frozen=True)
class Withdraw:
    release_id: str
    reason: str


@dataclass(frozen=True)
class Leave:
    reason: LeaveReason


@dataclass(frozen=True)
class ErasePersonalData:
    reason: str  # a PIPL art. 47 ground (platform_core.contracts.erasure), never free text


# -- state ---------------------------------------------------------------------
@dataclass(frozen=True)
class PendingRelease:
    release_id: str
    moves: Moves
    to_entity_id: str
    to: Registration
    expires_on: date

    def lapsed(self, today: date) -> bool:
        return today > self.expires_on


@dataclass(frozen=True)
class Member:
    member_id: str
    standing: Standing
    admitted_on: date
    entity_id: str
    registration: Registration
    way: Way
    active: bool = True
    functional: frozenset[str] = field(default_factory=frozenset)
    release: PendingRelease | None = None
    personal_data_erased: bool = False

    @property
    def organization_id(self) -> str | None:
        return self.registration.organization_id

    @property
    def hidden(self) -> bool:
        return self.registration.none


ADDED = {"MemberRegistered": "found", "MemberDeveloped": "developed", "MemberRecruited": "recruited"}


def evolve(state: Member | None, event_type: str, payload: dict[str, Any]) -> Member:
    """The member after one event (payloads as stored: dates as ISO text)."""
    if event_type in ADDED:
        return Member(member_id=payload["member_id"], standing=payload["standing"],
                      admitted_on=date.fromisoformat(payload["admitted_on"]), entity_id=payload["entity_id"],
                      registration=Registration.of(payload), way=ADDED[event_type])
    if state is None:
        raise ValueError(f"{event_type} before the member was registered")
    if event_type == "MemberRevealed":
        return replace(state, registration=Registration.of(payload), entity_id=payload["entity_id"])
    if event_type == "MemberConfirmed":
        return replace(state, standing="formal")
    if event_type == "MemberTransferred":
        return replace(state, registration=Registration.of(payload, "to_"), entity_id=payload["to_entity_id"],
                       release=None)
    if event_type == "MemberWorkplaceChanged":
        return replace(state, entity_id=payload["to_entity_id"], release=None)
    if event_type == "MemberReleased":
        return replace(state, release=PendingRelease(
            payload["release_id"], payload["moves"], payload["to_entity_id"], Registration.of(payload, "to_"),
            date.fromisoformat(payload["expires_on"])))
    if event_type == "MemberReleaseWithdrawn":
        return replace(state, release=None)
    if event_type == "MemberLeft":
        return replace(state, active=False, functional=frozenset(), release=None)
    if event_type == "FunctionalMembershipAdded":
        return replace(state, functional=state.functional | {payload["organization_id"]})
    if event_type == "FunctionalMembershipRemoved":
        return replace(state, functional=state.functional - {payload["organization_id"]})
    if event_type == "MemberPersonalDataErased":
        return replace(state, personal_data_erased=True)
    raise ValueError(f"unknown member event {event_type!r}")
