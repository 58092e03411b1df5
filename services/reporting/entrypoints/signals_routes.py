"""The detectors' signals (docs/detectors.md): ``GET /signals``, each with its evidence and the links to the
audit proofs of the events behind it."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from platform_core.auth import Forbidden, Principal
from platform_core.contracts.reporting import SIGNAL_ID
from platform_core.http import authenticate, idempotency_key
from reporting.adapters.signals_store import list_signals
from reporting.domain.signals import SIGNAL_KINDS, SIGNAL_KINDS_ZH
from reporting.handlers import signal_marks

router = APIRouter(tags=["signals"])
Caller = Annotated[Principal, Depends(authenticate)]
Key = Annotated[str | None, Depends(idempotency_key)]
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


class SignalMark(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["confirmed", "dismissed"] = Field(description="核实属实 / 排除")
    reason: str = Field(min_length=2, max_length=2000, description="what checking the signal found")


@router.post("/signals/{signal_id}/marks", status_code=201)
def mark_signal(request: Request, principal: Caller, key: Key, body: SignalMark, response: Response,
                signal_id: Annotated[str, Path(pattern=SIGNAL_ID)]) -> dict:
    """The city's task force marks a signal confirmed or dismissed, with the reason (accountability.record);
    the mark is an event (SignalMarked) and shows on the signal once projected."""
    done = signal_marks.mark(request.app.state.context, principal, signal_id, body.verdict, body.reason, key)
    if done.pop("replayed"):
        response.headers["Idempotent-Replayed"] = "true"
    return done


MARK_FIELDS = ("verdict", "mark_reason", "marked_on", "marked_by", "mark_event_id")


def _public(row: dict) -> dict:
    mark = None if row["verdict"] is None else {
        "verdict": row["verdict"], "reason": row["mark_reason"], "marked_on": row["marked_on"],
        "marked_by": row["marked_by"], "event_id": row["mark_event_id"]}
    return {**{k: v for k, v in row.items() if k != "event_ids" and k not in MARK_FIELDS},
            "kind_zh": SIGNAL_KINDS_ZH[row["kind"]], "mark": mark,
            "evidence": [{"event_id": e, "proof": f"/audit/proofs/inclusion?event_id={e}"} for e in row["event_ids"]]}
