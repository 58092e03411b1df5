"""The detectors' signals (docs/detectors.md): ``GET /signals``, each with its evidence and the links to the
audit proofs of the events behind it."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from platform_core.auth import Forbidden, Principal
from platform_core.http import authenticate
from reporting.adapters.signals_store import list_signals
from reporting.domain.signals import SIGNAL_KINDS, SIGNAL_KINDS_ZH

router = APIRouter(tags=["signals"])
Caller = Annotated[Principal, Depends(authenticate)]
DISTRICT = r"^\d{6}$"


def visible_districts(principal: Principal, district: str | None) -> list[str] | None:
    """Whose signals the caller may read: the city's departments with read.all any district (``district``
    narrows it), a district's organization department its own district only; None means every district."""
    if principal.may("read.all"):
        return [district] if district else None
    if principal.kind == "district_org" and principal.territory:
        principal.require("organization.form", territory=district or principal.territory, target="signals")
        return [principal.territory[:6]]
    raise Forbidden(f"{principal.department} may not read signals: only the city's departments (read.all) and "
                    "a district's organization department for its own district", principal=principal,
                    permission="read.all", target="signals")


@router.get("/signals")
def get_signals(request: Request, principal: Caller,
                district: Annotated[str | None, Query(pattern=DISTRICT, description="a district code")] = None,
                kind: Annotated[Literal[SIGNAL_KINDS] | None, Query(description="one kind of signal")] = None,  # type: ignore[valid-type]
                limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> dict:
    """Signals of formalism and false numbers (疑点), per district; never a verdict. Each lists its events, with
    the audit log's inclusion proof of each (``/audit/proofs/inclusion?event_id=``, audit.read)."""
    districts = visible_districts(principal, district)
    context = request.app.state.context
    with context.engine.connect() as conn:
        total, rows = list_signals(conn, context.schema, districts, kind, limit, offset)
    return {"total": total, "signals": [_public(row) for row in rows]}


def _public(row: dict) -> dict:
    return {**{k: v for k, v in row.items() if k != "event_ids"}, "kind_zh": SIGNAL_KINDS_ZH[row["kind"]],
            "evidence": [{"event_id": e, "proof": f"/audit/proofs/inclusion?event_id={e}"} for e in row["event_ids"]]}
