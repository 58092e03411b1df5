"""HTTP entrypoint: ``uvicorn membership.entrypoints.http:app``."""

from fastapi import FastAPI

from membership.bootstrap import build_context, build_membership, prepare
from membership.entrypoints.intake import intake_commands
from membership.entrypoints.routes import counts, router
from platform_core.intake.http import intake_schema_router
from platform_core.service import ServiceContext, build_app


def create_app(context: ServiceContext) -> FastAPI:
    """Membership's API over ``context`` (its own schema, or a scratch one in tests and benchmarks)."""
    membership = build_membership(context)
    app = build_app(context, routers=[router, counts, intake_schema_router(intake_commands(membership))],
                    description="Members, registrations, transfers and membership growth (四个一批).",
                    on_startup=lambda: prepare(context, membership))
    app.state.membership = membership
    return app


app = create_app(build_context())
