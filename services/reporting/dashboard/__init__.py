"""The web dashboard (看板) for the city task force and inspectors, served by the reporting service.

``mount(app)`` adds the pages under /dashboard and their HTML error handling; the
API routes are unchanged.
"""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from platform_core.auth import Forbidden
from platform_core.http import record_refusal

from .auth import LoginRequired, login_url
from .routes import PageError, render, router
from .milestones_page import router as milestones_router
from .segments_page import router as segments_router
from .signals_pages import router as signals_router
from .todo_pages import router as todo_router


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(signals_router)
    app.include_router(segments_router)
    app.include_router(todo_router)
    app.include_router(milestones_router)

    @app.exception_handler(LoginRequired)
    async def login_required(_: Request, exc: LoginRequired):
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(PageError)
    async def page_error(_: Request, exc: PageError):
        return render("error.html", status_code=exc.status, title=exc.title, message=exc.message, field=exc.field,
                      rule=exc.rule, who=None)

    previous = app.exception_handlers.get(Forbidden) or app.exception_handlers.get(Forbidden.__mro__[1])

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        """A dashboard page refused: recorded like any refusal, shown as a Chinese 403 page."""
        if not request.url.path.startswith("/dashboard"):
            return await previous(request, exc)
        record_refusal(request.app.state.engine, request.app.state.context.schema, exc)
        return render("error.html", status_code=403, title="无权访问", message=exc.message, field=exc.field,
                      rule=exc.rule, who=None)
