"""Ledgers (台帐) per unit, and their review by the city task force (二(三), R1).

Units (the stream is ``ledger-<unit>``):
  street-<9 digits>             enterprises of a street/township or development zone/park
  district-<6 digits>-enterprise the district's aggregated enterprise ledger (附表1)
  district-<6 digits>-social     district-level social organizations (附表2)
  civil-affairs                  city-level social organizations without a supervising unit
  supervisor-<department code>   city-level social organizations that unit supervises
  city-organs                    all supervised city-level social organizations (市直机关工委 aggregate)
Rural entities are kept in the territorial (street/district) ledgers with the enterprises.

Lifecycle: submitted -> returned (with reasons) -> resubmitted ... -> approved. An
approved ledger may be submitted again with entities registered since
(a supplement); approval puts the submitted entities into the baseline.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from platform_core.errors import ConcurrencyConflict, RuleViolation, SchemaViolation
from platform_core.events import NewEvent
from platform_core.reference import DepartmentDirectory, Territory
from platform_core.rules.ledgers import ledgers_holding


CHUNK = 1000  # entity ids per event, to stay well under the payload limit
STATUS_NAMES = {"none": "未报送", "submitted": "已报送待审核", "returned": "已退回", "approved": "已审核通过"}
_UNIT = re.compile(r"^(street-(?P<street>\d{9})|district-(?P<district>\d{6})-(?P<part>enterprise|social)"
                   r"|civil-affairs|city-organs|supervisor-(?P<supervisor>[a-z_]{2,40}))$")


@dataclass(frozen=True)
class LedgerUnit:
    """Which entities a ledger holds, and which territory it belongs to."""

    code: str
    kind: str
    name: str
    district_code: str | None = None
    street_code: str | None = None
    supervisor: str | None = None

    def holds(self, entity: Mapping[str, Any]) -> bool:
        return self.code in ledgers_holding(entity)


def parse_unit(code: str, territory: Territory, departments: DepartmentDirectory) -> LedgerUnit:
    found = _UNIT.match(code or "")
    if found is None:
        raise SchemaViolation(f"unit：“{code}”不是台帐单位（street-<9位代码>、district-<6位代码>-enterprise|social、"
                              "civil-affairs、supervisor-<主管单位>、city-organs）", field="unit")
    if found["street"]:
        street = territory.street(found["street"])
        if street is None:
            raise SchemaViolation(f"unit：{found['street']}不是{territory.name}的街道（乡镇）或园区", field="unit")
        district = territory.district(street.district_code)
        return LedgerUnit(code, "street", f"{district.name}{street.name}非公企业台帐", street.district_code, street.code)
    if found["district"]:
        district = territory.district(found["district"])
        if district is None:
            raise SchemaViolation(f"unit：{found['district']}不是{territory.name}的区或功能区", field="unit")
        if found["part"] == "enterprise":
            return LedgerUnit(code, "district_enterprise", f"{district.name}非公企业台帐", district.code)
        return LedgerUnit(code, "district_social", f"{district.name}社会组织台帐", district.code)
    if code == "civil-affairs":
        return LedgerUnit(code, "civil_affairs", "市民政局市级社会组织台帐")
    if code == "city-organs":
        return LedgerUnit(code, "city_organs", "市直机关工委市级社会组织台帐")
    supervisor = found["supervisor"]
    if supervisor not in departments.supervising_departments:
        raise SchemaViolation(f"unit：“{supervisor}”不是已知的业务主管单位", field="unit", rule="R8")
    return LedgerUnit(code, "supervisor", f"{departments.supervising_departments[supervisor]}主管社会组织台帐",
                      supervisor=supervisor)


@dataclass(frozen=True)
class LedgerState:
    unit: str
    version: int = 0
    status: str = "none"
    submission: int = 0
    submitted: tuple[str, ...] = ()
    approved: frozenset[str] = field(default_factory=frozenset)
    reasons: tuple[str, ...] = ()


def evolve(state: LedgerState, event_type: str, payload: Mapping[str, Any]) -> LedgerState:
    version = state.version + 1
    ids = tuple(payload.get("entity_ids", ()))
    if event_type == "LedgerSubmitted":
        first = payload.get("part", 1) == 1
        submitted = ids if first else state.submitted + ids
        return replace(state, version=version, status="submitted", submission=payload["submission"],
                       submitted=submitted, reasons=())
    if event_type == "LedgerReturned":
        return replace(state, version=version, status="returned", reasons=tuple(payload["reasons"]))
    if event_type == "LedgerApproved":
        return replace(state, version=version, status="approved", approved=state.approved | set(ids))
    return replace(state, version=version)


def replay(unit: str, events: Iterable[tuple[str, Mapping[str, Any]]]) -> LedgerState:
    state = LedgerState(unit)
    for event_type, payload in events:
        state = evolve(state, event_type, payload)
    return state


def _chunks(event_type: str, unit: LedgerUnit, submission: int, ids: Sequence[str]) -> list[NewEvent]:
    parts = max(1, -(-len(ids) // CHUNK))
    return [NewEvent(event_type, {
        "unit": unit.code, "unit_kind": unit.kind, "district_code": unit.district_code, "submission": submission,
        "part": index + 1, "parts": parts, "entity_ids": list(ids[index * CHUNK:(index + 1) * CHUNK]),
        "entity_count": len(ids)}) for index in range(parts)]


def decide_submit(state: LedgerState, unit: LedgerUnit, entity_ids: Sequence[str]) -> list[NewEvent]:
    """Submit (or resubmit) the unit's current list of entities for review."""
    if state.status == "submitted":
        raise ConcurrencyConflict(f"{unit.name}已报送（第{state.submission}次），正在等待市级工作专班审核",
                                  field="unit")
    if not entity_ids:
        raise RuleViolation(f"{unit.name}没有任何两新组织，不能报送空台帐", field="unit", rule="R1")
    if state.status == "approved" and set(entity_ids) <= state.approved:
        raise RuleViolation(f"{unit.name}已审核通过，且此后没有新登记的两新组织需要补报", field="unit", rule="R1")
    return _chunks("LedgerSubmitted", unit, state.submission + 1, sorted(entity_ids))


def decide_return(state: LedgerState, unit: LedgerUnit, reasons: Sequence[str]) -> list[NewEvent]:
    if state.status != "submitted":
        raise RuleViolation(f"{unit.name}当前状态为“{STATUS_NAMES[state.status]}”，只有已报送的台帐可以退回",
                            field="unit", rule="R1")
    cleaned = [reason.strip() for reason in reasons if reason and reason.strip()]
    if not cleaned:
        raise SchemaViolation("reasons：退回台帐须写明理由", field="reasons")
    return [NewEvent("LedgerReturned", {"unit": unit.code, "unit_kind": unit.kind, "submission": state.submission,
                                       "reasons": cleaned})]


def decide_approve(state: LedgerState, unit: LedgerUnit) -> list[NewEvent]:
    """R1: the entities of the submitted ledger enter the baseline."""
    if state.status != "submitted":
        raise RuleViolation(f"{unit.name}当前状态为“{STATUS_NAMES[state.status]}”，只有已报送的台帐可以审核通过",
                            field="unit", rule="R1")
    return _chunks("LedgerApproved", unit, state.submission, list(state.submitted))
