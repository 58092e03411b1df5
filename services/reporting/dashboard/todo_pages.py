"""The dashboard's 待办清单 pages: per district and per street, each list's entities and its XLSX download
(docs/todo.md). The lists themselves are ``reporting.domain.todo``; these routes only gather and render."""

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from reporting.domain.todo import LISTS
from reporting.handlers import todo
from reporting.handlers.bulletin_figures import district_names

from . import labels
from .auth import PREFIX
from .routes import PageError, Viewer, render

router = APIRouter(prefix=PREFIX, tags=["dashboard"], include_in_schema=False)

SHOWN_ROWS = 500  # a page shows this many entries; the XLSX holds them all


def _scope(district: str | None, street: str | None, key: str | None) -> todo.Scope:
    if street is not None and not (len(street) == 9 and street.isdigit() and street[:6] in district_names()):
        raise PageError(404, "未找到", f"没有代码为 {street[:20]} 的街道（乡镇、园区）", field="street")
    if district is not None and district not in district_names():
        raise PageError(404, "未找到", f"没有代码为 {district[:20]} 的区（功能区）", field="district")
    if key is not None and key not in LISTS:
        raise PageError(404, "未找到", f"没有名为 {key[:20]} 的待办清单；可选：{'、'.join(LISTS)}", field="list")
    return todo.Scope(street[:6] if street else district, street)


def _day(on: str | None) -> date | None:
    if not on:
        return None
    try:
        return date.fromisoformat(on)
    except ValueError:
        raise PageError(400, "请求有误", f"日期参数 on 应为 YYYY-MM-DD 格式，收到 {on[:20]!r}", field="on") from None


@router.get("/todo")
def todo_page(request: Request, who: Viewer, district: str | None = None, street: str | None = None,
              key: str | None = Query(None, alias="list"), on: str | None = None) -> HTMLResponse:
    """待办清单: every list's count per district (the city), per street (a district) or for a street; one list's
    entities when ``list`` is chosen."""
    scope, day, context = _scope(district, street, key), _day(on), request.app.state.context
    today, tallies = todo.by_area(context, scope.district, day) if scope.street is None else (None, {})
    areas = []
    if scope.street is None:
        for code, counts in sorted(tallies.items()):
            name = labels.district(code) if scope.district is None else labels.street(code)
            params = f"district={code}" if scope.district is None else f"street={code}"
            areas.append({"name": name, "params": params, "counts": counts})
    today, totals = todo.counts(context, scope, day)
    chosen = todo.todo(context, key, scope, day) if key else None
    params = "&".join(p for p in (f"district={scope.district}" if scope.district and not scope.street else "",
                                  f"street={scope.street}" if scope.street else "",
                                  f"on={on}" if on else "") if p)
    return render("todo.html", who=who, scope=scope, scope_name=scope.name(), today=today, lists=LISTS,
                  totals=totals, areas=areas, area_label="区" if scope.district is None else "街道（园区）",
                  chosen=chosen, rows=chosen.rows[:SHOWN_ROWS] if chosen else [], shown=SHOWN_ROWS, params=params,
                  district_name=labels.district(scope.district) if scope.district else None)


@router.get("/todo/{key}.xlsx")
def todo_download(request: Request, who: Viewer, key: str, district: str | None = None, street: str | None = None,
                  on: str | None = None) -> Response:
    """One list of the scope as XLSX (numbers as numbers, names as text)."""
    scope, day = _scope(district, street, key), _day(on)
    body, filename = todo.workbook(todo.todo(request.app.state.context, key, scope, day), key)
    return Response(body, media_type=todo.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
