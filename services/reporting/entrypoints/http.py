"""HTTP entrypoint: ``uvicorn reporting.entrypoints.http:app``."""

from platform_core.service import build_app
from reporting.bootstrap import build_context

app = build_app(build_context(), description="Coverage rates, reports, bulletins, accountability and the audit log.")
