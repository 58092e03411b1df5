"""Payloads of the registry's events on ``registry.events`` (docs/registry.md is the contract text).

Entity streams are ``entity-<uuid>``; ledger streams ``ledger-<unit>``. The
membership, formation and reporting services project these payloads, so
fields are only ever added (with an upcaster), never renamed. Version 2 of
EntityRegistered and EntityProfileUpdated took the persons (person in charge,
legal representative, whether the person in charge is a member, address) out
of clear: they carry a reference and keyed hashes; version 1 events are upcast
without the values. Version 2 also carries the R5 fact ``public_sector_staffed``.
"""

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .erasure import ErasureReason

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


ENTITY_ID = r"^entity-[0-9a-f-]{36}$"
PERSONS_REF = r"^persons-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# Sealed since version 2: the values stay in the registry's own table (docs/security.md, "Personal data").
PERSONAL_FIELDS = ("person_in_charge", "person_in_charge_is_member", "legal_representative", "address")


def _hash() -> Any:
    return Field(default=None, pattern=r"^[0-9a-f]{64}$")


class SealedPersons(_Payload):
    """An entity's persons as events carry them: the reference of the record sealed in the registry's own
    table (its data key's subject) and keyed hashes (HMAC-SHA256, hex) of the normalized person in charge,
    legal representative and address, for equality checks. Never the values; whether the person in charge
    is a member is sealed with no hash at all."""

    ref: str = Field(pattern=PERSONS_REF)
    hash_key: str = Field(pattern=r"^[0-9a-f]{16}$", description="id of the master key the hash key derives from")
    person_in_charge_hash: str | None = _hash()
    legal_representative_hash: str | None = _hash()
    address_hash: str | None = _hash()


class _EntityFacts(_Payload):
    entity_id: str = Field(pattern=ENTITY_ID)
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
    no_organization_reason: str | None = Field(default=None, max_length=500)
    import_id: str | None = None  # set when the entity came from a spreadsheet import


class _PersonsInClear(_Payload):
    person_in_charge: str = Field(min_length=1, max_length=50)
    person_in_charge_is_member: bool = False
    legal_representative: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=200)


class EntityRegisteredV1(_EntityFacts, _PersonsInClear):
    """Version 1 carried the persons in clear; such events stay as written (never rewritten)."""


class EntityRegistered(_EntityFacts):
    """A two-new entity entered the registry with its survey facts (附表1/附表2), its persons sealed.

    ``personal_data`` is null only in events written in version 1 (persons in clear), upcast.
    ``public_sector_staffed`` (R5, the plan's 二(四)4): a social organization staffed mainly by 机关事业单位人员;
    null when the survey did not record it (and in version 1 events)."""

    personal_data: SealedPersons | None
    public_sector_staffed: bool | None = None


class _ClearProfileFields(_Payload):
    """The survey facts a profile update may change, with their types."""

    employees: int = Field(ge=0)
    above_scale: bool
    formal_members: int = Field(ge=0)
    probationary_members: int = Field(ge=0)
    operation_status: OperationStatus
    party_organization: PartyOrganization
    industry: str = Field(min_length=1, max_length=40)
    no_organization_reason: str | None = Field(default=None, max_length=500)
    public_sector_staffed: bool | None = None


class _ProfileFieldsV1(_ClearProfileFields):
    person_in_charge: str = Field(min_length=1, max_length=50)
    person_in_charge_is_member: bool
    legal_representative: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=200)


class _ProfileFieldsV2(_ClearProfileFields):
    personal_data: SealedPersons | None  # the persons record after the update (null: upcast from version 1)


class _ProfileUpdate(_Payload):
    """Only the changed survey facts, under the same names as in EntityRegistered.

    ``changed`` lists them; the payload carries exactly those fields besides
    ``entity_id`` and ``changed`` (a field may change to null, e.g. no_organization_reason).
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    fields_model: ClassVar[type[_Payload]]

    entity_id: str = Field(pattern=ENTITY_ID)
    changed: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _only_changed_fields(self) -> "_ProfileUpdate":
        carried = dict(self.model_extra or {})
        if sorted(carried) != sorted(self.changed):
            raise ValueError("changed must name exactly the fields the event carries")
        unknown = sorted(set(carried) - set(self.fields_model.model_fields))
        if unknown:
            raise ValueError(f"fields {', '.join(unknown)} cannot change by a profile update")
        for name, value in carried.items():
            self.fields_model.__pydantic_validator__.validate_assignment(self.fields_model.model_construct(),
                                                                         name, value)
        return self


class EntityProfileUpdatedV1(_ProfileUpdate):
    fields_model = _ProfileFieldsV1


class EntityProfileUpdated(_ProfileUpdate):
    """Version 2: a change of any of the persons is ``personal_data`` (the record after it), never the values."""

    fields_model = _ProfileFieldsV2


class EntityPersonalDataErased(_Payload):
    """The entity's persons record ``personal_data_ref`` was erased by crypto-shredding: its data key is
    destroyed, its sealed values can never be opened, and the registry keeps none of its hashes."""

    entity_id: str = Field(pattern=ENTITY_ID)
    personal_data_ref: str = Field(pattern=PERSONS_REF)
    reason: ErasureReason


class EntityFlagged(_Payload):
    """Market regulation marked an enterprise shell/zombie/shadow: it leaves the baseline (R1)."""

    entity_id: str = Field(pattern=ENTITY_ID)
    flag: Flag
    duplicate_of: str | None = Field(default=None, pattern=ENTITY_ID)
    reason: str = Field(min_length=1, max_length=500)


class EntityFlagCleared(_Payload):
    entity_id: str = Field(pattern=ENTITY_ID)
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
    "EntityPersonalDataErased": EntityPersonalDataErased,
    "VerificationListImported": VerificationListImported,
}
SEALED_SINCE = 2  # EntityRegistered and EntityProfileUpdated: the persons sealed from this version on
VERSION_1 = {"EntityRegistered": EntityRegisteredV1, "EntityProfileUpdated": EntityProfileUpdatedV1}


def registered_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """The persons of a version 1 event stay out of every reader's hands: only the event itself keeps them."""
    for name in PERSONAL_FIELDS:
        payload.pop(name, None)
    payload["personal_data"] = None
    payload["public_sector_staffed"] = None  # R5's fact was not surveyed before version 2
    return payload


def profile_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A version 1 change of the persons becomes ``personal_data`` null (changed, values not given)."""
    sealed = [name for name in payload["changed"] if name in PERSONAL_FIELDS]
    if sealed:
        for name in sealed:
            payload.pop(name, None)
        payload["changed"] = sorted([n for n in payload["changed"] if n not in PERSONAL_FIELDS] + ["personal_data"])
        payload["personal_data"] = None
    return payload


def register(registry) -> None:
    for event_type, model in VERSION_1.items():
        registry.register(event_type, 1, model)
    for event_type, model in EVENTS.items():
        registry.register(event_type, SEALED_SINCE if event_type in VERSION_1 else 1, model)
    registry.upcaster("EntityRegistered", 1)(registered_v1_to_v2)
    registry.upcaster("EntityProfileUpdated", 1)(profile_v1_to_v2)
