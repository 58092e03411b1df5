"""Payloads of ``membership.events`` (DOMAIN.md R5, R13).

No personal data: a member is named only by the pseudonymous stream id
``member-<uuid>`` (random, not derived from the person). Names and identity
numbers stay encrypted in the membership service's own table.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .erasure import ErasureReason

UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MEMBER_ID = f"^member-{UUID_PATTERN}$"
ENTITY_ID = f"^entity-{UUID_PATTERN}$"
ORGANIZATION_ID = f"^organization-{UUID_PATTERN}$"

MemberId = Field(pattern=MEMBER_ID)
Standing = Literal["formal", "probationary"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberAdded(_Payload):
    """Shared by the three ways a person becomes a member of the campaign's records."""

    member_id: str = MemberId
    standing: Standing
    admitted_on: date
    entity_id: str = Field(pattern=ENTITY_ID)
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)  # None: hidden or pocket member


class MemberRegistered(MemberAdded):
    """Found in the survey (排查)."""


class MemberDeveloped(MemberAdded):
    """Newly developed (发展): probationary, registered with the organization that developed them."""

    standing: Literal["probationary"]
    organization_id: str = Field(pattern=ORGANIZATION_ID)


class MemberRecruited(MemberAdded):
    """Hired by an entity at a job fair for members (招聘)."""


class MemberRevealed(_Payload):
    """A hidden or pocket member registered with an organization (亮出)."""

    member_id: str = MemberId
    organization_id: str = Field(pattern=ORGANIZATION_ID)
    entity_id: str = Field(pattern=ENTITY_ID)


class MemberConfirmed(_Payload):
    """Probationary -> formal (转正), one year after admission at the earliest."""

    member_id: str = MemberId
    admitted_on: date
    confirmed_on: date


class MemberTransferred(_Payload):
    """The primary registration moved (组织关系转接); both sides in one event."""

    member_id: str = MemberId
    from_organization_id: str = Field(pattern=ORGANIZATION_ID)
    from_entity_id: str = Field(pattern=ENTITY_ID)
    to_organization_id: str = Field(pattern=ORGANIZATION_ID)
    to_entity_id: str = Field(pattern=ENTITY_ID)


class MemberLeft(_Payload):
    """Death, expulsion or leaving; the member's last registration and functional memberships end."""

    member_id: str = MemberId
    reason: Literal["death", "expulsion", "left"]
    standing: Standing
    entity_id: str = Field(pattern=ENTITY_ID)
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    functional_organization_ids: list[str] = Field(default_factory=list)


class FunctionalMembership(_Payload):
    """R5: membership of a functional organization besides the primary registration."""

    member_id: str = MemberId
    organization_id: str = Field(pattern=ORGANIZATION_ID)


class MemberPersonalDataErased(_Payload):
    """The member's name and identity number were erased by crypto-shredding (their data key destroyed).
    The member's record (standing, registration, counts) stays; the person can no longer be known from it."""

    member_id: str = MemberId
    reason: ErasureReason


EVENT_TYPES = {
    "MemberRegistered": MemberRegistered, "MemberDeveloped": MemberDeveloped, "MemberRecruited": MemberRecruited,
    "MemberRevealed": MemberRevealed, "MemberConfirmed": MemberConfirmed, "MemberTransferred": MemberTransferred,
    "MemberLeft": MemberLeft, "FunctionalMembershipAdded": FunctionalMembership,
    "FunctionalMembershipRemoved": FunctionalMembership, "MemberPersonalDataErased": MemberPersonalDataErased,
}


def register(registry) -> None:
    for event_type, model in EVENT_TYPES.items():
        registry.register(event_type, 1, model)
