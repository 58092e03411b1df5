"""HTTP entrypoint: ``uvicorn reporting.entrypoints.http:app``."""

from fastapi import FastAPI

from platform_core.service import ServiceContext, build_app
from reporting.bootstrap import build_context, prepare_schema
from reporting.dashboard import mount as mount_dashboard
from reporting.entrypoints.audit_routes import router as audit_router
from reporting.entrypoints.milestone_routes import router as milestone_router
from reporting.entrypoints.routes import router as reporting_router
from reporting.entrypoints.todo_routes import router as todo_router
from reporting.entrypoints.signals_routes import router as signals_router


def create_app(context: ServiceContext) -> FastAPI:
    """The reporting API and, under /dashboard, the web dashboard, over ``context``'s schema."""
    app = build_app(context, routers=[audit_router, reporting_router, todo_router, signals_router, milestone_router],
                    description="Coverage rates, reports, bulletins, accountability and the audit log.",
                    on_startup=lambda: prepare_schema(context))
    mount_dashboard(app)
    return app


app = create_app(build_context())
