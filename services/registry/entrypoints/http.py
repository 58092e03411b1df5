"""HTTP entrypoint: ``uvicorn registry.entrypoints.http:app``."""

from platform_core.service import build_app
from registry.bootstrap import build_context, build_registry
from registry.entrypoints.routes import entities, imports, ledgers, reference

_context = build_context()
app = build_app(_context, [entities.router, ledgers.router, imports.router, reference.router],
                description="Entities, ledgers (台帐), the baseline (党建基数), verification flags and "
                            "spreadsheet import of 附表1/附表2.")
app.state.registry = build_registry(_context)
