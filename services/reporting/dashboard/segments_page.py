"""分类统计: a scope's rates broken down by R2 reason, attribute, industry and street (docs/dashboard.md),
the city → district → street → entity drill-down's figures. The breakdowns are those of ``GET /rates?by=``
(reporting.handlers.segments); this module only chooses the scope and renders them."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from reporting.domain.segments import BREAKDOWNS, COUNTING_ZH
from reporting.handlers import segments
from reporting.handlers.bulletin_figures import district_names

from . import board, labels
from .auth import PREFIX
from .routes import PageError, Viewer, _context, _require_projections, render

router = APIRouter(prefix=PREFIX, tags=["dashboard"], include_in_schema=False)
TITLES_ZH = {"reason": "按应建理由", "attribute": "按企业属性（外资、规上、工商联会员）", "industry": "按行业",
             "street": "按街道（乡镇、园区）"}


def _scope_or_error(scope: str) -> None:
    """The city, a district of this territory, or a street of one (a code the territory lacks still drills)."""
    names = district_names()
    known = scope == "city" or (scope.isdigit() and len(scope) in (6, 9) and scope[:6] in names)
    if not known:
        raise PageError(404, "未找到", f"scope 应为 city、本市的区代码或街道代码，收到 {scope[:20]!r}", field="scope")


@router.get("/segments")
def segments_page(request: Request, who: Viewer, scope: str | None = None) -> HTMLResponse:
    """The scope's breakdowns with numerator and denominator; by default the viewer's own territory."""
    scope = (scope or segments.default_scope(who)).strip()
    _scope_or_error(scope)
    context = _context(request)
    with context.engine.connect() as conn:
        _require_projections(conn, context.schema)
    shown = [by for by in BREAKDOWNS if not (by == "street" and len(scope) == 9)]
    found = segments.breakdowns(context, scope, shown)
    tables = []
    for by in shown:
        result, names = found[by]
        rows = [{"key": key, "name": labels.street(key) if by == "street" else names[key], "counters": c,
                 "cells": board.rate_cells(c)} for key, c in result.segments.items()]
        tables.append({"by": by, "title": TITLES_ZH[by], "counting": COUNTING_ZH[by], "rows": rows,
                       "total": {"counters": result.total, "cells": board.rate_cells(result.total)}})
    district = scope[:6] if scope != "city" else None
    return render("segments.html", who=who, scope=scope, tables=tables,
                  district={"code": district, "name": labels.district(district)} if district else None,
                  street={"code": scope, "name": labels.street(scope)} if len(scope) == 9 else None,
                  cells=tables[0]["total"]["cells"])
