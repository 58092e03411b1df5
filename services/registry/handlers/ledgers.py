"""Ledger commands: submit (and resubmit), return with reasons, approve into the baseline (R1)."""

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from platform_core.auth import Principal
from platform_core.event_store import AppendResult, request_fingerprint
from platform_core.events import Command, Decision
from registry.adapters import repository as repo
from registry.domain import ledger as domain
from registry.domain import policy

from .context import RegistryContext


def _unit(ctx: RegistryContext, code: str) -> domain.LedgerUnit:
    return domain.parse_unit(code, ctx.territory, ctx.vocabulary.departments)


def stream_of(unit: str) -> str:
    return f"ledger-{unit}"


def status(ctx: RegistryContext, code: str) -> dict:
    """A unit's ledger as its stream tells it (also for units never submitted)."""
    unit = _unit(ctx, code)
    with ctx.connect() as conn:
        state = domain.replay(code, ctx.read(conn, stream_of(code)))
        current = repo.unit_entity_ids(conn, unit)
    return {"unit": unit.code, "unit_kind": unit.kind, "name": unit.name, "district_code": unit.district_code,
            "status": state.status, "status_name": domain.STATUS_NAMES[state.status], "submission": state.submission,
            "version": state.version, "submitted_count": len(state.submitted), "approved_count": len(state.approved),
            "reasons": list(state.reasons), "current_count": len(current),
            "not_yet_approved_count": len(set(current) - state.approved)}


def _run(ctx: RegistryContext, principal: Principal, code: str, action: str, idempotency_key: str | None,
         reasons: Sequence[str] = ()) -> tuple[dict, bool]:
    unit = _unit(ctx, code)
    if action == "submit":
        policy.require_ledger_submit(principal, unit)
    else:
        policy.require_ledger_review(principal, unit, "ledger.approve" if action == "approve" else "ledger.return")
    stream = stream_of(unit.code)
    command = Command(principal.actor(), request_fingerprint(action, unit.code, list(reasons)), idempotency_key,
                      conflict=f"{unit.name}的台账已被并发修改，请重新读取后重试")
    decided = {}

    def decide(conn: Connection) -> Decision:
        state = domain.replay(unit.code, ctx.read(conn, stream))
        if action == "submit":
            events = domain.decide_submit(state, unit, repo.unit_entity_ids(conn, unit))
        elif action == "return":
            events = domain.decide_return(state, unit, reasons)
        else:
            events = domain.decide_approve(state, unit)
        decided.update(state=state, events=events)
        return Decision(events, stream, state.version)

    def project(conn: Connection, result: AppendResult) -> None:
        state = decided["state"]
        for item in decided["events"]:
            state = domain.evolve(state, item.type, item.payload)
        if action == "approve":
            repo.admit_to_baseline(conn, unit.code, list(state.submitted))
        repo.save_ledger(conn, unit, state.status, state.submission, len(state.submitted), len(state.approved),
                         state.reasons, state.version, principal.department, result.events[-1].recorded_at)

    executed = ctx.execute(command, decide, project)
    return status(ctx, unit.code), executed.replayed


def submit(ctx: RegistryContext, principal: Principal, code: str, idempotency_key: str | None = None):
    return _run(ctx, principal, code, "submit", idempotency_key)


def return_ledger(ctx: RegistryContext, principal: Principal, code: str, reasons: Sequence[str],
                  idempotency_key: str | None = None):
    return _run(ctx, principal, code, "return", idempotency_key, reasons)


def approve(ctx: RegistryContext, principal: Principal, code: str, idempotency_key: str | None = None):
    return _run(ctx, principal, code, "approve", idempotency_key)
