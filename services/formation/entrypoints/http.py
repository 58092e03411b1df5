"""HTTP entrypoint: ``uvicorn formation.entrypoints.http:app``."""

import logging

from fastapi import FastAPI

from formation.bootstrap import build_context, build_formation
from formation.entrypoints import milestones, plans, work_coverage
from formation.entrypoints.intake import intake_commands
from formation.entrypoints.routes import reads, router
from platform_core.intake.http import intake_schema_router
from platform_core.logs import configure_logging
from platform_core.service import ServiceContext, build_app


def create_app(context: ServiceContext) -> FastAPI:
    """Formation's API over ``context`` (its own schema, or a scratch one in tests and benchmarks)."""
    if not logging.getLogger().handlers:  # under uvicorn; a test runner keeps its own handlers
        configure_logging("formation", context.settings.log_level, context.settings.log_format)
    formation = build_formation(context)
    app = build_app(context, routers=[router, work_coverage.router, plans.router, milestones.router, reads,
                                      intake_schema_router(intake_commands(formation))],
                    description="Organizations, coverage, work coverage, the campaign board and checks (挂图作战).")
    app.state.formation = formation
    return app


app = create_app(build_context())
