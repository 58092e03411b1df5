"""Departments' verification lists (三(二) 应报尽报、一个不漏) and their differences against the registry."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from platform_core.api_types import Offset
from platform_core.http import Caller, ErrorBody, IdempotencyKey
from registry.adapters import verification as lists
from registry.entrypoints.deps import Service
from registry.entrypoints.schemas import VerificationImportOutcome
from registry.entrypoints.uploads import read_upload, upload_body
from registry.handlers import verification as handlers

router = APIRouter(tags=["verification"])
Difference = Literal["not_in_registry", "missing_from_list", "registered_differently"]


@router.post("/verification-lists", status_code=201, response_model=VerificationImportOutcome,
             responses={422: {"model": VerificationImportOutcome | ErrorBody,
                              "description": "rejected: nothing imported, see the errors (or the file is refused)"}},
             openapi_extra=upload_body("the department's list (.xlsx or .csv): 名称, 统一社会信用代码; 工商联: 是否会员"))
async def import_list(caller: Caller, registry: Service, key: IdempotencyKey, request: Request):
    """工商/商务/经信/民政/工商联 import their list (all rows or none); it replaces the department's earlier list."""
    handlers.require_lister(caller)  # before the body is received, let alone read
    filename, content = await read_upload(request)
    outcome, replayed = await run_in_threadpool(handlers.import_list, registry, caller, filename, content, key)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if outcome["status"] == "imported":
        return JSONResponse(status_code=201, content=outcome, headers=headers)
    url = f"/imports/{outcome['import_id']}/errors.csv"
    return JSONResponse(status_code=422, headers=headers, content={
        "error": "import_rejected", "field": "file", "errors_url": url, **outcome,
        "message": f"名单被拒绝：{outcome['error_count']}处错误，未写入任何数据；错误报告见 {url}"})


@router.get("/verification-lists")
def current_lists(caller: Caller, registry: Service) -> list[dict]:
    """Every department's current list (counts as matched at import)."""
    with registry.connect() as conn:
        return lists.summaries(conn)


@router.get("/verification-lists/{department}")
def list_differences(department: Literal["market_regulation", "commerce", "economy_it", "civil_affairs",
                                         "federation_commerce"], caller: Caller, registry: Service,
                     territory: Annotated[str | None, Query(pattern=r"^\d{6}(\d{3})?$")] = None,
                     difference: Difference | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                     offset: Offset = 0) -> dict:
    """A department's list against the registry now: on the list but not registered, registered in its scope but
    not on the list, on the list but registered outside its scope (each a count and a page of rows)."""
    found = handlers.report(registry, department, territory)
    wanted = [difference] if difference else list(found["differences"])
    found["differences"] = {name: found["differences"][name][offset:offset + limit] for name in wanted}
    return found
