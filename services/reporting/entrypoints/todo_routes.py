"""The daily to-do lists (每日待办清单) as JSON and as XLSX downloads (docs/todo.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from platform_core.api_types import IsoDate
from platform_core.auth import Principal
from platform_core.http import authenticate
from reporting.domain.todo import LISTS
from reporting.handlers import todo

router = APIRouter(tags=["to-do lists"])
Caller = Annotated[Principal, Depends(authenticate)]
ListKey = Annotated[str, Path(pattern=f"^({'|'.join(LISTS)})$", description=", ".join(LISTS))]
District = Annotated[str | None, Query(pattern=r"^\d{6}$")]
Street = Annotated[str | None, Query(pattern=r"^\d{9}$")]
LedgerUnit = Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,80}$", description="e.g. street-420102001, civil-affairs")]
Today = Annotated[IsoDate | None, Query(description="judge as of this day (YYYY-MM-DD); default the business date")]


@router.get("/todo")
def todo_index(request: Request, caller: Caller, district: District = None, street: Street = None,
               ledger_unit: LedgerUnit = None, today: Today = None) -> dict:
    """Every list of the scope with its rule and how many entries it has."""
    scope = todo.scope_for(caller, district, street, ledger_unit)
    on, counts = todo.counts(request.app.state.context, scope, today)
    return {"today": on, "scope": vars(scope) | {"name": scope.name()},
            "lists": [{"key": key, "title": t.title, "rule": t.rule, "total": counts[key]} for key, t in LISTS.items()]}


@router.get("/todo/{key}.xlsx", response_class=Response, responses={200: {
    "description": "the list as an XLSX workbook",
    "content": {todo.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
def todo_xlsx(request: Request, caller: Caller, key: ListKey, district: District = None, street: Street = None,
              ledger_unit: LedgerUnit = None, today: Today = None) -> Response:
    """The list as an XLSX workbook: numbers and dates as typed cells, names always text."""
    found = todo.todo(request.app.state.context, key, todo.scope_for(caller, district, street, ledger_unit), today)
    body, filename = todo.workbook(found, key)
    return Response(body, media_type=todo.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/todo/{key}")
def todo_json(request: Request, caller: Caller, key: ListKey, district: District = None, street: Street = None,
              ledger_unit: LedgerUnit = None, today: Today = None) -> dict:
    """One list of the scope: each entity with the list's columns."""
    found = todo.todo(request.app.state.context, key, todo.scope_for(caller, district, street, ledger_unit), today)
    return {"list": key, "title": found.todo_list.title, "rule": found.todo_list.rule, "today": found.today,
            "scope": vars(found.scope) | {"name": found.scope.name()},
            "columns": [{"field": f, "header": h, "type": k} for f, h, k in found.todo_list.columns],
            "total": len(found.rows), "entities": found.rows}
