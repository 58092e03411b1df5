"""Entities: register, read, search, history, profile updates, verification flags."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from platform_core.api_types import Offset
from platform_core.errors import NotFound
from platform_core.http import Caller, IdempotencyKey, in_one_thread, mark_replayed
from registry.adapters import repository as repo
from registry.domain.uscc import normalize_uscc
from registry.entrypoints.deps import Service
from registry.entrypoints.persons import public_entity
from registry.entrypoints.schemas import (CandidateDismiss, EntityCreate, EntityPage, EntityPublic, FlagClear,
                                          FlagCreate, PersonsErase, ProfileUpdate)
from registry.handlers import entities as handlers

router = APIRouter(tags=["entities"])


# OpenAPI links from a registration to what may follow it (clients and schemathesis's stateful runs).
_ENTITY_ID = {"entity_id": "$response.body#/entity_id"}
REGISTERED_LINKS = {201: {"description": "registered", "links": {
    "GetEntity": {"operationRef": "#/paths/~1entities~1{entity_id}/get", "parameters": _ENTITY_ID},
    "UpdateEntity": {"operationRef": "#/paths/~1entities~1{entity_id}/patch", "parameters": _ENTITY_ID},
    "EntityHistory": {"operationRef": "#/paths/~1entities~1{entity_id}~1history/get", "parameters": _ENTITY_ID},
    "FlagEntity": {"operationRef": "#/paths/~1entities~1{entity_id}~1flags/post", "parameters": _ENTITY_ID},
}}}
UPDATED_LINKS = {200: {"description": "updated", "links": {
    "GetEntity": {"operationRef": "#/paths/~1entities~1{entity_id}/get",
                  "parameters": {"entity_id": "$request.path.entity_id"}}}}}


@router.post("/entities", status_code=201, response_model=EntityPublic, responses=REGISTERED_LINKS)
@in_one_thread
def register_entity(body: EntityCreate, caller: Caller, registry: Service, key: IdempotencyKey,
                    response: Response) -> dict:
    """Register an entity (409 naming the existing one when its code is registered already)."""
    entity, replayed = handlers.register(registry, caller, body.model_dump(), key)
    mark_replayed(response, replayed)
    return public_entity(entity, caller, registry)


@router.get("/entities", response_model=EntityPage)
def search_entities(caller: Caller, registry: Service,
                    name: str | None = None, district: str | None = None, street: str | None = None,
                    kind: Literal["non_public_enterprise", "social_organization", "rural_entity"] | None = None,
                    flag: Literal["shell", "zombie", "shadow", "any", "none"] | None = None,
                    in_baseline: bool | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Offset = 0) -> dict:
    """Search by name, district, street, kind, flag and baseline status."""
    with registry.connect() as conn:
        total, items = repo.search_entities(conn, name=name, district=district, street=street, kind=kind, flag=flag,
                                            in_baseline=in_baseline, limit=limit, offset=offset)
    return {"total": total, "items": [public_entity(item, caller, registry) for item in items]}


@router.get("/entities/by-uscc/{uscc}", response_model=EntityPublic)
def entity_by_code(uscc: str, caller: Caller, registry: Service) -> dict:
    """An entity by its unified social credit code."""
    with registry.connect() as conn:
        found = repo.get_entity(conn, uscc=normalize_uscc(uscc))
    if found is None:
        raise NotFound(f"统一社会信用代码{uscc}未登记", field="uscc")
    return public_entity(found, caller, registry)


@router.get("/entities/{entity_id}", response_model=EntityPublic)
def entity_by_id(entity_id: str, caller: Caller, registry: Service) -> dict:
    """An entity by its id (``entity-<uuid>``)."""
    with registry.connect() as conn:
        found = repo.get_entity(conn, entity_id=entity_id)
    if found is None:
        raise NotFound(f"没有两新组织 {entity_id}", field="entity_id")
    return public_entity(found, caller, registry)


@router.get("/entities/{entity_id}/history")
def entity_history(entity_id: str, caller: Caller, registry: Service) -> list[dict]:
    """Every event of the entity, in order (upcast to the newest schema)."""
    return handlers.history(registry, entity_id)


@router.patch("/entities/{entity_id}", response_model=EntityPublic, responses=UPDATED_LINKS)
def update_profile(entity_id: str, body: ProfileUpdate, caller: Caller, registry: Service, key: IdempotencyKey,
                   response: Response) -> dict:
    """Update survey facts (only the fields sent); recorded as EntityProfileUpdated."""
    changes = body.model_dump(exclude_unset=True)
    expected = changes.pop("expected_version", None)
    entity, replayed = handlers.update_profile(registry, caller, entity_id, changes, expected, key)
    mark_replayed(response, replayed)
    return public_entity(entity, caller, registry)


@router.post("/entities/{entity_id}/flags", response_model=EntityPublic, tags=["verification"])
def flag_entity(entity_id: str, body: FlagCreate, caller: Caller, registry: Service, key: IdempotencyKey,
                response: Response) -> dict:
    """Market regulation: mark a shell, zombie or shadow enterprise (it leaves the baseline, R1)."""
    entity, replayed = handlers.flag(registry, caller, entity_id, body.flag, body.reason, body.duplicate_of, key)
    mark_replayed(response, replayed)
    return public_entity(entity, caller, registry)


@router.post("/entities/{entity_id}/flags/{flag}/clear", response_model=EntityPublic, tags=["verification"])
def clear_flag(entity_id: str, flag: Literal["shell", "zombie", "shadow"], body: FlagClear, caller: Caller,
               registry: Service, key: IdempotencyKey, response: Response) -> dict:
    """Market regulation: lift a flag."""
    entity, replayed = handlers.clear_flag(registry, caller, entity_id, flag, body.reason, key)
    mark_replayed(response, replayed)
    return public_entity(entity, caller, registry)


@router.post("/entities/{entity_id}/personal-data/erase", response_model=EntityPublic, tags=["personal data"])
def erase_persons(entity_id: str, body: PersonsErase, caller: Caller, registry: Service, key: IdempotencyKey,
                  response: Response) -> dict:
    """Erase the entity's persons for good (crypto-shredding, PIPL art. 47), by a department that may survey it."""
    entity, replayed = handlers.erase_persons(registry, caller, entity_id, body.reason, body.expected_version, key)
    mark_replayed(response, replayed)
    return public_entity(entity, caller, registry)


@router.get("/shadow-candidates", tags=["verification"])
def shadow_candidates(caller: Caller, registry: Service, district: str | None = None,
                      status: Literal["open", "flagged", "dismissed"] = "open",
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    """Possible duplicate registrations found automatically, for a person to decide."""
    with registry.connect() as conn:
        return repo.list_candidates(conn, district, status, limit)


@router.post("/shadow-candidates/dismiss", status_code=204, tags=["verification"])
def dismiss_candidate(body: CandidateDismiss, caller: Caller, registry: Service) -> Response:
    """Market regulation decided a candidate pair is not a duplicate."""
    handlers.dismiss_candidate(registry, caller, body.entity_id, body.candidate_of)
    return Response(status_code=204)
