"""Payloads of the registry's events on ``registry.events`` (docs/registry.md is the contract text).

Entity streams are ``entity-<uuid>``; ledger streams ``ledger-<unit>``. The
membership, formation and reporting services project these payloads, so
fields are only ever added (with an upcaster), never renamed.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["non_public_enterprise", "social_organization", "rural_entity"]
Flag = Literal["shell", "zombie", "shadow"]
OperationStatus = Literal["operating", "suspended", "dormant"]
PartyOrganization = Literal["none", "standalone", "joint", "functional"]
Level = Literal["city", "district"]
LedgerKind = Literal["street", "district_enterprise", "district_social", "civil_affairs", "supervisor",
                     "city_organs"]

Code6 = Field(pattern=r"^\d{6}$")
Code9 = Field(pattern=r"^\d{9}$")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EntityRegisteredV1(_Payload):
    """A two-new entity entered the registry with its survey facts (附表1/附表2). Version 1."""

    entity_id: str = Field(pattern=r"^entity-[0-9a-f-]{36}$")
    uscc: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    subtype: str = Field(min_length=1, max_length=40)
    district_code: str = Code6
    street_code: str = Code9
    level: Level | None = None
    supervising_department: str | None = None
    industry: str = Field(min_length=1, max_length=40)
    employees: int = Field(ge=0)
    above_scale: bool = False
    formal_members: int = Field(ge=0)
    probationary_members: int = Field(ge=0)
    operation_status: OperationStatus
    party_organization: PartyOrganization
    person_in_charge: str = Field(min_length=1, max_length=50)
    person_in_charge_is_member: bool = False
    legal_representative: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=200)
    no_organization_reason: str | None = Field(default=None, max_length=500)
    import_id: str | None = None  # set when the entity came from a spreadsheet import


class EntityRegistered(_EntityRegisteredV1):
    """Version 2: adds ``public_sector_staffed`` (R5, seed 二(四)4: a social organization staffed mainly by
    机关事业单位人员; null when the survey did not record it). Version 1 events are upcast with null."""

    public_sector_staffed: bool | None = None


def _v1_to_v2(payload: dict) -> dict:
    return {**payload, "public_sector_staffed": None}


class _ProfileFields(_Payload):
    """The survey facts a profile update may change, with their types."""

    employees: int = Field(ge=0)
    above_scale: bool
    formal_members: int = Field(ge=0)
    probationary_members: int = Field(ge=0)
    operation_status: OperationStatus
    party_organization: PartyOrganization
    person_in_charge: str = Field(min_length=1, max_length=50)
    person_in_charge_is_member: bool
    legal_representative: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=200)
    industry: str = Field(min_length=1, max_length=40)
    no_organization_reason: str | None = Field(default=None, max_length=500)
    public_sector_staffed: bool | None = None


class EntityProfileUpdated(_Payload):
    """Only the changed survey facts, under the same names as in EntityRegistered.

    ``changed`` lists them; the payload carries exactly those fields besides
    ``entity_id`` and ``changed`` (a field may change to null, e.g. the address).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    entity_id: str = Field(pattern=r"^entity-[0-9a-f-]{36}$")
    changed: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _only_changed_fields(self) -> "EntityProfileUpdated":
        carried = dict(self.model_extra or {})
        if sorted(carried) != sorted(self.changed):
            raise ValueError("changed must name exactly the fields the event carries")
        unknown = sorted(set(carried) - set(_ProfileFields.model_fields))
        if unknown:
            raise ValueError(f"fields {', '.join(unknown)} cannot change by a profile update")
        for name, value in carried.items():
            _ProfileFields.__pydantic_validator__.validate_assignment(
                _ProfileFields.model_construct(), name, value)
        return self


class EntityFlagged(_Payload):
    """Market regulation marked an enterprise shell/zombie/shadow: it leaves the baseline (R1)."""

    entity_id: str = Field(pattern=r"^entity-[0-9a-f-]{36}$")
    flag: Flag
    duplicate_of: str | None = Field(default=None, pattern=r"^entity-[0-9a-f-]{36}$")
    reason: str = Field(min_length=1, max_length=500)


class EntityFlagCleared(_Payload):
    entity_id: str = Field(pattern=r"^entity-[0-9a-f-]{36}$")
    flag: Flag
    reason: str = Field(min_length=1, max_length=500)


class _LedgerPayload(_Payload):
    unit: str = Field(min_length=1, max_length=80)
    unit_kind: LedgerKind
    district_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    submission: int = Field(ge=1)  # 1 for the first submission, +1 for each resubmission
    # Large ledgers are split over several events of one append: part i of parts.
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    entity_ids: list[str] = Field(default_factory=list, max_length=1000)


class LedgerSubmitted(_LedgerPayload):
    entity_count: int = Field(ge=1)


class LedgerReturned(_Payload):
    unit: str = Field(min_length=1, max_length=80)
    unit_kind: LedgerKind
    submission: int = Field(ge=1)
    reasons: list[str] = Field(min_length=1)


class LedgerApproved(_LedgerPayload):
    """The listed entities enter the baseline (R1), unless flagged."""

    entity_count: int = Field(ge=1)


VerifyingDepartment = Literal["market_regulation", "commerce", "economy_it", "civil_affairs", "federation_commerce"]
class VerificationListImported(_Payload):
    """A department's list for verifying the counts (应报尽报、一个不漏, 三(二)), stream
    ``verification-<department>[-<territory>]``; its latest list replaces the earlier one. A list of more than
    400 rows is several events of one append (``part`` 1..``parts``, same ``list_id``); consumers take the union
    of the parts. Per part: ``entity_ids`` the rows matched to registered entities of the list's scope,
    ``member_entity_ids`` (工商联 only) the matched rows marked as member enterprises (会员企业),
    ``registered_differently`` matched rows the registry puts outside the scope, ``not_in_registry`` the codes of
    rows not registered. The counts are the whole list's, as matched at import."""

    list_id: str = Field(pattern=r"^verificationlist-[0-9a-f-]{36}$")
    department: VerifyingDepartment
    territory: str | None = Field(default=None, pattern=r"^\d{6}(\d{3})?$")
    submission: int = Field(ge=1)
    import_id: str = Field(min_length=1, max_length=80)
    row_count: int = Field(ge=0)
    matched_count: int = Field(ge=0)
    registered_differently_count: int = Field(ge=0)
    not_in_registry_count: int = Field(ge=0)
    member_count: int = Field(ge=0)
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    entity_ids: list[str] = Field(default_factory=list, max_length=400)
    member_entity_ids: list[str] = Field(default_factory=list, max_length=400)
    registered_differently: list[str] = Field(default_factory=list, max_length=400)
    not_in_registry: list[str] = Field(default_factory=list, max_length=400)


EVENTS = {
    "EntityRegistered": EntityRegistered, "EntityProfileUpdated": EntityProfileUpdated,
    "EntityFlagged": EntityFlagged, "EntityFlagCleared": EntityFlagCleared,
    "LedgerSubmitted": LedgerSubmitted, "LedgerReturned": LedgerReturned, "LedgerApproved": LedgerApproved,
    "VerificationListImported": VerificationListImported,
}


def register(registry) -> None:
    for event_type, model in EVENTS.items():
        registry.register(event_type, 1, _EntityRegisteredV1 if event_type == "EntityRegistered" else model)
    registry.register("EntityRegistered", 2, EntityRegistered)
    registry.upcaster("EntityRegistered", 1)(_v1_to_v2)
