"""Officials mark a detector's signal confirmed or dismissed, with the reason (docs/detectors.md): the marking
is an event of its own (SignalMarked on the stream ``<signal_id>``); a later mark replaces the earlier one."""

from sqlalchemy.engine import Connection

from platform_core.auth import Principal
from platform_core.errors import NotFound
from platform_core.event_store import request_fingerprint
from platform_core.events import Command, Decision, NewEvent
from platform_core.reference.city_time import local_date
from platform_core.service import ServiceContext
from reporting.adapters.signals_store import known_signals
from reporting.handlers.business_time import business_now


def mark(context: ServiceContext, principal: Principal, signal_id: str, verdict: str, reason: str,
         idempotency_key: str | None = None) -> dict:
    """The city's task force (accountability.record) marks a signal the projection shows."""
    principal.require("accountability.record", target=signal_id)
    with context.engine.connect() as conn:
        found = known_signals(conn, context.schema, [signal_id])
    if signal_id not in found:
        raise NotFound(f"no signal {signal_id} (GET /signals lists them)", field="signal_id")
    kind, districts = found[signal_id]
    payload = {"signal_id": signal_id, "kind": kind, "districts": districts, "verdict": verdict,
               "reason": reason, "marked_on": local_date(business_now(context)).isoformat()}
    fingerprint = request_fingerprint(signal_id, payload)

    def decide(conn: Connection) -> Decision:
        recorded = context.store.read_stream(signal_id, conn)
        return Decision([NewEvent("SignalMarked", payload)], stream_id=signal_id, expected_version=len(recorded))

    executed = context.store.execute(Command(principal.actor(), fingerprint, idempotency_key), decide)
    first = executed.result.events[0]
    return {**first.payload, "event_id": str(first.event_id), "replayed": executed.replayed}


def require_known(context: ServiceContext, signal_ids: list[str]) -> None:
    """An accountability entry cites only signals the projection shows (else 404 naming the first unknown)."""
    if not signal_ids:
        return
    with context.engine.connect() as conn:
        found = known_signals(conn, context.schema, signal_ids)
    missing = [s for s in signal_ids if s not in found]
    if missing:
        raise NotFound(f"no signal {missing[0]} (GET /signals lists them)", field="signal_ids")
