"""API schemas (separate from domain and table types).

Validation messages are pydantic's ``msg`` texts, which name the constraint
and never repeat the input: an identity number sent in the wrong shape does
not come back in the error (tested).
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from platform_core.contracts.erasure import ERASURE_REASON_HELP, ErasureReason
from platform_core.contracts.membership import ENTITY_ID, MEMBER_ID, ORGANIZATION_ID

Standing = Literal["formal", "probationary"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(_In):
    name: str = Field(min_length=1, max_length=64, description="姓名 (personal data: stored encrypted)")
    id_number: str = Field(min_length=1, max_length=32,
                           description="18-character citizen identity number, checked with ISO 7064 MOD 11-2")


class MemberFoundIn(PersonIn):
    """排查: a member found in the survey; no organization_id for a hidden or pocket member."""

    standing: Standing
    admitted_on: date = Field(description="入党日期")
    entity_id: str = Field(pattern=ENTITY_ID, description="the entity where the member works")
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID)


class MemberDevelopedIn(PersonIn):
    """发展: a new probationary member, registered with the organization that developed them."""

    admitted_on: date
    entity_id: str = Field(pattern=ENTITY_ID)
    organization_id: str = Field(pattern=ORGANIZATION_ID)


class MemberRecruitedIn(MemberFoundIn):
    """招聘: a member hired by an entity at a job fair for members."""


class Versioned(_In):
    expected_version: int | None = Field(default=None, ge=0,
                                         description="the member's version the caller decided on (409 otherwise)")


class RevealIn(Versioned):
    organization_id: str = Field(pattern=ORGANIZATION_ID)
    entity_id: str | None = Field(default=None, pattern=ENTITY_ID, description="default: the current entity")


class TransferIn(Versioned):
    from_organization_id: str = Field(pattern=ORGANIZATION_ID)
    to_organization_id: str = Field(pattern=ORGANIZATION_ID)
    to_entity_id: str = Field(pattern=ENTITY_ID)


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


class PersonalData(BaseModel):
    """Opened with the member's data key; both null once erased (``personal_data_erased``)."""

    name: str | None
    id_number: str | None


class MemberOut(BaseModel):
    """A member; ``personal`` only for organization departments covering the member's district."""

    member_id: str
    standing: Standing
    standing_zh: str
    active: bool
    way: str
    admitted_on: date
    entity_id: str
    organization_id: str | None
    district_code: str
    functional_organization_ids: list[str]
    version: int
    personal_data_erased: bool = Field(default=False, description="the name and identity number were erased")
    personal: PersonalData | None = None
