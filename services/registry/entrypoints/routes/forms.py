"""附表1/附表2 out: a ledger unit's current data in the import's layout, and the blank templates."""

from typing import Literal

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from platform_core.http import Caller, ErrorBody
from registry.entrypoints.deps import Service
from registry.handlers import forms_out as handlers

router = APIRouter(tags=["forms"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Form = Literal["form1", "form2"]
_FILE = {200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}, "description": "the XLSX file"}}


def _xlsx(name: str, content: bytes) -> Response:
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/ledgers/{unit}/forms/{form}.xlsx", response_class=Response,
            responses={**_FILE, 403: {"model": ErrorBody, "description": "not the department's ledger unit"},
                       422: {"model": ErrorBody, "description": "unknown unit, or the unit's ledger is the other form"}})
async def export_ledger(unit: str, form: Form, caller: Caller, registry: Service) -> Response:
    """The unit's ledger as 附表1 (form1: street and district enterprise ledgers) or 附表2 (form2: social
    organizations), in the layout POST /imports/{form} reads; imported back, it writes nothing."""
    name, content = await run_in_threadpool(handlers.export_ledger, registry, caller, unit, form)
    return _xlsx(name, content)


@router.get("/forms/{form}/template.xlsx", response_class=Response, responses=_FILE)
def form_template(form: Form, registry: Service) -> Response:
    """The blank 附表1/附表2 with a notes sheet of each column's rule (no credentials needed: it holds no data)."""
    return _xlsx(*handlers.template(registry, form))
