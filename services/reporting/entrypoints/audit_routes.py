"""Inspector API for the audit log (read-only scope ``audit.read``), under ``/audit``.

Hashes are base64 like in checkpoints; proof bodies are what
``python -m reporting.audit.verify --proof`` takes.
"""

import uuid
from collections.abc import Iterator
from datetime import timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from platform_core.api_types import IsoDateTime, MAX_OFFSET
from platform_core.auth import Principal
from platform_core.errors import PlatformError
from platform_core.http import authenticate
from platform_core.service import ServiceContext
from reporting.audit import queries
from reporting.audit.store import AuditLogStore, SearchQuery
from reporting.bootstrap import checkpoint_signer
from reporting.entrypoints.audit_schemas import (
    CheckpointPublic, ConsistencyProofPublic, EntityHistoryPublic, EventsPage, InclusionProofPublic, LoggedEventPublic,
    ProvenEventPublic, b64)

router = APIRouter(prefix="/audit", tags=["audit"])
Caller = Annotated[Principal, Depends(authenticate)]


def _store(request: Request) -> tuple[ServiceContext, AuditLogStore]:
    context: ServiceContext = request.app.state.context
    return context, AuditLogStore(context.schema)


@router.get("/checkpoints/latest", response_model=CheckpointPublic)
def latest_checkpoint(request: Request, principal: Caller) -> CheckpointPublic:
    """The latest signed checkpoint (C2SP signed note in ``note``)."""
    principal.require("audit.read")
    context, store = _store(request)
    with context.engine.connect() as conn:
        return CheckpointPublic.of(queries.latest_checkpoint(conn, store))


@router.get("/checkpoints/in-force", response_model=CheckpointPublic)
def checkpoint_in_force(request: Request, principal: Caller,
                        at: Annotated[IsoDateTime, Query(description="a time with zone, e.g. 2016-11-20T08:00:00+08:00")]
                        ) -> CheckpointPublic:
    """The checkpoint in force at a time: the last one signed at or before it."""
    principal.require("audit.read")
    if at.tzinfo is None:
        raise PlatformError("at must carry a time zone, e.g. 2016-11-20T08:00:00+08:00", field="at")
    at = at.astimezone(timezone.utc)  # PostgreSQL refuses offsets beyond ±15:59 that pydantic accepts
    context, store = _store(request)
    with context.engine.connect() as conn:
        return CheckpointPublic.of(queries.checkpoint_in_force(conn, store, at))


@router.get("/checkpoints", response_model=list[CheckpointPublic])
def list_checkpoints(request: Request, principal: Caller, after_id: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[CheckpointPublic]:
    """Every signed checkpoint, oldest first (page with ``after_id``)."""
    principal.require("audit.read")
    context, store = _store(request)
    with context.engine.connect() as conn:
        return [CheckpointPublic.of(c) for c in store.checkpoints(conn, after_id, limit)]


@router.get("/keys", response_class=PlainTextResponse)
def verifier_keys(request: Request) -> str:
    """The public keys that signed checkpoints, one verifier key per line (the verifier's --keys file).
    Public, no token: a verifier key is not a secret, and anyone holding a published bulletin's checkpoint
    must be able to check its signature."""
    context, store = _store(request)
    with context.engine.connect() as conn:
        keys = store.verifier_keys(conn)
    return "".join(k + "\n" for k in keys)


@router.get("/proofs/inclusion", response_model=InclusionProofPublic)
def inclusion_proof(request: Request, principal: Caller, event_id: uuid.UUID,
                    tree_size: Annotated[int | None, Query(ge=1, le=MAX_OFFSET)] = None) -> Response:
    """Inclusion proof of an event (RFC 9162 2.1.3), by default in the latest signed checkpoint."""
    principal.require("audit.read")
    context, store = _store(request)
    with context.engine.connect() as conn:
        found = queries.inclusion_proof(conn, store, event_id, tree_size)
    # Built here and returned as bytes: FastAPI would validate the model it was just built from again and
    # encode it through jsonable_encoder (docs/performance.md, changes of 2026-12-04). Same JSON.
    return Response(InclusionProofPublic.of(found).model_dump_json(), media_type="application/json")


@router.get("/proofs/consistency", response_model=ConsistencyProofPublic)
def consistency_proof(request: Request, principal: Caller, first: Annotated[int, Query(ge=0, le=MAX_OFFSET)],
                      second: Annotated[int, Query(ge=0, le=MAX_OFFSET)]) -> ConsistencyProofPublic:
    """Consistency proof between two tree sizes (RFC 9162 2.1.4)."""
    principal.require("audit.read")
    context, store = _store(request)
    with context.engine.connect() as conn:
        found = queries.consistency_proof(conn, store, first, second)
    return ConsistencyProofPublic(first=first, second=second, proof=[b64(p) for p in found.proof],
                                  first_root=b64(found.first_root), second_root=b64(found.second_root))


@router.get("/entities/{entity_id}/history", response_model=EntityHistoryPublic)
def entity_history(request: Request, principal: Caller, entity_id: str,
                   after_index: Annotated[int, Query(ge=-1, le=MAX_OFFSET)] = -1,
                   limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = queries.MAX_PAGE) -> EntityHistoryPublic:
    """An entity's whole history: every event naming it, each with its inclusion proof."""
    principal.require("audit.read", target=entity_id)
    context, store = _store(request)
    with context.engine.connect() as conn:
        history = queries.entity_history(conn, store, entity_id, after_index, limit)
    return EntityHistoryPublic(
        entity_id=entity_id, checkpoint=CheckpointPublic.of(history.checkpoint) if history.checkpoint else None,
        events=[ProvenEventPublic(**LoggedEventPublic.of(p.event).model_dump(),
                                  proof=None if p.proof is None else [b64(h) for h in p.proof])
                for p in history.events])


@router.get("/events", response_model=EventsPage)
def search_events(request: Request, principal: Caller,
                  entity: str | None = None, unit: str | None = None,
                  actor: Annotated[str | None, Query(description="department, or a department kind")] = None,
                  type: Annotated[str | None, Query(description="event type")] = None,
                  recorded_from: IsoDateTime | None = None, recorded_to: IsoDateTime | None = None,
                  after_index: Annotated[int, Query(ge=-1, le=MAX_OFFSET)] = -1,
                  limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100) -> EventsPage:
    """Search the log by entity, unit, actor department, type and recorded time (page with ``after_index``)."""
    principal.require("audit.read")
    for name, moment in (("recorded_from", recorded_from), ("recorded_to", recorded_to)):
        if moment is not None and moment.tzinfo is None:
                raise PlatformError(f"{name} must carry a time zone", field=name)
    recorded_from, recorded_to = (None if m is None else m.astimezone(timezone.utc) for m in (recorded_from, recorded_to))
    context, store = _store(request)
    query = SearchQuery(entity, unit, actor, type, recorded_from, recorded_to, after_index, limit)
    with context.engine.connect() as conn:
        events = store.search(conn, query)
    return EventsPage(events=[LoggedEventPublic.of(e) for e in events],
                      next_after_index=events[-1].leaf_index if len(events) == limit else None)


@router.get("/export/events", responses={200: {
    "description": "canonical JSON lines", "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}})
def export_events(request: Request, principal: Caller,
                  upto: Annotated[int | None, Query(ge=0, le=MAX_OFFSET, description="leaves [0, upto); default all")] = None
                  ) -> StreamingResponse:
    """The log's events as the verifier's ``--events`` file: canonical JSON lines in log order."""
    principal.require("audit.read")
    context, store = _store(request)

    def lines() -> Iterator[bytes]:
        with context.engine.connect() as conn:
            size = store.head(conn)[0]
            for event in store.iter_events(conn, size if upto is None else min(upto, size)):
                yield event.canonical + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/checkpoints", response_model=CheckpointPublic, status_code=201)
def sign_checkpoint(request: Request, principal: Caller) -> CheckpointPublic:
    """Sign a checkpoint of the log now (city organization department: bulletin publishers)."""
    principal.require("bulletin.publish")
    context: ServiceContext = request.app.state.context
    return CheckpointPublic.of(checkpoint_signer(context).sign_now("manual", principal.actor()))
