"""Ledgers (台帐) per unit, their review, and the baseline counts."""

from typing import Literal

from fastapi import APIRouter, Response

from platform_core.http import Caller, IdempotencyKey, mark_replayed
from registry.adapters import repository as repo
from registry.entrypoints.deps import Service
from registry.entrypoints.schemas import LedgerPublic, LedgerReturn
from registry.handlers import ledgers as handlers

router = APIRouter(tags=["ledgers"])


@router.get("/ledgers")
def list_ledgers(caller: Caller, registry: Service, district: str | None = None,
                 status: Literal["submitted", "returned", "approved"] | None = None) -> list[dict]:
    """Ledger status of every unit that has submitted at least once."""
    with registry.connect() as conn:
        return repo.list_ledgers(conn, district, status)


@router.get("/ledgers/{unit}", response_model=LedgerPublic)
def ledger_status(unit: str, caller: Caller, registry: Service) -> dict:
    """One unit's ledger: status, submission, counts, return reasons."""
    return handlers.status(registry, unit)


@router.post("/ledgers/{unit}/submit", response_model=LedgerPublic)
def submit_ledger(unit: str, caller: Caller, registry: Service, key: IdempotencyKey, response: Response) -> dict:
    """Submit (or resubmit) the unit's ledger to the city task force."""
    result, replayed = handlers.submit(registry, caller, unit, key)
    mark_replayed(response, replayed)
    return result


@router.post("/ledgers/{unit}/return", response_model=LedgerPublic)
def return_ledger(unit: str, body: LedgerReturn, caller: Caller, registry: Service, key: IdempotencyKey,
                  response: Response) -> dict:
    """City task force: send the ledger back with reasons."""
    result, replayed = handlers.return_ledger(registry, caller, unit, body.reasons, key)
    mark_replayed(response, replayed)
    return result


@router.post("/ledgers/{unit}/approve", response_model=LedgerPublic)
def approve_ledger(unit: str, caller: Caller, registry: Service, key: IdempotencyKey, response: Response) -> dict:
    """City task force: approve; the ledger's entities enter the baseline (R1)."""
    result, replayed = handlers.approve(registry, caller, unit, key)
    mark_replayed(response, replayed)
    return result


@router.get("/baseline/counts", tags=["baseline"])
def baseline_counts(caller: Caller, registry: Service, by: Literal["district", "street", "kind", "ledger"] = "district",
                    district: str | None = None) -> list[dict]:
    """Registered, approved, flagged and baseline entities per unit (R1)."""
    with registry.connect() as conn:
        return repo.baseline_counts(conn, by, district)
