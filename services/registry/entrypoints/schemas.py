"""API schemas (separate from domain records and tables): what callers send and receive."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from platform_core.contracts.erasure import ERASURE_REASON_HELP, ErasureReason
from registry.domain.uscc import ALPHABET
from registry.domain.vocabulary import MAX_PEOPLE

# The rules the registry's validator enforces (registry.domain.facts, with Chinese messages naming the field),
# stated in the OpenAPI so that a client, and schemathesis, know them: declared here, not checked twice.
USCC_PATTERN = f"^[{ALPHABET}]{{18}}$"
STREET_CODE = {"pattern": "^[0-9]{9}$"}
DISTRICT_CODE = {"pattern": "^[0-9]{6}$"}
PEOPLE = {"minimum": 0, "maximum": MAX_PEOPLE}
NAME = {"minLength": 2, "maxLength": 200}
PERSON = {"minLength": 1, "maxLength": 50}


class EntityCreate(BaseModel):
    """附表1/附表2 facts of one entity. Codes: see GET /reference/*."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "kind": "non_public_enterprise", "subtype": "private", "uscc": "91420100MA4KL0001N",
        "name": "武汉光谷示例科技有限公司", "street_code": "420191001", "industry": "internet", "employees": 120,
        "above_scale": True, "formal_members": 4, "probationary_members": 1, "operation_status": "operating",
        "party_organization": "none", "person_in_charge": "张三", "person_in_charge_is_member": False,
        "legal_representative": "张三", "address": "东湖新技术开发区关山大道1号",
        "no_organization_reason": "党员刚排查出来，正在筹建"}})

    kind: Literal["non_public_enterprise", "social_organization", "rural_entity"]
    subtype: str
    uscc: str = Field(description="统一社会信用代码 (GB 32100-2015, 18 characters, check character verified)",
                      json_schema_extra={"pattern": USCC_PATTERN})
    name: str = Field(description="no control, invisible or private-use characters", json_schema_extra=NAME)
    district_code: str | None = Field(default=None, description="6-digit; derived from street_code when omitted",
                                      json_schema_extra=DISTRICT_CODE)
    street_code: str = Field(description="9-digit street/township or development zone/park code",
                             json_schema_extra=STREET_CODE)
    level: Literal["city", "district"] | None = None
    supervising_department: str | None = None
    industry: str
    employees: int = Field(json_schema_extra=PEOPLE)
    above_scale: bool = False
    formal_members: int = Field(default=0, description="at most employees", json_schema_extra=PEOPLE)
    probationary_members: int = Field(default=0, json_schema_extra=PEOPLE)
    operation_status: Literal["operating", "suspended", "dormant"]
    party_organization: Literal["none", "standalone", "joint", "functional"] = "none"
    person_in_charge: str = Field(json_schema_extra=PERSON)
    person_in_charge_is_member: bool = False
    legal_representative: str | None = Field(default=None, json_schema_extra=PERSON)
    address: str | None = Field(default=None, json_schema_extra={"maxLength": 200})
    no_organization_reason: str | None = Field(default=None, json_schema_extra={"maxLength": 500})
    public_sector_staffed: bool | None = Field(default=None, description=(
        "社会组织是否以机关事业单位人员为主体 (R5: a functional organization needs it); null: not surveyed"))


class ProfileUpdate(BaseModel):
    """Only the fields sent change; ``expected_version`` guards against lost updates."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    employees: int | None = Field(default=None, json_schema_extra=PEOPLE)
    above_scale: bool | None = None
    formal_members: int | None = Field(default=None, description="at most employees (after the change)",
                                       json_schema_extra=PEOPLE)
    probationary_members: int | None = Field(default=None, json_schema_extra=PEOPLE)
    operation_status: Literal["operating", "suspended", "dormant"] | None = None
    party_organization: Literal["none", "standalone", "joint", "functional"] | None = None
    person_in_charge: str | None = Field(default=None, json_schema_extra=PERSON)
    person_in_charge_is_member: bool | None = None
    legal_representative: str | None = Field(default=None, json_schema_extra=PERSON)
    address: str | None = Field(default=None, json_schema_extra={"maxLength": 200})
    industry: str | None = None
    no_organization_reason: str | None = Field(default=None, json_schema_extra={"maxLength": 500})
    public_sector_staffed: bool | None = None


class FlagCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flag: Literal["shell", "zombie", "shadow"]
    reason: str = Field(min_length=1, max_length=500)
    duplicate_of: str | None = Field(default=None, description="for shadow: the entity it duplicates")


class FlagClear(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class CandidateDismiss(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity_id: str
    candidate_of: str


class LedgerReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: list[str] = Field(min_length=1, max_length=50)


class PersonalDataView(BaseModel):
    """The entity's persons record: ``shown`` to callers whose scope covers the entity (then the four person
    fields hold the values), ``withheld`` from everyone else (they see the reference and keyed hashes only),
    ``erased`` for good (crypto-shredding; the fields are null and no hash is kept)."""

    ref: str | None
    status: Literal["shown", "withheld", "erased"]
    erased_at: datetime | None = None
    hash_key: str | None = None
    person_in_charge_hash: str | None = None
    legal_representative_hash: str | None = None
    address_hash: str | None = None


class PersonsErase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ErasureReason = Field(description=ERASURE_REASON_HELP)
    expected_version: int | None = Field(default=None, ge=1)


class EntityPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    entity_id: str
    uscc: str
    name: str
    kind: str
    subtype: str
    district_code: str
    street_code: str
    flags: list[str]
    duplicate_of: str | None
    approved_in: str | None
    in_baseline: bool
    organization_required: str | None = Field(description=(
        "R2 reason the entity must have an organization, on the survey's facts (its declared formal members); "
        "reporting's GET /entities/{id}/status judges R2 on the members membership holds once it holds any"))
    member_required: str | None = Field(description="R2b reason the entity must have a member")
    version: int
    registered_at: datetime
    updated_at: datetime
    person_in_charge: str | None = Field(description="出资人（负责人）: only when personal_data.status is shown")
    person_in_charge_is_member: bool | None = Field(description="only when personal_data.status is shown")
    legal_representative: str | None = Field(description="法定代表人: only when personal_data.status is shown")
    address: str | None = Field(description="only when personal_data.status is shown")
    personal_data: PersonalDataView


class EntityPage(BaseModel):
    total: int
    items: list[EntityPublic]


class LedgerPublic(BaseModel):
    unit: str
    unit_kind: str
    name: str
    district_code: str | None
    status: str
    status_name: str
    submission: int
    version: int
    submitted_count: int
    approved_count: int
    reasons: list[str]
    current_count: int
    not_yet_approved_count: int


class ImportOutcome(BaseModel):
    import_id: str
    status: Literal["imported", "rejected"]
    form: str
    filename: str
    rows: int
    imported: int
    unchanged: int = Field(0, description="rows that are registered already with the same facts: nothing written")
    error_count: int
    errors: list[dict] = Field(description="the first 100 errors; the full report is at errors_url")
    seconds: float
    errors_url: str | None = None


class VerificationImportOutcome(ImportOutcome):
    list_id: str | None = Field(default=None, description="the list's id (VerificationListImported), once imported")
