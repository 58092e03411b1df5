"""Payloads of ``membership.events`` (docs/rules.md, R5, R13; docs/membership.md).

No personal data: a member is named only by the pseudonymous stream id
``member-<uuid>`` (random, not derived from the person). Names and identity
numbers stay encrypted in the membership service's own table.

Streams
- ``member-<uuid>``: everything that happens to one member. A member has one
  primary registration at any time: a campaign organization (``organization_id``),
  a body the campaign does not manage (``outside_organization``, its name), or
  none (a hidden or pocket member). Only MemberRevealed and MemberTransferred
  change it; MemberReleased does not (the member stays counted at the source
  until the target accepts).
- ``access-<uuid>``: one PersonalDataAccessed each (who read whose personal data,
  when and why), so concurrent reads never contend with a member's commands.

Across two departments' territories a transfer (or a change of workplace) is two
steps, each with its own token: the source's MemberReleased, then the target's
acceptance, which is the MemberTransferred (or MemberWorkplaceChanged) naming the
``release_id``. A release is withdrawn (MemberReleaseWithdrawn) or lapses after
``expires_on`` (no event: acceptance is refused from then on).
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .erasure import ErasureReason

UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MEMBER_ID = f"^member-{UUID_PATTERN}$"
ENTITY_ID = f"^entity-{UUID_PATTERN}$"
ORGANIZATION_ID = f"^organization-{UUID_PATTERN}$"

RELEASE_ID = f"^release-{UUID_PATTERN}$"
ACCESS_ID = f"^access-{UUID_PATTERN}$"

MemberId = Field(pattern=MEMBER_ID)
Standing = Literal["formal", "probationary"]
# The name of a body outside the campaign the member is registered with (e.g. a community's or an agency's
# Party organization): the campaign neither forms nor counts it, so it has no id here.
OutsideName = Field(default=None, min_length=2, max_length=200)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberAdded(_Payload):
    """Shared by the three ways a person becomes a member of the campaign's records."""

    member_id: str = MemberId
    standing: Standing
    admitted_on: date
    entity_id: str = Field(pattern=ENTITY_ID)
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    outside_organization: str | None = OutsideName  # neither: a hidden or pocket member

    @model_validator(mode="after")
    def _one_registration(self):
        if self.organization_id is not None and self.outside_organization is not None:
            raise ValueError("a member has one primary registration: organization_id or outside_organization")
        return self


class MemberRegistered(MemberAdded):
    """Found in the survey (排查)."""


class MemberDeveloped(MemberAdded):
    """Newly developed (发展): probationary, registered with the organization that developed them."""

    standing: Literal["probationary"]
    organization_id: str = Field(pattern=ORGANIZATION_ID)
    outside_organization: None = None


class MemberRecruited(MemberAdded):
    """Hired by an entity at a job fair for members (招聘)."""


class MemberRevealed(_Payload):
    """A hidden or pocket member registered with an organization (亮出): a campaign one or one outside."""

    member_id: str = MemberId
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    outside_organization: str | None = OutsideName
    entity_id: str = Field(pattern=ENTITY_ID)

    @model_validator(mode="after")
    def _one_registration(self):
        if (self.organization_id is None) == (self.outside_organization is None):
            raise ValueError("a reveal names organization_id or outside_organization, exactly one")
        return self


class MemberConfirmed(_Payload):
    """Probationary -> formal (转正), one year after admission at the earliest."""

    member_id: str = MemberId
    admitted_on: date
    confirmed_on: date


class MemberTransferred(_Payload):
    """The primary registration moved (组织关系转接) and the member works at ``to_entity_id``; both sides in
    one event. ``release_id``: the release the target accepted (a transfer across two territories)."""

    member_id: str = MemberId
    from_organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    from_outside_organization: str | None = OutsideName
    from_entity_id: str = Field(pattern=ENTITY_ID)
    to_organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    to_outside_organization: str | None = OutsideName
    to_entity_id: str = Field(pattern=ENTITY_ID)
    release_id: str | None = Field(default=None, pattern=RELEASE_ID)

    @model_validator(mode="after")
    def _one_registration(self):
        if (self.to_organization_id is None) == (self.to_outside_organization is None):
            raise ValueError("a transfer names to_organization_id or to_outside_organization, exactly one")
        return self


class MemberWorkplaceChanged(_Payload):
    """The member now works at ``to_entity_id``; the registration stays where it is. Members are counted at
    the entity where they work, so member counts follow this event."""

    member_id: str = MemberId
    from_entity_id: str = Field(pattern=ENTITY_ID)
    to_entity_id: str = Field(pattern=ENTITY_ID)
    release_id: str | None = Field(default=None, pattern=RELEASE_ID)


class MemberReleased(_Payload):
    """转出: the source department lets the member go to an entity (and organization) in another department's
    territory. Nothing moves and nothing is counted differently until the target accepts."""

    member_id: str = MemberId
    release_id: str = Field(pattern=RELEASE_ID)
    moves: Literal["registration", "workplace"]  # accepted as MemberTransferred / MemberWorkplaceChanged
    from_entity_id: str = Field(pattern=ENTITY_ID)
    from_organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    from_outside_organization: str | None = OutsideName
    to_entity_id: str = Field(pattern=ENTITY_ID)
    to_district_code: str = Field(pattern=r"^\d{6}$")
    to_organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    to_outside_organization: str | None = OutsideName
    released_on: date
    expires_on: date

    @model_validator(mode="after")
    def _consistent(self):
        names = (self.to_organization_id is not None) + (self.to_outside_organization is not None)
        if names != (1 if self.moves == "registration" else 0) or self.expires_on < self.released_on:
            raise ValueError("a registration release names one target organization, a workplace release none; "
                             "expires_on is not before released_on")
        return self


class MemberReleaseWithdrawn(_Payload):
    """The source withdrew its release before the target accepted it."""

    member_id: str = MemberId
    release_id: str = Field(pattern=RELEASE_ID)
    reason: str = Field(min_length=1, max_length=500)


class MemberLeft(_Payload):
    """Death, expulsion or leaving; the member's last registration and functional memberships end."""

    member_id: str = MemberId
    reason: Literal["death", "expulsion", "left"]
    standing: Standing
    entity_id: str = Field(pattern=ENTITY_ID)
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    outside_organization: str | None = OutsideName
    functional_organization_ids: list[str] = Field(default_factory=list)


class FunctionalMembership(_Payload):
    """R5: membership of a functional organization besides the primary registration."""

    member_id: str = MemberId
    organization_id: str = Field(pattern=ORGANIZATION_ID)


class PersonalDataAccessed(_Payload):
    """Someone read a member's name and identity number. Who: the envelope's actor (department and user); when:
    its recorded_at; why: ``reason``, as the reader gave it. ``entity_id`` and ``district_code`` are where the
    member worked then (the scope the reader needed). Inspectors find it in the audit log by the member id."""

    access_id: str = Field(pattern=ACCESS_ID)
    member_id: str = MemberId
    entity_id: str = Field(pattern=ENTITY_ID)
    district_code: str = Field(pattern=r"^(\d{6}|unknown)$")
    reason: str = Field(min_length=4, max_length=200)
    fields: list[Literal["name", "id_number"]] = Field(min_length=1)


class MemberPersonalDataErased(_Payload):
    """The member's name and identity number were erased by crypto-shredding (their data key destroyed).
    The member's record (standing, registration, counts) stays; the person can no longer be known from it."""

    member_id: str = MemberId
    reason: ErasureReason


EVENT_TYPES = {
    "MemberRegistered": MemberRegistered, "MemberDeveloped": MemberDeveloped, "MemberRecruited": MemberRecruited,
    "MemberRevealed": MemberRevealed, "MemberConfirmed": MemberConfirmed, "MemberTransferred": MemberTransferred,
    "MemberWorkplaceChanged": MemberWorkplaceChanged, "MemberReleased": MemberReleased,
    "MemberReleaseWithdrawn": MemberReleaseWithdrawn, "MemberLeft": MemberLeft,
    "FunctionalMembershipAdded": FunctionalMembership, "FunctionalMembershipRemoved": FunctionalMembership,
    "PersonalDataAccessed": PersonalDataAccessed, "MemberPersonalDataErased": MemberPersonalDataErased,
}


def register(registry) -> None:
    for event_type, model in EVENT_TYPES.items():
        registry.register(event_type, 1, model)
