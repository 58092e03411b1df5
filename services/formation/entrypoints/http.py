"""HTTP entrypoint: ``uvicorn formation.entrypoints.http:app``."""

from formation.bootstrap import build_context
from platform_core.service import build_app

app = build_app(build_context(), description="Organizations, coverage, the campaign board and checks.")
