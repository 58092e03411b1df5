"""Command handlers: load the member, decide, append events and read rows in ONE transaction
(the event store's pipeline, ``EventStore.execute``).

Personal data enters here and goes no further than the vault and the
``member_identities`` table: events, fingerprints and errors carry only the
pseudonymous member id and keyed digests.

Scope (docs/membership.md, "Departments and scope"): a department acts on a member
only when its territory covers EVERY entity the command touches, the member's
current one and any target. A transfer or change of workplace into another
territory is therefore two commands, the source's release and the target's
acceptance (``domain/transfers.py``).
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.auth import Forbidden, Principal
from platform_core.clock import now as business_now
from platform_core.errors import AlreadyExists, ConcurrencyConflict, NotYetProjected
from platform_core.event_store import AppendResult, EventStore, request_fingerprint
from platform_core.events import Command, Decision, NewEvent
from platform_core.reference.city_time import local_date

from ..adapters.personal_data import Identities, PersonalDataVault
from ..adapters.read_models import apply_member_event, district_of, organization_of
from ..adapters.tables import Tables
from ..domain import decisions, transfers
from ..domain.id_number import normalize_id_number
from ..domain.model import (Accept, AddMember, ChangeWorkplace, ErasePersonalData, Leave, Member,
                            Registration, Release, Reveal, Transfer, Way, Withdraw, evolve)
from ..domain.organizations import Lookup

Clock = Callable[[], datetime]
Decide = Callable[[Member | None, date, Lookup], list[NewEvent]]
Sides = Callable[[Member], Sequence[str]]
CONFLICT = "the member changed concurrently; reload and retry"
ACROSS = ("; a transfer or change of workplace into another territory is released by the source "
          "(POST /members/{id}/release) and accepted by the target (POST /members/{id}/accept)")


@dataclass(frozen=True)
class Person:
    """Personal data of a new member: kept sealed, never in an event."""

    name: str
    id_number: str

    def __repr__(self) -> str:  # a traceback or log line must not show it
        return "Person(<personal data>)"


def _current(member: Member) -> Sequence[str]:
    return [member.entity_id]


class MembershipCommands:
    def __init__(self, store: EventStore, tables: Tables, vault: PersonalDataVault,
                 clock: Clock = business_now):
        self.store, self.tables, self.vault, self.clock = store, tables, vault, clock
        self.identities = Identities(tables, vault)

    # -- new members -----------------------------------------------------------
    def add_member(self, principal: Principal, way: Way, person: Person, standing: str, admitted_on: date,
                   entity_id: str, registration: Registration, idempotency_key: str | None = None) -> AppendResult:
        """Found (排查), developed (发展) or recruited (招聘); the same person twice is 409."""
        id_number = normalize_id_number(person.id_number)
        id_hash = self.identities.id_hash(id_number)
        member_id = f"member-{uuid.uuid4()}"
        command = AddMember(way, member_id, standing, admitted_on, entity_id, registration)
        fingerprint = request_fingerprint("add", way, id_hash.hex(), self.vault.keyed_hash("name", person.name).hex(),
                                          standing, admitted_on, entity_id, registration.organization_id,
                                          registration.outside_organization)

        def decide(conn: Connection) -> Decision:
            self._authorize(conn, principal, [entity_id], target=member_id)
            return Decision(decisions.decide_add(command, local_date(self.clock()), self._finder(conn)), member_id, 0)

        def project(conn: Connection, result: AppendResult) -> None:
            self._project(conn, result)
            # The identity's unique hash is the duplicate check (R13): one statement, not a look-up before
            # it; a person registered already rolls the whole transaction back with the error below.
            if not self.identities.insert(conn, member_id, id_hash, id_number, person.name):
                # registered before, or a concurrent registration committed first
                self._refuse_duplicate(conn, principal, id_hash)

        return self._execute(Command(principal.actor(), fingerprint, idempotency_key, CONFLICT), decide, project)

    # -- changes to a member ---------------------------------------------------
    def reveal(self, principal: Principal, member_id: str, command: Reveal, **options) -> AppendResult:
        moved = [command.entity_id] if command.entity_id else []
        return self._change(principal, member_id,
                            lambda m, today, find: decisions.decide_reveal(m, member_id, command, today, find),
                            ("reveal", *_fields(command.registration), command.entity_id),
                            sides=lambda m: [m.entity_id, *moved], **options)

    def confirm(self, principal: Principal, member_id: str, **options) -> AppendResult:
        return self._change(principal, member_id, lambda m, today, _: decisions.decide_confirm(m, member_id, today),
                            ("confirm",), **options)

    def transfer(self, principal: Principal, member_id: str, command: Transfer, **options) -> AppendResult:
        return self._change(principal, member_id,
                            lambda m, today, find: transfers.decide_transfer(m, member_id, command, today, find),
                            ("transfer", command.from_organization_id, *_fields(command.to), command.to_entity_id),
                            sides=lambda m: [m.entity_id, command.to_entity_id], hint=ACROSS, **options)

    def change_workplace(self, principal: Principal, member_id: str, command: ChangeWorkplace,
                         **options) -> AppendResult:
        return self._change(principal, member_id,
                            lambda m, today, _: transfers.decide_change_workplace(m, member_id, command, today),
                            ("workplace", command.entity_id), sides=lambda m: [m.entity_id, command.entity_id],
                            hint=ACROSS, **options)

    def release(self, principal: Principal, member_id: str, to_entity_id: str, to: Registration,
                from_organization_id: str | None, valid_days: int, **options) -> AppendResult:
        """转出: the caller covers the member's entity; the target's district is named in the event."""
        release_id, target = f"release-{uuid.uuid4()}", {}

        def decide(member: Member | None, today: date, find: Lookup) -> list[NewEvent]:
            return transfers.decide_release(member, member_id, Release(
                release_id, to_entity_id, target["district"], to, from_organization_id, valid_days), today, find)

        def before(conn: Connection) -> None:
            target["district"] = district_of(conn, self.tables, to_entity_id)
            if target["district"] is None:
                raise NotYetProjected(f"entity {to_entity_id} is not known to membership (yet): registry's "
                                      "EntityRegistered may not have arrived; retry shortly", field="to_entity_id")

        return self._change(principal, member_id, decide,
                            ("release", to_entity_id, *_fields(to), from_organization_id, valid_days),
                            before=before, **options)

    def accept(self, principal: Principal, member_id: str, command: Accept, **options) -> AppendResult:
        """转入: the caller covers the release's target entity (the source's scope is not needed)."""
        return self._change(principal, member_id,
                            lambda m, today, find: transfers.decide_accept(m, member_id, command, today, find),
                            ("accept", command.release_id),
                            sides=lambda m: [m.release.to_entity_id] if m.release else [], **options)

    def withdraw(self, principal: Principal, member_id: str, command: Withdraw, **options) -> AppendResult:
        return self._change(principal, member_id, lambda m, _, __: transfers.decide_withdraw(m, member_id, command),
                            ("withdraw", command.release_id, command.reason), **options)

    def add_functional(self, principal: Principal, member_id: str, organization_id: str, **options) -> AppendResult:
        return self._change(principal, member_id,
                            lambda m, _, find: decisions.decide_add_functional(m, member_id, organization_id, find),
                            ("functional+", organization_id), **options)

    def remove_functional(self, principal: Principal, member_id: str, organization_id: str,
                          **options) -> AppendResult:
        return self._change(principal, member_id,
                            lambda m, _, __: decisions.decide_remove_functional(m, member_id, organization_id),
                            ("functional-", organization_id), **options)

    def leave(self, principal: Principal, member_id: str, command: Leave, **options) -> AppendResult:
        return self._change(principal, member_id, lambda m, _, __: decisions.decide_leave(m, member_id, command),
                            ("leave", command.reason), **options)

    def erase_personal_data(self, principal: Principal, member_id: str, command: ErasePersonalData,
                            **options) -> AppendResult:
        """Crypto-shredding (PIPL art. 47): MemberPersonalDataErased, and the member's data key deleted with
        the sealed name, number and duplicate hash, in the same transaction."""
        def shred(conn: Connection, result: AppendResult) -> None:
            self.identities.erase(conn, member_id, command.reason, result.events[0].recorded_at)

        return self._change(principal, member_id, lambda m, _, __: decisions.decide_erase(m, member_id, command),
                            ("erase", command.reason), then=shred, **options)

    def _change(self, principal: Principal, member_id: str, decide: Decide, command: tuple, *,
                sides: Sides = _current, hint: str = "", before: Callable[[Connection], None] | None = None,
                then: Callable[[Connection, AppendResult], None] | None = None,
                idempotency_key: str | None = None, expected_version: int | None = None) -> AppendResult:
        fingerprint = request_fingerprint(member_id, *command, expected_version)

        def decision(conn: Connection) -> Decision:
            principal.require("member.manage", target=member_id)
            member, version = self._load(conn, member_id)
            if member is not None:
                self._authorize(conn, principal, sides(member), target=member_id, hint=hint)
            if expected_version is not None and expected_version != version:
                raise ConcurrencyConflict(f"member {member_id} is at version {version}, the command expected "
                                          f"{expected_version}", field="expected_version")
            if before is not None:
                before(conn)
            return Decision(decide(member, local_date(self.clock()), self._finder(conn)), member_id, version)

        def project(conn: Connection, result: AppendResult) -> None:
            self._project(conn, result)
            if then is not None:
                then(conn, result)

        return self._execute(Command(principal.actor(), fingerprint, idempotency_key, CONFLICT), decision, project)

    # -- plumbing ----------------------------------------------------------------
    def _load(self, conn: Connection, member_id: str) -> tuple[Member | None, int]:
        member, version = None, 0
        for envelope in self.store.read_stream(member_id, conn):
            member, version = evolve(member, envelope.type, envelope.payload), envelope.stream_version
        return member, version

    def _finder(self, conn: Connection) -> Lookup:
        return lambda organization_id: organization_of(conn, self.tables, organization_id)

    def _project(self, conn: Connection, result: AppendResult) -> None:
        """The member's read rows, in the command's transaction."""
        for envelope in result.events:
            apply_member_event(conn, self.tables, envelope)

    def _execute(self, command: Command, decide: Callable[[Connection], Decision],
                 project: Callable[[Connection, AppendResult], None]) -> AppendResult:
        """The event store's pipeline: the key looked up once, decide, append, project, 409s, metrics."""
        return self.store.execute(command, decide, project).result

    def _refuse_duplicate(self, conn: Connection, principal: Principal, id_hash: bytes) -> None:
        """409, naming the member registered already only to a caller whose territory covers them: for
        anyone else the answer must not turn guessed identity numbers into member ids (no oracle)."""
        i, m = self.tables.identities, self.tables.members
        existing = conn.execute(sa.select(m.c.member_id, m.c.entity_id).join(i, i.c.member_id == m.c.member_id)
                                .where(i.c.id_hash == id_hash)).first()
        if existing is not None and principal.covers(district_of(conn, self.tables, existing.entity_id)):
            raise AlreadyExists(f"this person is already registered as {existing.member_id} (same identity number)",
                                field="id_number", rule="R13")
        raise AlreadyExists("this person is already registered (same identity number)", field="id_number",
                            rule="R13")

    def _authorize(self, conn: Connection, principal: Principal, entity_ids: Sequence[str], target: str,
                   hint: str = "") -> None:
        """member.manage, in a territory that covers every entity the command touches."""
        principal.require("member.manage", target=target)
        if principal.territory is None:
            return
        for entity_id in dict.fromkeys(entity_ids):
            district = district_of(conn, self.tables, entity_id)
            if district is None:
                raise NotYetProjected(f"entity {entity_id} is not yet known to membership (registry's "
                                      "EntityRegistered not projected yet), so its district cannot be checked against "
                                      f"territory {principal.territory}; retry shortly", field="entity_id",
                                      rule="territory")
            if not principal.covers(district):
                raise Forbidden(f"{principal.department} may member.manage only in territory {principal.territory}, "
                                f"not in {district}{hint}", principal=principal, permission="member.manage",
                                target=target)


def _fields(registration: Registration) -> tuple[str | None, str | None]:
    return registration.organization_id, registration.outside_organization
