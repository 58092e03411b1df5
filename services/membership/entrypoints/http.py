"""HTTP entrypoint: ``uvicorn membership.entrypoints.http:app``."""

import logging

from membership.bootstrap import build_context, build_membership
from membership.entrypoints.routes import counts, router
from platform_core.logs import configure_logging
from platform_core.service import build_app

context = build_context()
if not logging.getLogger().handlers:  # under uvicorn; a test runner keeps its own handlers
    configure_logging("membership", context.settings.log_level, context.settings.log_format)
app = build_app(context, routers=[router, counts],
                description="Members, registrations, transfers and membership growth (四个一批).")
app.state.membership = build_membership(context)
