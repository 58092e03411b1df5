"""HTTP entrypoint: ``uvicorn registry.entrypoints.http:app``."""

from fastapi import FastAPI

from platform_core.intake.http import intake_schema_router
from platform_core.service import ServiceContext, build_app
from registry.bootstrap import build_context, build_registry, prepare
from registry.entrypoints.intake import intake_commands
from registry.entrypoints.routes import entities, forms, imports, ledgers, reference, verification


def create_app(context: ServiceContext) -> FastAPI:
    """The registry's API over ``context`` (its own schema, or a scratch one in tests and benchmarks)."""
    registry = build_registry(context)
    app = build_app(context, [entities.router, ledgers.router, forms.router, imports.router, verification.router,
                              reference.router, intake_schema_router(intake_commands(registry))],
                    description="Entities, ledgers (台帐), the baseline (党建基数), verification flags, "
                                "spreadsheet import and export of 附表1/附表2 (and their blank templates), departments' verification lists.",
                    on_startup=lambda: prepare(context, registry))
    app.state.registry = registry
    return app


app = create_app(build_context())
