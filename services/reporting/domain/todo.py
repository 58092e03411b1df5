"""The daily to-do lists (每日待办清单): pure functions over the projection's state, one per list.

Each list is a filter of the entities' derived statuses (``reporting.domain.status.derive_status``, which applies
the shared rule functions of ``platform_core.rules``) and, for plans, the plan's target date judged by
``platform_core.rules.plans.plan_overdue`` on the campaign's business date — no rule is implemented twice.
Lists a)-d) and f) are of baseline entities (R1: an approved ledger, no shell/zombie/shadow flag); e) is of the
registered entities no approved ledger holds (flagged ones excluded: they stay out of the baseline anyway).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from platform_core.auth import Principal
from platform_core.rules.plans import plan_overdue

from .fold import PlanState
from .status import EntityStatus


@dataclass(frozen=True)
class TodoEntity:
    """One entity as the lists see it: its derived status, the ledger that approved it, its plan."""

    status: EntityStatus
    approved_unit: str | None = None
    plan: PlanState | None = None


@dataclass(frozen=True)
class TodoList:
    key: str
    title: str  # the list's Chinese name
    rule: str  # docs/rules.md
    columns: tuple[tuple[str, str, str], ...]  # (field, Chinese header, "text" | "number" | "date")
    admits: Callable[[TodoEntity, date], bool]


def _standalone(e: TodoEntity, _: date) -> bool:
    return e.status.in_baseline and e.status.r3_violation


def _member(e: TodoEntity, _: date) -> bool:
    return e.status.in_baseline and e.status.member_required_reason is not None and not e.status.member_requirement_met


def _uncovered(e: TodoEntity, _: date) -> bool:
    return e.status.in_baseline and not e.status.two_covered


def _plan_past(e: TodoEntity, today: date) -> bool:
    return (e.status.in_baseline and e.plan is not None
            and plan_overdue(date.fromisoformat(e.plan.target_date), today, e.status.organization_covered))


def _unlisted(e: TodoEntity, _: date) -> bool:
    return e.approved_unit is None and not e.status.flags


def _declared(e: TodoEntity, _: date) -> bool:
    return e.status.in_baseline and e.status.declared_organization is not None


COMMON = (("name", "单位名称", "text"), ("kind", "类型", "text"), ("district", "区", "text"),
          ("street", "街道（园区）", "text"), ("ledger_unit", "台帐", "text"))
LISTS: dict[str, TodoList] = {t.key: t for t in (
    TodoList("standalone", "有3名及以上正式党员、未单独建立党组织", "R3",
             COMMON + (("formal_members", "正式党员", "number"), ("organization_modes", "现有组织形式", "text")),
             _standalone),
    TodoList("member", "职工50人以上、没有党员的非公企业", "R2b",
             COMMON + (("employees", "职工人数", "number"), ("formal_members", "正式党员", "number"),
                       ("probationary_members", "预备党员", "number")), _member),
    TodoList("uncovered", "党的组织和党的工作均未覆盖", "R6、R7",
             COMMON + (("employees", "职工人数", "number"), ("formal_members", "正式党员", "number"),
                       ("required_reason", "应建原因", "text")), _uncovered),
    TodoList("plans_overdue", "一企一策（一社一策）逾期未完成", "R9",
             COMMON + (("plan_label", "方案", "text"), ("target_date", "目标日期", "date"),
                       ("days_overdue", "逾期天数", "number"), ("responsible_role", "责任人职务", "text"),
                       ("last_noted_on", "最近进展日期", "date")), _plan_past),
    TodoList("unlisted", "未纳入审核通过台帐的单位", "R1",
             COMMON + (("employees", "职工人数", "number"), ("formal_members", "正式党员", "number")), _unlisted),
    TodoList("declared", "摸底申报已建党组织、组建记录尚未核实", "R7",
             COMMON + (("declared_mode", "申报的组织形式", "text"),), _declared),
)}


def ledger_units(e: TodoEntity) -> set[str]:
    """Every ledger unit that holds, or would hold, the entity (docs/registry.md "Units and ledgers"): the one that
    approved it, and by kind and level its street's and district's, or the city-level social organizations'."""
    s = e.status
    units = {e.approved_unit} if e.approved_unit else set()
    if s.kind == "social_organization":
        if s.department.startswith("district-"):
            units.add(f"district-{s.district_code}-social")
        else:
            units.add(s.department)  # civil-affairs or supervisor-<code>
            if s.department.startswith("supervisor-"):
                units.add("city-organs")
    else:
        units |= {f"street-{s.street_code}", f"district-{s.district_code}-enterprise"}
    return units


def in_scope(e: TodoEntity, district: str | None, street: str | None, ledger_unit: str | None) -> bool:
    return ((district is None or e.status.district_code == district)
            and (street is None or e.status.street_code == street)
            and (ledger_unit is None or ledger_unit in ledger_units(e)))


def todo(key: str, entities: Iterable[TodoEntity], today: date, district: str | None = None,
         street: str | None = None, ledger_unit: str | None = None) -> list[TodoEntity]:
    """The list ``key`` of the scope on the business date ``today``, by district, street and name."""
    admits = LISTS[key].admits
    found = [e for e in entities if in_scope(e, district, street, ledger_unit) and admits(e, today)]
    return sorted(found, key=lambda e: (e.status.district_code, e.status.street_code, e.status.name,
                                        e.status.entity_id))


# Departments that read a non-territorial ledger unit's lists, beyond the city organization department and
# the inspectors (who read every list): the unit's own department, and the city organs' committee for the
# supervised units it aggregates.
CITY_WIDE_READERS = ("city_org", "inspector")


def refusal(principal: Principal, district: str | None, street: str | None, ledger_unit: str | None) -> str | None:
    """Why ``principal`` may not read the lists of this scope (None: it may). A territorial department reads only
    inside its territory; a ledger unit's lists are read by the unit's own department."""
    if principal.territory is not None:
        inside = [code for code in (street, district) if code]
        if ledger_unit and ledger_unit.startswith(("street-", "district-")):
            inside.append(ledger_unit.split("-")[1])
        elif ledger_unit:
            return f"{principal.department} 只能查看本辖区（{principal.territory}）的待办清单，台帐 {ledger_unit} 不在其中"
        if not inside or not all(principal.covers(code) for code in inside):
            return f"{principal.department} 只能查看本辖区（{principal.territory}）的待办清单"
        return None
    if principal.kind in CITY_WIDE_READERS or ledger_unit is None or ledger_unit.startswith(("street-", "district-")):
        return None
    own = {"civil_affairs": ("civil-affairs",), "city_organs_committee": ("city-organs", "supervisor-")}
    if ledger_unit.startswith(own.get(principal.kind, ())) or ledger_unit == f"supervisor-{principal.kind}":
        return None
    return f"{principal.department} 不能查看台帐 {ledger_unit} 的待办清单（只限该台帐的报送部门）"


def row(key: str, e: TodoEntity, today: date, names: Callable[[str, str | None], str]) -> dict:
    """The list's row for ``e``: its columns' values (numbers as numbers, dates as dates) and the entity id.
    ``names(kind, code)`` gives a Chinese name: kind is "district", "street", "unit" or "entity_kind"."""
    s = e.status
    values = {"entity_id": s.entity_id, "name": s.name, "kind": names("entity_kind", s.kind),
              "district": names("district", s.district_code), "street": names("street", s.street_code),
              "ledger_unit": names("unit", e.approved_unit) if e.approved_unit else "（未纳入台帐）",
              "formal_members": s.formal_members, "probationary_members": s.probationary_members,
              "employees": s.employees, "required_reason": s.required_reason or "",
              "organization_modes": "、".join(names("mode", m) for m in sorted({m for _, m in s.organizations}))
              or "无", "declared_mode": names("mode", s.declared_organization) if s.declared_organization else ""}
    if e.plan is not None:
        target = date.fromisoformat(e.plan.target_date)
        values |= {"plan_label": e.plan.label, "target_date": target, "days_overdue": max((today - target).days, 0),
                   "responsible_role": e.plan.responsible_role,
                   "last_noted_on": date.fromisoformat(e.plan.last_noted_on) if e.plan.last_noted_on else None}
    return {"entity_id": s.entity_id} | {field: values.get(field) for field, _, _ in LISTS[key].columns}


def tally(entities: Iterable[TodoEntity], today: date, area: Callable[[EntityStatus], str | None]) -> dict:
    """How many entries each list has per area (a district or a street): {area: {list key: count}}."""
    found: dict[str, dict[str, int]] = {}
    for e in entities:
        for key, t in LISTS.items():
            if t.admits(e, today):
                counts = found.setdefault(area(e.status) or "", dict.fromkeys(LISTS, 0))
                counts[key] += 1
    return found
