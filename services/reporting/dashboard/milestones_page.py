"""The dashboard's 启动节点清单 page (docs/milestones.md): the city's districts with their tallies, or one
district's milestones and its gathering zones'. The checklist itself is ``reporting.handlers.milestones``."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from reporting.handlers import milestones
from reporting.handlers.bulletin_figures import district_names

from . import labels
from .auth import PREFIX
from .routes import PageError, Viewer, _on, render

router = APIRouter(prefix=PREFIX, tags=["dashboard"], include_in_schema=False)


@router.get("/milestones")
def milestones_page(request: Request, who: Viewer, scope: str | None = None, on: str | None = None) -> HTMLResponse:
    """启动节点清单: 按期 / 逾期 / 缺失 / 未到期, per district (the city) or per milestone (a district)."""
    if scope is not None and scope != milestones.CITY and scope not in district_names():
        raise PageError(404, "未找到", f"没有代码为 {scope[:20]} 的区（功能区）", field="scope")
    context = request.app.state.context
    chosen = milestones.scope_for(who, scope)
    checklist = milestones.view(context, chosen, _on(on, context))
    return render("milestones.html", who=who, checklist=checklist, scope=chosen, states=STATES,
                  scope_name="全市" if chosen == milestones.CITY else labels.district(chosen), on=on)


STATES = (("on_time", "按期"), ("late", "逾期"), ("missing", "缺失"), ("not_due", "未到期"))
