"""The intake's JSON Schemas over HTTP: ``GET /intake/schemas`` lists a service's command types,
``GET /intake/schemas/{ce_type}`` gives one command's data schema (from the route's own request model)."""

from fastapi import APIRouter

from ..errors import NotFound
from .commands import IntakeCommand, command_table


def intake_schema_router(commands: list[IntakeCommand]) -> APIRouter:
    table = command_table(commands)
    router = APIRouter(tags=["intake"])

    @router.get("/intake/schemas")
    def intake_schemas() -> list[dict]:
        """The commands this service takes from the Kafka intake (docs/intake.md), with their schemas' paths."""
        return [{"ce_type": ce_type, "schema": f"/intake/schemas/{ce_type}", "http_status": command.status_code}
                for ce_type, command in sorted(table.items())]

    @router.get("/intake/schemas/{ce_type}")
    def intake_schema(ce_type: str) -> dict:
        """The JSON Schema of one command type's data."""
        if ce_type not in table:
            raise NotFound(f"没有这种命令类型：{ce_type}（GET /intake/schemas 列出全部）", field="ce_type")
        return table[ce_type].json_schema()

    return router
