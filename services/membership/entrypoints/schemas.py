"""API schemas (separate from domain and table types).

Validation messages are pydantic's ``msg`` texts, which name the constraint
and never repeat the input: an identity number sent in the wrong shape does
not come back in the error (tested).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_core.api_types import IsoDate
from platform_core.contracts.erasure import ERASURE_REASON_HELP, ErasureReason
from platform_core.contracts.membership import ENTITY_ID, MEMBER_ID, ORGANIZATION_ID, RELEASE_ID

Standing = Literal["formal", "probationary"]
OUTSIDE = ("the name of a body outside the campaign the member is registered with (e.g. a community's Party "
           "organization): instead of an organization id")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _one_of(model: BaseModel, a: str, b: str, required: bool) -> None:
    given = (getattr(model, a) is not None) + (getattr(model, b) is not None)
    if given > 1 or (required and given == 0):
        raise ValueError(f"give {'exactly' if required else 'at most'} one of {a} and {b}")


class PersonIn(_In):
    name: str = Field(min_length=1, max_length=64, description="姓名 (personal data: stored encrypted)")
    id_number: str = Field(min_length=1, max_length=32,
                           description="18-character citizen identity number, checked with ISO 7064 MOD 11-2")


class MemberFoundIn(PersonIn):
    """排查: a member found in the survey; no organization_id for a hidden or pocket member."""

    standing: Standing
    admitted_on: IsoDate = Field(description="入党日期")
    entity_id: str = Field(pattern=ENTITY_ID, description="the entity where the member works")
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID,
                                        description="an active organization covering entity_id")
    outside_organization: str | None = Field(default=None, min_length=2, max_length=200, description=OUTSIDE)

    @model_validator(mode="after")
    def _registration(self):
        _one_of(self, "organization_id", "outside_organization", required=False)
        return self


class MemberDevelopedIn(PersonIn):
    """发展: a new probationary member, registered with the organization that developed them."""

    admitted_on: IsoDate
    entity_id: str = Field(pattern=ENTITY_ID)
    organization_id: str = Field(pattern=ORGANIZATION_ID)


class MemberRecruitedIn(MemberFoundIn):
    """招聘: a member hired by an entity at a job fair for members."""


class Versioned(_In):
    expected_version: int | None = Field(default=None, ge=0,
                                         description="the member's version the caller decided on (409 otherwise)")


class RevealIn(Versioned):
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)
    outside_organization: str | None = Field(default=None, min_length=2, max_length=200, description=OUTSIDE)
    entity_id: str | None = Field(default=None, pattern=ENTITY_ID, description="default: the current entity")

    @model_validator(mode="after")
    def _registration(self):
        _one_of(self, "organization_id", "outside_organization", required=True)
        return self


class _Target(Versioned):
    to_organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID,
                                           description="an active organization covering to_entity_id")
    to_outside_organization: str | None = Field(default=None, min_length=2, max_length=200, description=OUTSIDE)
    to_entity_id: str = Field(pattern=ENTITY_ID)


class TransferIn(_Target):
    from_organization_id: str | None = Field(pattern=ORGANIZATION_ID, description=(
        "the registration the caller saw (null: registered outside the campaign); 409 when it changed"))

    @model_validator(mode="after")
    def _registration(self):
        _one_of(self, "to_organization_id", "to_outside_organization", required=True)
        return self


class WorkplaceIn(Versioned):
    entity_id: str = Field(pattern=ENTITY_ID, description="the entity where the member works now")


class ReleaseIn(_Target):
    """Names a target organization for a transfer, none for a change of workplace."""

    from_organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID, description=(
        "for a transfer: the registration the caller saw (null: registered outside the campaign)"))
    valid_days: int = Field(default=30, ge=1, le=90, description="the target may accept it this many days")

    @model_validator(mode="after")
    def _registration(self):
        _one_of(self, "to_organization_id", "to_outside_organization", required=False)
        return self


class AcceptIn(Versioned):
    release_id: str = Field(pattern=RELEASE_ID)


class WithdrawIn(Versioned):
    release_id: str = Field(pattern=RELEASE_ID)
    reason: str = Field(min_length=1, max_length=500)


class PersonalDataIn(_In):
    reason: str = Field(min_length=4, max_length=200, description=(
        "why you read it (recorded with your department and user, visible to inspectors)"))


class FunctionalIn(Versioned):
    organization_id: str = Field(pattern=ORGANIZATION_ID)


class LeaveIn(Versioned):
    reason: Literal["death", "expulsion", "left"] = Field(description="death 去世, expulsion 开除/除名, left 退党")


class EraseIn(Versioned):
    reason: ErasureReason = Field(description=ERASURE_REASON_HELP)


class EventRef(BaseModel):
    event_id: str
    type: str


class CommandResult(BaseModel):
    member_id: str = Field(pattern=MEMBER_ID)
    stream_version: int
    events: list[EventRef]
    release_id: str | None = Field(default=None, description="the release a release command made")


class PersonalDataOut(BaseModel):
    member_id: str
    name: str
    id_number: str
    access_id: str = Field(description="the PersonalDataAccessed recorded for this read")


class ReleaseOut(BaseModel):
    release_id: str
    member_id: str
    moves: Literal["registration", "workplace"]
    from_entity_id: str
    to_entity_id: str
    to_district_code: str
    to_organization_id: str | None
    to_outside_organization: str | None
    released_on: IsoDate
    expires_on: IsoDate
    expired: bool = Field(description="past expires_on: it can no longer be accepted")


class MemberOut(BaseModel):
    """A member, pseudonymous (personal data: POST /members/{id}/personal-data)."""

    member_id: str
    standing: Standing
    standing_zh: str
    active: bool
    way: str
    admitted_on: IsoDate
    entity_id: str
    organization_id: str | None
    outside_organization: str | None
    district_code: str
    functional_organization_ids: list[str]
    pending_release: ReleaseOut | None
    version: int
    personal_data_erased: bool = Field(default=False, description="the name and identity number were erased")
