"""The dashboard's 疑点 pages (docs/detectors.md): the detectors' signals per district, in Chinese, with the
entities by name, each signal's mark and its evidence. Scoped like ``GET /signals``."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from reporting.adapters.signals_store import list_signals
from reporting.domain.signals import SIGNAL_KINDS_ZH
from reporting.entrypoints.signals_routes import visible_districts
from reporting.handlers.bulletin_figures import district_names

from .auth import PREFIX
from .routes import PageError, Viewer, render

router = APIRouter(prefix=PREFIX, tags=["dashboard"], include_in_schema=False)
VERDICTS_ZH = {"confirmed": "经核实属实", "dismissed": "经核实排除"}
SHOWN = 500  # signals on one page; the API pages through more


@router.get("/signals")
def signal_districts(request: Request, who: Viewer) -> HTMLResponse:
    """The districts the viewer may see, with how many signals each has."""
    names = district_names()
    scope = visible_districts(who, None)
    context = request.app.state.context
    counts = {}
    with context.engine.connect() as conn:
        for code in (scope or list(names)):
            counts[code] = list_signals(conn, context.schema, [code], limit=1)[0]
    return render("signal_districts.html", who=who, districts=[(c, names.get(c, c), n) for c, n in counts.items()])


@router.get("/signals/{code}")
def district_signals(request: Request, who: Viewer, code: str) -> HTMLResponse:
    """疑点清单 of one district: newest first, never a verdict until an official marks it."""
    names = district_names()
    if code not in names:
        raise PageError(404, "未找到", f"没有代码为 {code[:20]} 的区（功能区）", field="code")
    visible_districts(who, code)
    context = request.app.state.context
    with context.engine.connect() as conn:
        total, rows = list_signals(conn, context.schema, [code], limit=SHOWN)
    return render("signals.html", who=who, code=code, name=names[code], total=total, signals=rows,
                  kinds=SIGNAL_KINDS_ZH, verdicts=VERDICTS_ZH, shown=SHOWN)
