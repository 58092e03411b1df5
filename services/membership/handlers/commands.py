"""Command handlers: load the member, decide, append events and read rows in ONE transaction.

Personal data enters here and goes no further than the vault and the
``member_identities`` table: events, fingerprints and errors carry only the
pseudonymous member id and keyed digests.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from platform_core.auth import Principal
from platform_core.clock import now as business_now
from platform_core.errors import AlreadyExists, ConcurrencyConflict, RuleViolation
from platform_core.event_store import AppendResult, EventStore, NewEvent, request_fingerprint

from ..adapters.personal_data import Identities, PersonalDataVault
from ..adapters.read_models import apply_member_event, district_of
from ..adapters.tables import Tables
from ..domain import decisions
from platform_core.reference.city_time import local_date
from ..domain.id_number import normalize_id_number
from ..domain.model import AddMember, DomainEvent, ErasePersonalData, Leave, Member, Reveal, Transfer, Way, evolve

Clock = Callable[[], datetime]
Decision = Callable[[Member | None], list[DomainEvent]]


@dataclass(frozen=True)
class Person:
    """Personal data of a new member: kept sealed, never in an event."""

    name: str
    id_number: str

    def __repr__(self) -> str:  # a traceback or log line must not show it
        return "Person(<personal data>)"


class MembershipCommands:
    def __init__(self, store: EventStore, tables: Tables, vault: PersonalDataVault,
                 clock: Clock = business_now):
        self.store, self.t, self.vault, self.clock = store, tables, vault, clock
        self.identities = Identities(tables, vault)

    # -- new members -----------------------------------------------------------
    def add_member(self, principal: Principal, way: Way, person: Person, standing: str, admitted_on: date,
                   entity_id: str, organization_id: str | None, idempotency_key: str | None = None) -> AppendResult:
        """Found (排查), developed (发展) or recruited (招聘); the same person twice is 409."""
        id_number = normalize_id_number(person.id_number)
        id_hash = self.identities.id_hash(id_number)
        member_id = f"member-{uuid.uuid4()}"
        command = AddMember(way, member_id, standing, admitted_on, entity_id, organization_id)
        fingerprint = request_fingerprint("add", way, id_hash.hex(), self.vault.keyed_hash("name", person.name).hex(),
                                          standing, admitted_on, entity_id, organization_id)

        def write(conn: Connection) -> AppendResult:
            if (earlier := self._earlier(conn, idempotency_key, fingerprint)) is not None:
                return earlier
            self._authorize(conn, principal, [entity_id], target=member_id)
            events = decisions.decide_add(command, local_date(self.clock()))
            result = self._append(conn, member_id, 0, events, principal, idempotency_key, fingerprint)
            # The identity's unique hash is the duplicate check (R13): one statement, not a look-up before
            # it; a person registered already rolls the whole transaction back with the error below.
            if not self.identities.insert(conn, member_id, id_hash, id_number, person.name):
                # registered before, or a concurrent registration committed first
                self._refuse_duplicate(conn, id_hash)
                raise AlreadyExists("this person is already registered", field="id_number", rule="R13")
            return result

        return self._transaction(write, idempotency_key, fingerprint)

    # -- changes to a member ---------------------------------------------------
    def reveal(self, principal: Principal, member_id: str, command: Reveal, **options) -> AppendResult:
        return self._change(principal, member_id, lambda m: decisions.decide_reveal(m, member_id, command),
                            ("reveal", command.organization_id, command.entity_id),
                            also_in=[command.entity_id] if command.entity_id else [], **options)

    def confirm(self, principal: Principal, member_id: str, **options) -> AppendResult:
        today = local_date(self.clock())
        return self._change(principal, member_id, lambda m: decisions.decide_confirm(m, member_id, today),
                            ("confirm",), **options)

    def transfer(self, principal: Principal, member_id: str, command: Transfer, **options) -> AppendResult:
        return self._change(principal, member_id, lambda m: decisions.decide_transfer(m, member_id, command),
                            ("transfer", command.from_organization_id, command.to_organization_id,
                             command.to_entity_id), also_in=[command.to_entity_id], **options)

    def add_functional(self, principal: Principal, member_id: str, organization_id: str, **options) -> AppendResult:
        return self._change(principal, member_id,
                            lambda m: decisions.decide_add_functional(m, member_id, organization_id),
                            ("functional+", organization_id), **options)

    def remove_functional(self, principal: Principal, member_id: str, organization_id: str,
                          **options) -> AppendResult:
        return self._change(principal, member_id,
                            lambda m: decisions.decide_remove_functional(m, member_id, organization_id),
                            ("functional-", organization_id), **options)

    def leave(self, principal: Principal, member_id: str, command: Leave, **options) -> AppendResult:
        return self._change(principal, member_id, lambda m: decisions.decide_leave(m, member_id, command),
                            ("leave", command.reason), **options)

    def erase_personal_data(self, principal: Principal, member_id: str, command: ErasePersonalData,
                            **options) -> AppendResult:
        """Crypto-shredding (PIPL art. 47): MemberPersonalDataErased, and the member's data key deleted with
        the sealed name, number and duplicate hash, in the same transaction."""
        def shred(conn: Connection, result: AppendResult) -> None:
            self.identities.erase(conn, member_id, command.reason, result.events[0].recorded_at)

        return self._change(principal, member_id, lambda m: decisions.decide_erase(m, member_id, command),
                            ("erase", command.reason), then=shred, **options)

    def _change(self, principal: Principal, member_id: str, decide: Decision, command: tuple, *,
                also_in: Sequence[str] = (), idempotency_key: str | None = None,
                expected_version: int | None = None,
                then: Callable[[Connection, AppendResult], None] | None = None) -> AppendResult:
        fingerprint = request_fingerprint(member_id, *command, expected_version)

        def write(conn: Connection) -> AppendResult:
            if (earlier := self._earlier(conn, idempotency_key, fingerprint)) is not None:
                return earlier
            principal.require("member.manage", target=member_id)
            member, version = self._load(conn, member_id)
            if member is not None:
                self._authorize(conn, principal, [member.entity_id, *also_in], target=member_id)
            if expected_version is not None and expected_version != version:
                raise ConcurrencyConflict(f"member {member_id} is at version {version}, the command expected "
                                          f"{expected_version}", field="expected_version")
            events = decide(member)
            result = self._append(conn, member_id, version, events, principal, idempotency_key, fingerprint)
            if then is not None:
                then(conn, result)
            return result

        return self._transaction(write, idempotency_key, fingerprint)

    # -- plumbing ----------------------------------------------------------------
    def _load(self, conn: Connection, member_id: str) -> tuple[Member | None, int]:
        member, version = None, 0
        for envelope in self.store.read_stream(member_id, conn):
            member, version = evolve(member, envelope.type, envelope.payload), envelope.stream_version
        return member, version

    def _append(self, conn: Connection, stream_id: str, version: int, events: list[DomainEvent],
                principal: Principal, idempotency_key: str | None, fingerprint: str) -> AppendResult:
        result = self.store.append_in(conn, stream_id, version, [NewEvent(e.type, e.payload) for e in events],
                                      principal.actor(), idempotency_key, fingerprint)
        for envelope in result.events:
            apply_member_event(conn, self.t, envelope)
        return result

    def _earlier(self, conn: Connection, key: str | None, fingerprint: str) -> AppendResult | None:
        """The first result of a repeated command, before any rule is checked again."""
        # EventStore has no public lookup yet; this is the one it uses inside append_in.
        return self.store.earlier_result(conn, key, fingerprint)

    def _refuse_duplicate(self, conn: Connection, id_hash: bytes) -> None:
        existing = conn.execute(sa.select(self.t.identities.c.member_id)
                                .where(self.t.identities.c.id_hash == id_hash)).scalar()
        if existing is not None:
            raise AlreadyExists(f"this person is already registered as {existing} (same identity number)",
                                field="id_number", rule="R13")

    def _authorize(self, conn: Connection, principal: Principal, entity_ids: Sequence[str], target: str) -> None:
        """member.manage, in the territory of one of the entities concerned (either side of a transfer)."""
        principal.require("member.manage", target=target)
        if principal.territory is None:
            return
        districts = [district_of(conn, self.t, entity_id) for entity_id in entity_ids]
        known = [d for d in districts if d is not None]
        if not known:
            raise RuleViolation(f"entity {entity_ids[0]} is not yet known to membership (registry's "
                                "EntityRegistered not projected yet), so its district cannot be checked against "
                                f"territory {principal.territory}; retry shortly", field="entity_id",
                                rule="territory")
        if not any(principal.covers(d) for d in known):
            principal.require("member.manage", territory=known[0], target=target)

    def _transaction(self, write: Callable[[Connection], AppendResult], idempotency_key: str | None,
                     fingerprint: str) -> AppendResult:
        try:
            with self.store.engine.begin() as conn:
                result = write(conn)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
            if idempotency_key is not None and constraint in ("idempotency_keys_pkey", "events_stream_version_unique"):
                with self.store.engine.connect() as conn:  # a concurrent twin committed first
                    earlier = self._earlier(conn, idempotency_key, fingerprint)
                if earlier is not None:
                    return earlier
            if constraint == "events_stream_version_unique":
                raise ConcurrencyConflict("the member changed concurrently; reload and retry",
                                          field="expected_version") from None
            raise
        self.store.count_committed(result)
        return result
