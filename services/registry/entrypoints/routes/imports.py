"""Bulk import of 附表1/附表2 (XLSX or CSV) and the downloadable error report."""

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from platform_core.http import Caller, ErrorBody, IdempotencyKey
from registry.adapters.spreadsheet import error_report_csv, error_report_xlsx
from registry.entrypoints.deps import Service
from registry.entrypoints.schemas import ImportOutcome
from registry.entrypoints.uploads import read_upload, upload_body
from registry.handlers import imports as handlers

router = APIRouter(tags=["imports"])


def _with_links(outcome: dict) -> dict:
    if outcome["error_count"]:
        outcome["errors_url"] = f"/imports/{outcome['import_id']}/errors.csv"
    return outcome


@router.post("/imports/{form}", status_code=201, response_model=ImportOutcome,
             responses={422: {"model": ImportOutcome | ErrorBody,
                              "description": "rejected: nothing imported, see the errors (or the file itself is refused)"}},
             openapi_extra=upload_body("附表1 (form1) or 附表2 (form2), .xlsx or .csv"))
async def import_form(form: Literal["form1", "form2"], caller: Caller, registry: Service, key: IdempotencyKey,
                      request: Request):
    """Import a survey form; all rows or none. A rejected file answers 422 with the row-level errors."""
    handlers.authorize(caller, form)  # before the body is received, let alone read
    filename, content = await read_upload(request)
    # Reading a sheet and writing its rows take seconds of CPU and database: a worker thread, so the
    # event loop goes on answering other requests meanwhile.
    outcome, replayed = await run_in_threadpool(handlers.run_import, registry, caller, form, filename, content, key)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    status = 201 if outcome["status"] == "imported" else 422
    body = _with_links(outcome)
    if status == 422:
        body = {"error": "import_rejected", "field": "file",
                "message": f"导入被拒绝：{outcome['error_count']}处错误，未写入任何数据；错误报告见 {body['errors_url']}",
                **body}
    return JSONResponse(status_code=status, content=body, headers=headers)


@router.get("/imports/{import_id}", response_model=ImportOutcome)
def import_outcome(import_id: str, caller: Caller, registry: Service) -> dict:
    """An import's outcome."""
    record, _ = handlers.error_report(registry, import_id)
    return _with_links(handlers.outcome(record))


@router.get("/imports/{import_id}/errors.{fmt}")
def import_errors(import_id: str, fmt: Literal["csv", "xlsx"], caller: Caller, registry: Service) -> Response:
    """The error report (行号, 列, 原因) as CSV or XLSX."""
    _, errors = handlers.error_report(registry, import_id)
    if fmt == "csv":
        return Response(error_report_csv(errors), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{import_id}-errors.csv"'})
    return Response(error_report_xlsx(errors),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{import_id}-errors.xlsx"'})
