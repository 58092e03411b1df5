"""HTTP entrypoint: ``uvicorn membership.entrypoints.http:app``."""

from membership.bootstrap import build_context, build_membership
from membership.entrypoints.routes import counts, router
from platform_core.service import build_app

context = build_context()
app = build_app(context, routers=[router, counts],
                description="Members, registrations, transfers and membership growth (四个一批).")
app.state.membership = build_membership(context)
