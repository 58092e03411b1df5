"""The dashboard's pages under /dashboard: server-rendered Chinese HTML over reporting's own tables.

Routes only gather what a page shows (projections, bulletins, the accountability trail,
the audit log) and render it; the decisions live in ``board`` and ``charts``.
"""

import base64
import json
import uuid
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from platform_core.auth import DEPARTMENT_NAMES_ZH, Principal, Unauthenticated
from platform_core.errors import PlatformError
from platform_core.reference import load_calendar, load_territory
from platform_core.service import ServiceContext
from platform_core.settings import ServicePorts
from platform_core import merkle
from platform_core.rules.requirements import REASONS
from reporting.audit import queries as audit_queries
from reporting.audit.store import AuditLogStore
from reporting.bootstrap import checkpoint_signer
from reporting.domain.bulletin import build_rows
from reporting.domain.rates import TARGET_COVERAGE, Counters
from reporting.domain.reports import city_date, end_of_day
from reporting.entrypoints.audit_schemas import InclusionProofPublic
from reporting.handlers import accountability, bulletins
from reporting.handlers.bulletin_figures import district_names, supervisor_names, unit_name
from reporting.handlers.business_time import business_now

from . import board, charts, labels, queries, sessions
from .auth import COOKIE, PREFIX, BadNext, check_token, safe_next, viewer

HERE = Path(__file__).parent
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
templates.filters["b64"] = lambda data: base64.b64encode(data).decode()
templates.globals["departments_zh"] = lambda kind: DEPARTMENT_NAMES_ZH.get(kind, kind)
templates.filters["city_time"] = labels.city_time
templates.globals.update(event_type=labels.event_type, district_name=labels.district, street_name=labels.street,
                         unit_name=labels.unit,
                         accountability_subject=labels.accountability_subject)
templates.filters["flag_name"] = labels.flag
templates.globals["reason_name"] = lambda code: REASONS.get(code, code)  # every R2 reason on the entity page

router = APIRouter(prefix=PREFIX, tags=["dashboard"], include_in_schema=False)
Viewer = Annotated[Principal, Depends(viewer)]
ENTRY_KINDS_ZH = {"deadline_missed": "逾期未完成", "report_late": "逾期报送", "report_missing": "未报送",
                  "discrepancy": "数据不符", "check_failed": "检查未通过", "milestone_missing": "启动节点缺失",
                  "milestone_late": "启动节点逾期"}
KINDS_ZH = {"non_public_enterprise": "非公企业", "social_organization": "社会组织", "rural_entity": "农村新型经营主体"}
MODES_ZH = {"standalone": "单独组建", "joint": "联合组建", "functional": "功能型"}


class PageError(Exception):
    """A user-facing error shown as an HTML page with its status (mounted in ``reporting.dashboard``)."""

    def __init__(self, status: int, title: str, message: str, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.status, self.title, self.message, self.field, self.rule = status, title, message, field, rule

    @classmethod
    def of(cls, exc: PlatformError) -> "PageError":
        titles = {404: "未找到", 403: "无权访问", 409: "冲突", 422: "不符合规则"}
        return cls(exc.status, titles.get(exc.status, "请求有误"), exc.message, exc.field, exc.rule)


def render(template: str, status_code: int = 200, **values) -> HTMLResponse:
    html = templates.get_template(template).render(prefix=PREFIX, **values)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store",
                                                            "X-Content-Type-Options": "nosniff"})


def _context(request: Request) -> ServiceContext:
    return request.app.state.context


def _on(raw: str | None, context: ServiceContext) -> date:
    """The day overdue tasks are judged on: ``on`` (YYYY-MM-DD), by default the campaign's business date."""
    if not raw:
        return city_date(business_now(context))
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise PageError(400, "请求有误", f"日期参数 on 应为 YYYY-MM-DD 格式，收到 {raw[:20]!r}", field="on") from None


def _require_projections(conn, schema: str) -> None:
    if not queries.projections_ready(conn, schema):
        raise PageError(503, "数据尚未就绪", "统计投影尚未建立：请先启动报告服务的统计投影（campaign consume reporting"
                                          " --projection coverage）或执行重放（python -m reporting.entrypoints.cli replay）。")


# ---------------------------------------------------------------- sign-in

@router.get("/static/dashboard.css")
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "dashboard.css", media_type="text/css")


def _next_or_error(raw: str | None) -> str:
    try:
        return safe_next(raw)
    except BadNext:
        raise PageError(400, "跳转地址无效", "参数 next 只能是 /dashboard 下的站内相对路径", field="next") from None


def _cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login")
def login_page(next: str | None = None) -> Response:
    """The sign-in form (a token is never accepted in the URL: it would land in logs and history)."""
    return render("login.html", next=_next_or_error(next), error=None)


@router.post("/login")
def login_form(request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "") -> Response:
    """Verify the token and exchange it for a server-side session; the cookie holds only the session id."""
    next_path = _next_or_error(next or None)
    if not token.strip():
        return render("login.html", status_code=401, next=next_path, error="请填写令牌")
    try:
        principal = check_token(request.app.state.token_verifier, token.strip())
    except Unauthenticated as exc:
        return render("login.html", status_code=401, next=next_path, error=f"令牌无效：{exc.message}")
    context = _context(request)
    session_id = sessions.start(context.engine, context.schema, principal)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(COOKIE, session_id, max_age=int(sessions.SESSION_TTL.total_seconds()), path=PREFIX,
                        httponly=True, samesite="strict", secure=_cookie_secure(request))
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session on the server and clear the cookie."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        context = _context(request)
        sessions.end(context.engine, context.schema, session_id)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=_cookie_secure(request))
    return response


# ---------------------------------------------------------------- overview and boards

def _rows(by_department: dict[str, Counters]):
    """District rows of this city's territory, city-level department rows, and their total (units of
    other territories in a shared projection are left out and counted)."""
    names = district_names()
    ours = {d: c for d, c in by_department.items() if not d.startswith("district-") or d.removeprefix("district-") in names}
    districts, departments, _ = build_rows(ours, {}, names, supervisor_names())
    total, _ = _unit_counters(by_department, None)
    return districts, departments, total, len(by_department) - len(ours)


@router.get("")
@router.get("/")
def overview(request: Request, who: Viewer) -> HTMLResponse:
    """The city and every district: baseline and the two coverages against their targets (R7)."""
    context = _context(request)
    with context.engine.connect() as conn:
        _require_projections(conn, context.schema)
        by_department = queries.counters(conn, context.schema, "department")
    districts, departments, total, foreign = _rows(by_department)
    row = lambda r: {"unit": r.unit, "name": r.name, "code": r.unit.removeprefix("district-"),
                     "counters": r.counters, "cells": board.rate_cells(r.counters)}
    total = {"counters": total, "cells": board.rate_cells(total)}
    territory = load_territory()
    return render("overview.html", who=who, city=territory.name, total=total, foreign=foreign,
                  districts=[row(r) for r in districts], departments=[row(r) for r in departments],
                  bar=lambda cell: Markup(charts.bar(charts.percent_value(cell.rate.as_dict()["percent"]),
                                                     float(cell.target) if cell.target is not None else None)))


def _state_or_error(state: str | None) -> None:
    if state is not None and state not in board.TASK_STATES_ZH:
        raise PageError(400, "请求有误", f"state 只能是 {', '.join(board.TASK_STATES_ZH)}", field="state")


def _task_board(request: Request, department: str, state: str | None, on: str | None,
                street: str | None = None) -> dict:
    """What a 挂图作战 page shows for a district (or one of its streets): counters, tasks by state, overdue first."""
    context = _context(request)
    day, calendar = _on(on, context), load_calendar()
    with context.engine.connect() as conn:
        _require_projections(conn, context.schema)
        counts = queries.task_counts(conn, context.schema, department, street)
        tasks = board.board_order(queries.tasks(conn, context.schema, department, state, street=street), day, calendar)
        if street is None:
            counters = queries.counters(conn, context.schema, "department").get(department, Counters())
            by_street = queries.counters_by_street(conn, context.schema, department)
        else:
            counters = queries.counters_by_street(conn, context.schema, department).get(street, Counters())
            by_street = {}
    return dict(counts=counts, tasks=tasks, overdue=sum(1 for t in tasks if t["overdue"]),
                limited=len(tasks) >= queries.TASK_LIMIT, on=day, state=state, states=board.TASK_STATES_ZH,
                milestones=board.MILESTONES_ZH, cells=board.rate_cells(counters), counters=counters,
                formation=calendar.milestone("formation"), acceptance=calendar.milestone("acceptance"), kinds=KINDS_ZH,
                streets=[{"code": code, "name": labels.street(code), "counters": c, "cells": board.rate_cells(c)}
                         for code, c in sorted(by_street.items(), key=lambda item: item[0] or "")])


@router.get("/districts/{code}")
def district_board(request: Request, who: Viewer, code: str, state: str | None = None,
                   on: str | None = None) -> HTMLResponse:
    """挂图作战: the district's streets, its tasks by state, overdue first (R9, R10)."""
    names = district_names()
    if code not in names:
        raise PageError(404, "未找到", f"没有代码为 {code} 的区（功能区）", field="code")
    _state_or_error(state)
    shown = _task_board(request, f"district-{code}", state, on)
    return render("district.html", who=who, code=code, name=names[code], street=None, **shown)


@router.get("/streets/{street_code}")
def street_board(request: Request, who: Viewer, street_code: str, state: str | None = None,
                 on: str | None = None) -> HTMLResponse:
    """A street's (township's, park's) part of its district's board: the entities the district answers for
    there (R8), by state, overdue first."""
    district = street_code[:6]
    if not (len(street_code) == 9 and street_code.isdigit() and district in district_names()):
        raise PageError(404, "未找到", f"没有代码为 {street_code[:20]} 的街道（乡镇、园区）", field="street_code")
    _state_or_error(state)
    # a code the territory lacks but entities carry (an older division) still gets its board
    shown = _task_board(request, f"district-{district}", state, on, street=street_code)
    return render("district.html", who=who, code=district, name=district_names()[district],
                  street={"code": street_code, "name": labels.street(street_code)}, **shown)


def _unit_counters(by_department: dict[str, Counters], department: str | None) -> tuple[Counters, list[str]]:
    """A district's counters, or the city's (this territory's districts and the city-level units)."""
    if department is not None:
        return by_department.get(department, Counters()), [department]
    names = district_names()
    ours = [d for d in by_department if not d.startswith("district-") or d.removeprefix("district-") in names]
    return sum((by_department[d] for d in ours), Counters()), ours


@router.get("/coverage")
def coverage(request: Request, who: Viewer, unit: str = "city") -> HTMLResponse:
    """Organization coverage per day from the coverage spans against the baseline, the 80% target,
    the R10 milestones, and the figures of the published bulletins."""
    names = district_names()
    if unit != "city" and unit not in names:
        raise PageError(404, "未找到", f"unit 应为 city 或区代码，收到 {unit[:20]!r}", field="unit")
    department = None if unit == "city" else f"district-{unit}"
    calendar, context = load_calendar(), _context(request)
    days = board.campaign_days(calendar, until=city_date(business_now(context)))
    with context.engine.connect() as conn:
        _require_projections(conn, context.schema)
        by_department = queries.counters(conn, context.schema, "department")
        published = queries.bulletins(conn, context.schema)
        counters, departments = _unit_counters(by_department, department)
        spans = queries.spans(conn, context.schema, departments)
    covered = board.covered_per_day(spans, days)
    title = ("全市" if department is None else names[unit]) + "组织覆盖率（按日）"
    figures = []
    for b in published:
        row = b["total"] if department is None else b["districts"].get(department)
        if row is not None:
            figures.append({"cutoff_date": b["cutoff_date"], "rates": row["rates"], "counters": row["counters"]})
    chart = charts.Chart(
        title=title, start=calendar.starts, end=calendar.ends,
        series=(charts.Series("组织覆盖率", tuple(days), charts.daily_values(days, covered, counters.baseline)),),
        targets=((f"目标 {TARGET_COVERAGE}%", float(TARGET_COVERAGE)),),
        milestones=tuple((m.name, m.due) for m in calendar.milestones),
        points=tuple(("通报", f["cutoff_date"], float(f["rates"]["organization_coverage"]["percent"]))
                     for f in figures if f["rates"]["organization_coverage"]["percent"] is not None))
    last = {"day": days[-1], "covered": covered[-1]} if days else None
    return render("coverage.html", who=who, unit=unit, names=names, title=title, chart=Markup(charts.line_chart(chart)),
                  baseline=counters.baseline, last=last, figures=figures, milestones=calendar.milestones,
                  cells=board.rate_cells(counters))


# ---------------------------------------------------------------- bulletins and accountability

@router.get("/bulletins")
def bulletin_list(request: Request, who: Viewer) -> HTMLResponse:
    context = _context(request)
    with context.engine.connect() as conn:
        published = queries.bulletins(conn, context.schema)
    return render("bulletins.html", who=who, bulletins=published, kinds=tuple(bulletins.FILE_COLUMNS))


FORMS_ZH = (("form1", "附表1", "非公有制经济组织（含农村新型经营主体）调查摸底表"), ("form2", "附表2", "社会组织调查摸底表"))


@router.get("/forms")
def form_downloads(request: Request, who: Viewer) -> HTMLResponse:
    """表格下载: the blank 附表1/附表2, served by the registry (its public templates; this service holds no form)."""
    base = (_context(request).settings.registry_public_url
            or f"{request.url.scheme}://{request.url.hostname}:{ServicePorts().registry_port}")
    return render("forms.html", who=who, forms=[{"code": code, "name": name, "title": title,
                                                  "url": f"{base.rstrip('/')}/forms/{code}/template.xlsx"}
                                                 for code, name, title in FORMS_ZH])


@router.get("/bulletins/draft")
def bulletin_draft(request: Request, who: Viewer, cutoff_date: str | None = None, signals: bool = False) -> HTMLResponse:
    """The city department's 通报 desk: pick a cutoff, read the narrative drafted from its figures, edit it."""
    _may_publish(who)
    context = _context(request)
    now = business_now(context)
    with context.engine.connect() as conn:
        done = {str(b["cutoff_date"]) for b in queries.bulletins(conn, context.schema)}
    open_days = [d for d in load_calendar().bulletin_cutoffs() if str(d) not in done and end_of_day(d) < now]
    drafted = None
    if cutoff_date:
        try:
            drafted = bulletins.draft(context, who, date.fromisoformat(cutoff_date), now=now, with_signals=signals)
        except ValueError:
            raise PageError(400, "请求有误", "截止日期应为 YYYY-MM-DD", field="cutoff_date") from None
        except PlatformError as exc:
            raise PageError.of(exc) from exc
    return render("bulletin_draft.html", who=who, open_days=open_days, chosen=cutoff_date, drafted=drafted,
                  error=None, with_signals=signals)


@router.post("/bulletins/publish")
def bulletin_publish(request: Request, who: Viewer, cutoff_date: Annotated[str, Form()] = "",
                     narrative: Annotated[str, Form()] = "") -> Response:
    """Publish with the edited narrative (the session cookie is SameSite=Strict: no cross-site form posts)."""
    _may_publish(who)
    context = _context(request)
    try:
        day = date.fromisoformat(cutoff_date)
    except ValueError:
        raise PageError(422, "不符合规则", "截止日期应为 YYYY-MM-DD", field="cutoff_date") from None
    try:
        bulletins.publish(context, who, day, signer=partial(checkpoint_signer, context), now=business_now(context),
                          narrative=narrative)
    except PlatformError as exc:
        if exc.field != "narrative":
            raise PageError.of(exc) from exc
        drafted = {"cutoff_date": cutoff_date, "narrative": narrative,
                   "issuer": context.settings.reporting_bulletin_issuer,
                   "recipients": bulletins.recipients(context.settings.reporting_bulletin_recipients)}
        return render("bulletin_draft.html", status_code=exc.status, who=who, open_days=[], chosen=cutoff_date,
                      drafted=drafted, error=exc, with_signals=False)
    return RedirectResponse(f"{PREFIX}/bulletins", status_code=303)


def _may_publish(who: Principal) -> None:
    if not who.may("bulletin.publish"):
        raise PageError(403, "无权访问", "只有市委组织部可以起草和发布通报", rule="bulletin.publish")


@router.get("/bulletins/{cutoff_date}/{kind}")
def bulletin_file(request: Request, who: Viewer, cutoff_date: str, kind: str) -> Response:
    """The published file, the same bytes as ``GET /bulletins/{date}/{kind}`` (which needs the header)."""
    try:
        day = date.fromisoformat(cutoff_date)
        body, media = bulletins.bulletin_file(_context(request), day, kind)
    except ValueError:
        raise PageError(400, "请求有误", "截止日期应为 YYYY-MM-DD", field="cutoff_date") from None
    except PlatformError as exc:
        raise PageError.of(exc) from exc
    name = f"bulletin-{day.isoformat()}.{kind}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/accountability")
def accountability_units(request: Request, who: Viewer) -> HTMLResponse:
    units = [(u, unit_name(u)) for u in accountability.known_units()]
    return render("accountability_units.html", who=who, units=units)


@router.get("/accountability/{unit}")
def accountability_trail(request: Request, who: Viewer, unit: str) -> HTMLResponse:
    """A unit's accountability trail (reporting.handlers.accountability.trail)."""
    try:
        entries = accountability.trail(_context(request), unit)
    except PlatformError as exc:
        raise PageError.of(exc) from exc
    return render("accountability.html", who=who, unit=unit, name=unit_name(unit), entries=entries,
                  kinds=ENTRY_KINDS_ZH)


# ---------------------------------------------------------------- entities and proofs

@router.get("/entities")
def entity_search(request: Request, who: Viewer, q: str = "") -> HTMLResponse:
    """Search by name, 统一社会信用代码 or entity id."""
    q = q.strip()[:200]
    found = []
    if q:
        context = _context(request)
        with context.engine.connect() as conn:
            _require_projections(conn, context.schema)
            found = queries.search_entities(conn, context.schema, q)
    return render("entities.html", who=who, q=q, found=found, states=board.TASK_STATES_ZH,
                  limit=queries.SEARCH_LIMIT)


@router.get("/entities/{entity_id}")
def entity_page(request: Request, who: Viewer, entity_id: str) -> HTMLResponse:
    """The entity's derived status and its full history from the audit log, each event with its inclusion
    proof against the latest signed checkpoint (verified here too)."""
    context = _context(request)
    store = AuditLogStore(context.schema)
    with context.engine.connect() as conn:
        _require_projections(conn, context.schema)
        status = queries.entity(conn, context.schema, entity_id)
        try:
            history = audit_queries.entity_history(conn, store, entity_id)
        except PlatformError:
            history = None
    if status is None and history is None:
        raise PageError(404, "未找到", f"统计投影和审计日志中都没有单位 {entity_id}", field="entity_id")
    events = []
    checkpoint = history.checkpoint if history else None
    for proven in (history.events if history else []):
        event = json.loads(proven.event.canonical)
        verified = None
        if proven.proof is not None and checkpoint is not None:
            try:
                merkle.verify_inclusion(proven.event.leaf_index, checkpoint.tree_size, proven.event.leaf_hash,
                                        proven.proof, checkpoint.root_hash)
                verified = True
            except merkle.ProofError:
                verified = False
        events.append({"leaf_index": proven.event.leaf_index, "event_id": str(proven.event.event_id),
                       "type": event.get("type"), "recorded_at": event.get("recorded_at"),
                       "actor": event.get("actor", {}), "payload": event.get("payload", {}),
                       "leaf_hash": proven.event.leaf_hash, "proof": proven.proof, "verified": verified})
    return render("entity.html", who=who, entity_id=entity_id, status=status, events=events, checkpoint=checkpoint,
                  states=board.TASK_STATES_ZH, kinds=KINDS_ZH, modes=MODES_ZH, unit_name=unit_name,
                  departments=DEPARTMENT_NAMES_ZH)


@router.get("/entities/{entity_id}/proofs/{event_id}")
def entity_proof(request: Request, who: Viewer, entity_id: str, event_id: str) -> Response:
    """The inclusion proof as JSON, the body of ``GET /audit/proofs/inclusion`` (the verifier's --proof)."""
    try:
        event = uuid.UUID(event_id)
    except ValueError:
        raise PageError(400, "请求有误", "event_id 应为 UUID", field="event_id") from None
    context = _context(request)
    try:
        who.require("audit.read")
        with context.engine.connect() as conn:
            found = audit_queries.inclusion_proof(conn, AuditLogStore(context.schema), event, None)
    except PlatformError as exc:
        raise PageError.of(exc) from exc
    return Response(InclusionProofPublic.of(found).model_dump_json(indent=2), media_type="application/json")
