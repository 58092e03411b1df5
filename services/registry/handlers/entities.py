"""Commands on entities: register, update the profile, flag, clear a flag, dismiss a shadow candidate.

Each one: validate, then the event store's pipeline (``EventStore.execute``): load, decide, append the
events and update the read tables in ONE transaction, return what the caller needs.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from platform_core.auth import Principal
from platform_core.errors import AlreadyExists, ConcurrencyConflict, NotFound, RuleViolation
from platform_core.event_store import AppendResult, request_fingerprint
from platform_core.events import Command, Decision, NewEvent
from registry.adapters import repository as repo
from registry.domain import entity as domain
from registry.domain import persons, policy
from registry.domain.facts import validate_changes, validate_registration
from registry.domain.shadow import find_candidates

from .context import RegistryContext


def register(ctx: RegistryContext, principal: Principal, raw: Mapping[str, Any],
             idempotency_key: str | None = None) -> tuple[dict, bool]:
    """A new entity; (entity, replayed). A second entity with the same code is 409 naming the first.
    Its persons are sealed in a record of their own; the event carries the record's reference and hashes."""
    facts, errors = validate_registration(raw, ctx.vocabulary)
    domain.raise_first(errors)
    policy.require_register(principal, facts, target=facts["uscc"])
    clear, people = persons.split(facts)
    command = Command(principal.actor(), request_fingerprint("register", clear, ctx.persons.digest(people)),
                      idempotency_key, conflict="并发登记冲突，请重试", conflict_field="uscc")
    entity_id = domain.new_entity_id()
    sealed = dict(clear)

    def decide(conn: Connection) -> Decision:
        sealed["personal_data"] = ctx.persons.seal_new(conn, [(entity_id, people)])[entity_id]
        return Decision(domain.decide_register(entity_id, sealed), entity_id, 0)

    def project(conn: Connection, result: AppendResult) -> dict:
        # A code registered already fails here, at the unique constraint, and the whole transaction
        # rolls back (a look-up before it would cost every registration a round trip).
        entity = repo.insert_entity(conn, repo.entity_row(entity_id, sealed, 1, result.events[0].recorded_at))
        if sealed["kind"] == "non_public_enterprise":
            _find_shadows(conn, entity_id, sealed)
        return entity

    executed = ctx.execute(command, decide, project, _entity_of,
                           explain_unique=lambda conn: _refuse_duplicate(conn, facts["uscc"]))
    return executed.answer, executed.replayed


def _entity_of(conn: Connection, earlier: AppendResult) -> dict:
    """A repeated command's answer: the entity its first run wrote to, as it is now."""
    return repo.get_entity(conn, earlier.events[0].stream_id)


def _refuse_duplicate(conn, uscc: str) -> None:
    existing = repo.existing_codes(conn, [uscc])
    if uscc in existing:
        entity_id, name = existing[uscc]
        raise AlreadyExists(f"统一社会信用代码{uscc}已登记为 {entity_id}（{name}）", field="uscc")


def _find_shadows(conn, entity_id: str, facts: Mapping[str, Any]) -> None:
    entity = repo.entity_row(entity_id, facts, 1, None)
    keys_a = [k for k in [entity["address_key"]] if k]
    keys_p = [k for k in [entity["person_key"]] if k]
    others = repo.shadow_neighbours(conn, keys_a, keys_p)
    candidates = find_candidates(entity, others)
    repo.insert_candidates(conn, candidates, {entity_id: facts["district_code"]})


def _load(ctx: RegistryContext, conn, entity_id: str) -> domain.EntityState:
    state = domain.replay(entity_id, ctx.read(conn, entity_id))
    if not state.registered:
        raise NotFound(f"没有两新组织 {entity_id}", field="entity_id")
    return state


def _check_version(state: domain.EntityState, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != state.version:
        raise ConcurrencyConflict(f"{state.entity_id} 当前版本为{state.version}，请求基于版本{expected_version}",
                                  field="expected_version")


# Updates the read rows after the events: the entity's state after them, and their recorded time.
Update = Callable[[Connection, domain.EntityState, datetime], None]
Step = Callable[[Connection, domain.EntityState], tuple[list[NewEvent], Update]]


def _on_entity(ctx: RegistryContext, principal: Principal, entity_id: str, fingerprint: str,
               idempotency_key: str | None, step: Step) -> tuple[dict, bool]:
    """One command on an entity's stream, in one transaction: a repeat of an earlier command answers with the
    entity as it is; otherwise load the stream and run ``step`` (check and decide; its update writes the read
    rows after the append)."""
    decided: dict[str, Any] = {}

    def decide(conn: Connection) -> Decision:
        state = _load(ctx, conn, entity_id)
        decided["state"], (decided["events"], decided["update"]) = state, step(conn, state)
        return Decision(decided["events"], entity_id, state.version)

    def project(conn: Connection, result: AppendResult) -> dict:
        first = decided["events"][0]
        decided["update"](conn, domain.evolve(decided["state"], first.type, first.payload),
                          result.events[-1].recorded_at)
        return repo.get_entity(conn, entity_id)

    command = Command(principal.actor(), fingerprint, idempotency_key,
                      conflict=f"{entity_id} 已被并发修改，请重新读取后重试")
    executed = ctx.execute(command, decide, project, _entity_of)
    return executed.answer, executed.replayed


def update_profile(ctx: RegistryContext, principal: Principal, entity_id: str, raw: Mapping[str, Any],
                   expected_version: int | None = None, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Survey facts change as events (EntityProfileUpdated with the changed fields); a change of the persons
    seals them again and the event carries the record's reference and hashes."""
    changes, errors = validate_changes(raw, ctx.vocabulary)
    domain.raise_first(errors)
    clear, people = persons.split(changes)
    fingerprint = request_fingerprint("update", entity_id, clear, ctx.persons.digest(people), expected_version)

    def step(conn: Connection, state: domain.EntityState) -> tuple[list[NewEvent], Update]:
        policy.require_survey(principal, state.facts, target=entity_id)
        _check_version(state, expected_version)
        current = ctx.persons.current(conn, entity_id) if people else None
        changed = persons.after_change(current.persons if current else None, people)
        sealed = ctx.persons.reseal(conn, entity_id, current, changed) if changed is not None else None

        def update(conn: Connection, after: domain.EntityState, at: datetime) -> None:
            repo.update_facts(conn, entity_id, after.facts, after.version, at, persons_changed=sealed is not None)

        return domain.decide_update(state, clear, sealed), update

    return _on_entity(ctx, principal, entity_id, fingerprint, idempotency_key, step)


def flag(ctx: RegistryContext, principal: Principal, entity_id: str, flag_name: str, reason: str,
         duplicate_of: str | None = None, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Market regulation marks a shell, zombie or shadow enterprise; it leaves the baseline (R1)."""
    fingerprint = request_fingerprint("flag", entity_id, flag_name, reason, duplicate_of)

    def step(conn: Connection, state: domain.EntityState) -> tuple[list[NewEvent], Update]:
        policy.require_flag(principal, state.facts, target=entity_id)
        duplicate = None
        if duplicate_of is not None:
            duplicate = domain.replay(duplicate_of, ctx.read(conn, duplicate_of))
            if not duplicate.registered:
                raise NotFound(f"duplicate_of：没有两新组织 {duplicate_of}", field="duplicate_of")

        def update(conn: Connection, after: domain.EntityState, at: datetime) -> None:
            _save_flags(conn, after, at)
            if flag_name == "shadow":
                repo.decide_candidate(conn, entity_id, duplicate_of, "flagged", principal.department)

        return domain.decide_flag(state, flag_name, reason, duplicate), update

    return _on_entity(ctx, principal, entity_id, fingerprint, idempotency_key, step)


def clear_flag(ctx: RegistryContext, principal: Principal, entity_id: str, flag_name: str, reason: str,
               idempotency_key: str | None = None) -> tuple[dict, bool]:
    """The flag is lifted; an entity of an approved ledger is back in the baseline."""
    fingerprint = request_fingerprint("clear", entity_id, flag_name, reason)

    def step(conn: Connection, state: domain.EntityState) -> tuple[list[NewEvent], Update]:
        policy.require_flag(principal, state.facts, target=entity_id)
        return domain.decide_clear_flag(state, flag_name, reason), _save_flags

    return _on_entity(ctx, principal, entity_id, fingerprint, idempotency_key, step)


def _save_flags(conn, state: domain.EntityState, at) -> None:
    shadow = state.flags.get("shadow")
    repo.set_flags(conn, state.entity_id, state.flags.keys(), shadow["duplicate_of"] if shadow else None,
                   state.version, at)


def erase_persons(ctx: RegistryContext, principal: Principal, entity_id: str, reason: str,
                  expected_version: int | None = None, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """PIPL art. 47: the entity's persons erased by crypto-shredding, by a department that may survey it.
    EntityPersonalDataErased, the record's data key deleted and its hashes dropped, in one transaction."""
    fingerprint = request_fingerprint("erase-persons", entity_id, reason, expected_version)

    def step(conn: Connection, state: domain.EntityState) -> tuple[list[NewEvent], Update]:
        policy.require_survey(principal, state.facts, target=entity_id)
        _check_version(state, expected_version)
        current = ctx.persons.current(conn, entity_id)
        decided = domain.decide_erase(state, current.ref if current else None, reason)

        def update(conn: Connection, after: domain.EntityState, at: datetime) -> None:
            ctx.persons.erase(conn, current.ref, reason, at)
            repo.update_facts(conn, entity_id, after.facts, after.version, at)

        return decided, update

    return _on_entity(ctx, principal, entity_id, fingerprint, idempotency_key, step)


def dismiss_candidate(ctx: RegistryContext, principal: Principal, entity_id: str, candidate_of: str) -> None:
    """A person in market regulation decided the pair is not a duplicate."""
    with ctx.begin() as conn:
        state = _load(ctx, conn, entity_id)
        policy.require_flag(principal, state.facts, target=entity_id)
        if repo.decide_candidate(conn, entity_id, candidate_of, "dismissed", principal.department) == 0:
            raise RuleViolation(f"{entity_id} 与 {candidate_of} 不是待审核的影子企业候选", field="candidate_of")


def history(ctx: RegistryContext, entity_id: str) -> list[dict]:
    envelopes = ctx.store.read_stream(entity_id)
    if not envelopes:
        raise NotFound(f"没有两新组织 {entity_id}", field="entity_id")
    return [{"event_id": str(e.event_id), "type": e.type, "stream_version": e.stream_version,
             "occurred_at": e.occurred_at, "recorded_at": e.recorded_at, "actor": e.actor.model_dump(),
             "payload": e.payload} for e in envelopes]
