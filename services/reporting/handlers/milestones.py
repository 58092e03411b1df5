"""The setup-milestone checklist (清单, docs/milestones.md) of the city or a district on a day, and the
accountability entries of a district's missing and late milestones (docs/rules.md, R10b)."""

from datetime import date

from platform_core.auth import Forbidden, Principal
from platform_core.errors import NotFound
from platform_core.reference import load_calendar
from platform_core.reference.city_time import local_date
from platform_core.rules.milestones import STATES_ZH
from platform_core.service import ServiceContext
from reporting.adapters.milestone_queries import zones_and_records
from reporting.domain.milestones import ChecklistItem, checklist, tally
from reporting.handlers.bulletin_figures import district_names
from reporting.handlers.business_time import business_now

ZONE_KINDS_ZH = {"development_zone": "开发区", "park": "园区", "street": "两新组织集中的街道"}
COMMITTEE_KINDS_ZH = {"enterprise": "企业党委", "combined": "综合党委"}
CITY = "city"


def scope_for(principal: Principal, scope: str | None) -> str:
    """``city`` or a district code; a territorial department's own district by default, and only inside its
    territory (403 naming the rule otherwise)."""
    if scope is None:
        scope = principal.territory[:6] if principal.territory else CITY
    if principal.territory is not None and (scope == CITY or not principal.covers(scope)):
        raise Forbidden(f"R10b：{principal.department} 只能查看本辖区（{principal.territory}）的启动节点清单",
                        principal=principal, permission="milestones.read", target=scope)
    if scope != CITY and scope not in district_names():
        raise NotFound(f"{scope} 不是本市的区或功能区", field="scope")
    return scope


def items(context: ServiceContext, scope: str, as_of: date) -> list[ChecklistItem]:
    district = None if scope == CITY else scope
    with context.engine.connect() as conn:
        zones, records = zones_and_records(conn, context.schema, district)
    districts = [district] if district else list(district_names())
    return checklist(load_calendar().setup_milestones, districts, zones, records, as_of)


def view(context: ServiceContext, scope: str, as_of: date | None = None) -> dict:
    """The checklist as the API shows it: per district its milestones, then its zones' milestones."""
    on = as_of or local_date(business_now(context))
    found = items(context, scope, on)
    names = district_names()
    districts: dict[str, dict] = {}
    for item in found:
        district = districts.setdefault(item.district_code, {
            "district_code": item.district_code, "district_name": names.get(item.district_code, item.district_code),
            "milestones": [], "zones": {}})
        row = item_view(item)
        if item.zone is None:
            district["milestones"].append(row)
        else:
            zone = district["zones"].setdefault(item.zone.zone_id, {
                "zone_id": item.zone.zone_id, "name": item.zone.name, "zone_kind": item.zone.zone_kind,
                "zone_kind_zh": ZONE_KINDS_ZH.get(item.zone.zone_kind, item.zone.zone_kind),
                "declared_on": item.zone.declared_on, "milestones": []})
            zone["milestones"].append(row)
    for district in districts.values():
        district["zones"] = list(district["zones"].values())
        district["tally"] = tally(i for i in found if i.district_code == district["district_code"])
    return {"scope": scope, "as_of": on, "tally": tally(found), "districts": list(districts.values())}


def item_view(item: ChecklistItem) -> dict:
    record = item.record
    return {"milestone": item.milestone.key, "name": item.milestone.name, "section": item.milestone.section,
            "due": item.milestone.due, "state": item.state, "state_zh": STATES_ZH[item.state],
            "done_on": record.done_on if record else None,
            "document": ({"number": record.document_number, "title": record.document_title,
                          "sha256": record.document_sha256} if record else None),
            "committee_kind": record.committee_kind if record else None,
            "committee_kind_zh": COMMITTEE_KINDS_ZH.get(record.committee_kind or "") if record else None,
            "event_id": record.event_id if record else None}


def accountability_entries(context: ServiceContext, district: str, today: date) -> list[dict]:
    """R10b: each of the district's (and its zones') setup milestones missing or late on ``today``, naming the
    district or zone and the milestone; a late one cites the event that recorded it."""
    entries = []
    district_name = district_names().get(district, district)
    for item in items(context, district, today):
        if item.state not in ("missing", "late"):
            continue
        m = item.milestone
        where = district_name
        if item.zone:  # a zone named after its district (江岸区…园区) is not prefixed twice
            where = item.zone.name if item.zone.name.startswith(district_name) else f"{district_name}{item.zone.name}"
        subject = f"setup:{m.key}" + (f":{item.zone.zone_id}" if item.zone else "")
        if item.state == "missing":
            entries.append({"entry_kind": "milestone_missing", "subject": subject, "occurred_on": m.due,
                            "finding": f"R10b：{where}“{m.name}”（{m.section}，{m.due}前）截至{today}未完成",
                            "event_ids": []})
        else:
            entries.append({"entry_kind": "milestone_late", "subject": subject, "occurred_on": item.record.done_on,
                            "finding": f"R10b：{where}“{m.name}”（{m.section}，{m.due}前）逾期，{item.record.done_on}才完成",
                            "event_ids": [item.record.event_id]})
    return entries
