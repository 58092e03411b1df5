"""HTTP entrypoint: ``uvicorn reporting.entrypoints.http:app``."""

from platform_core.service import build_app
from reporting.bootstrap import build_context
from reporting.entrypoints.audit_routes import router as audit_router
from reporting.entrypoints.routes import router as reporting_router

app = build_app(build_context(), routers=[audit_router, reporting_router],
                description="Coverage rates, reports, bulletins, accountability and the audit log.")
