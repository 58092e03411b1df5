"""HTTP entrypoint: ``uvicorn registry.entrypoints.http:app``."""

from platform_core.service import build_app
from registry.bootstrap import build_context

app = build_app(build_context(), description="Entities, ledgers, the baseline and verification flags.")
