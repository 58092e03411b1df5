"""The daily to-do lists for a district, a street or a ledger unit, on the campaign's business date."""

from dataclasses import dataclass
from datetime import date

from platform_core.auth import Forbidden, Principal
from platform_core.reference import load_territory
from platform_core.reference.city_time import local_date
from platform_core.service import ServiceContext
from reporting.adapters.todo_queries import todo_entities
from reporting.adapters.todo_xlsx import xlsx_table
from reporting.domain import todo as lists
from reporting.handlers.bulletin_figures import unit_name
from reporting.handlers.business_time import business_now

KINDS_ZH = {"non_public_enterprise": "非公企业", "social_organization": "社会组织", "rural_entity": "农村新型经营主体"}
MODES_ZH = {"standalone": "单独组建", "joint": "联合组建", "functional": "功能型"}


@dataclass(frozen=True)
class Scope:
    district: str | None = None
    street: str | None = None
    ledger_unit: str | None = None

    def name(self) -> str:
        parts = [names("district", self.district) if self.district else "",
                 names("street", self.street) if self.street else "",
                 unit_name(self.ledger_unit) if self.ledger_unit else ""]
        return "".join(p for p in parts if p) or "全市"


@dataclass(frozen=True)
class TodoResult:
    todo_list: lists.TodoList
    scope: Scope
    today: date
    rows: list[dict]


def names(kind: str, code: str | None) -> str:
    """Chinese names for the rows: districts, streets, ledger units, entity kinds, organization modes."""
    if not code:
        return ""
    territory = load_territory()
    if kind == "district":
        found = territory.district(code)
        return found.name if found else code
    if kind == "street":  # a code the territory lacks (an older division) shows as the code, marked so
        found = territory.street(code)
        return found.name if found else f"{code}（区划表中无此街道）"
    if kind == "unit":
        return unit_name(code)
    return {"entity_kind": KINDS_ZH, "mode": MODES_ZH}.get(kind, {}).get(code, code)


def scope_for(principal: Principal, district: str | None, street: str | None, ledger_unit: str | None) -> Scope:
    """The scope asked for, defaulting to the caller's own territory; 403 naming the rule when the caller may not
    read it (docs/todo.md)."""
    if principal.territory is not None and not (district or street or ledger_unit):
        district, street = (principal.territory, None) if len(principal.territory) == 6 else (None, principal.territory)
    reason = lists.refusal(principal, district, street, ledger_unit)
    if reason is not None:
        raise Forbidden(reason, principal=principal, permission="todo.read", target=ledger_unit or street or district)
    return Scope(district, street, ledger_unit)


def todo(context: ServiceContext, key: str, scope: Scope, today: date | None = None) -> TodoResult:
    on = today or local_date(business_now(context))
    with context.engine.connect() as conn:
        entities = todo_entities(conn, context.schema, scope.district, scope.street)
    found = lists.todo(key, entities, on, scope.district, scope.street, scope.ledger_unit)
    return TodoResult(lists.LISTS[key], scope, on, [lists.row(key, e, on, names) for e in found])


def counts(context: ServiceContext, scope: Scope, today: date | None = None) -> tuple[date, dict[str, int]]:
    """How many entries each list has for the scope (one read of the projection)."""
    on = today or local_date(business_now(context))
    with context.engine.connect() as conn:
        entities = todo_entities(conn, context.schema, scope.district, scope.street)
    return on, {key: len(lists.todo(key, entities, on, scope.district, scope.street, scope.ledger_unit))
                for key in lists.LISTS}


def by_area(context: ServiceContext, district: str | None, today: date | None = None) -> tuple[date, dict]:
    """The lists' counts per district (``district`` None) or per street of ``district``."""
    on = today or local_date(business_now(context))
    with context.engine.connect() as conn:
        entities = todo_entities(conn, context.schema, district, None)
    area = (lambda s: s.district_code) if district is None else (lambda s: s.street_code)
    return on, lists.tally(entities, on, area)


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(found: TodoResult, key: str) -> tuple[bytes, str]:
    """The list as an XLSX file and its file name."""
    scope = found.scope
    body = xlsx_table(f"{scope.name()} 待办清单：{found.todo_list.title}",
                      f"依据 docs/rules.md {found.todo_list.rule}；业务日期 {found.today.isoformat()}；"
                      f"共 {len(found.rows)} 个单位", found.todo_list.columns, found.rows)
    return body, f"todo-{key}-{scope.ledger_unit or scope.street or scope.district or 'city'}.xlsx"
