"""HTTP entrypoint: ``uvicorn membership.entrypoints.http:app``."""

from membership.bootstrap import build_context
from platform_core.service import build_app

app = build_app(build_context(), description="Members, registrations, transfers and membership growth.")
