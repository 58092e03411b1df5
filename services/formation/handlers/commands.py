"""Command handlers: load, decide, append events and read rows in ONE transaction.

Organizations are loaded from the ``organizations``/``coverage`` rows, which are
written in the same transaction as their events; the append's expected version
(the organization's stream version) makes a concurrent change a 409.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from platform_core.auth import Forbidden, Principal
from platform_core.clock import now as business_now
from platform_core.errors import ConcurrencyConflict, NotFound, ProjectionBehind, RuleViolation
from platform_core.event_store import AppendResult, EventStore, NewEvent, request_fingerprint
from platform_core.projection_lag import STALL_SECONDS, ProjectionLag
from platform_core.reference import CampaignCalendar, load_calendar, load_departments, load_territory
from platform_core.reference.city_time import local_date

from ..adapters import queries
from ..adapters.read_models import apply_own_event, set_task_state
from ..adapters.tables import Tables
from ..domain import checks, rules, spotcheck, work_coverage
from ..domain.model import (DomainEvent, EntityFacts, FormOrganization, Organization, ProjectedFactRefusal,
                            RecordCheck, evolve_organization, workcoverage_stream)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Outcome:
    """What a command wrote (or, replayed, had written): its events and the main id."""

    id: str
    result: AppendResult


class FormationCommands:
    def __init__(self, store: EventStore, tables: Tables, clock: Clock = business_now,
                 calendar: CampaignCalendar | None = None, upstream: ProjectionLag | None = None,
                 lag_wait_seconds: float = 1.0, lag_stall_seconds: float = STALL_SECONDS):
        """``upstream``: formation's projection of registry.events and membership.events, asked only when a
        command is refused on facts learnt from them (None: such refusals are taken as final); it is waited for
        up to ``lag_wait_seconds``, and not longer than ``lag_stall_seconds`` without progress."""
        self.store, self.t, self.clock = store, tables, clock
        self.calendar = calendar or load_calendar()
        self.upstream, self.lag_wait_seconds, self.lag_stall_seconds = upstream, lag_wait_seconds, lag_stall_seconds
        territory, departments = load_territory(), load_departments()
        self.territory_names = {d.code: d.name for d in territory.districts} | {
            s.code: s.name for s in territory.streets()}
        self.supervisor_names = departments.supervising_departments

    def today(self) -> date:
        return local_date(self.clock())

    # -- organizations ----------------------------------------------------------------------------------
    def form(self, principal: Principal, command: FormOrganization, key: str | None = None) -> Outcome:
        fingerprint = request_fingerprint("form", command.mode, command.name, list(command.entity_ids),
                                          command.formed_on, command.level, command.grouping_basis,
                                          command.grouping_detail)

        def write(conn: Connection) -> list[DomainEvent]:
            facts = self._facts_in_territory(conn, principal, "organization.form", command.entity_ids,
                                             command.organization_id)
            self._lock_entities(conn, command.entity_ids)
            coverage = queries.load_coverage(conn, self.t, command.entity_ids)
            affiliation = self._affiliation([facts[e] for e in command.entity_ids if e in facts])
            return rules.decide_form(command, facts, coverage, affiliation, self.today())

        return self._run(principal, write, key, fingerprint, command.organization_id)

    def restructure(self, principal: Principal, organization_id: str, entity_id: str, name: str, reason: str,
                    restructured_on: date | None, key: str | None = None) -> Outcome:
        new_id = f"organization-{uuid.uuid4()}"
        on = restructured_on or self.today()
        fingerprint = request_fingerprint("restructure", organization_id, entity_id, name, reason, on)

        def write(conn: Connection) -> list[DomainEvent]:
            joint = self._organization(conn, organization_id)
            facts = self._facts_in_territory(conn, principal, "organization.form", joint.entity_ids, organization_id)
            self._lock_entities(conn, [entity_id])
            coverage = queries.load_coverage(conn, self.t, [entity_id])
            new = FormOrganization(new_id, "standalone", name, (entity_id,), on)
            affiliation = self._affiliation([facts[entity_id]]) if entity_id in facts else {}
            events = rules.decide_restructure(joint, entity_id, new, facts, coverage, affiliation, self.today(),
                                              reason)
            new_org = evolve_organization(None, "OrganizationFormed", events[1].payload, 1)
            task = queries.load_tasks(conn, self.t, [entity_id], lock=True).get(entity_id)
            return events + rules.reopen_for_restructure(new_org, entity_id, task, on, reason)

        return self._run(principal, write, key, fingerprint, new_id)

    def dissolve(self, principal: Principal, organization_id: str, dissolved_on: date | None, reason: str,
                 key: str | None = None) -> Outcome:
        on = dissolved_on or self.today()
        fingerprint = request_fingerprint("dissolve", organization_id, on, reason)

        def write(conn: Connection) -> list[DomainEvent]:
            org = self._organization(conn, organization_id)
            self._facts_in_territory(conn, principal, "organization.form", org.entity_ids, organization_id)
            tasks = queries.load_tasks(conn, self.t, org.entity_ids, lock=True)
            return rules.decide_dissolve(org, on, reason, tasks, self.today())

        return self._run(principal, write, key, fingerprint, organization_id)

    def change_affiliation(self, principal: Principal, organization_id: str, affiliation: dict, reason: str,
                           key: str | None = None) -> Outcome:
        fingerprint = request_fingerprint("affiliation", organization_id, affiliation, reason)

        def write(conn: Connection) -> list[DomainEvent]:
            org = self._organization(conn, organization_id)
            facts = self._facts_in_territory(conn, principal, "organization.form", org.entity_ids, organization_id)
            derived = self._affiliation([facts[e] for e in org.entity_ids if e in facts]) if facts else {}
            new = dict(affiliation)
            if not new.get("name"):
                new["name"] = (self.territory_names.get(new["unit"]) or self.supervisor_names.get(new["unit"])
                               or new["unit"])
            return rules.decide_affiliation(org, new, derived, reason, self.today())

        return self._run(principal, write, key, fingerprint, organization_id)

    # -- checks (R9, R12) --------------------------------------------------------------------------------
    def record_check(self, principal: Principal, organization_id: str, passed: bool, findings: Sequence[str],
                     checked_on: date, check_kind: str = "acceptance", spot_check_id: str | None = None,
                     key: str | None = None) -> Outcome:
        check_id = f"check-{uuid.uuid4()}"
        fingerprint = request_fingerprint("check", organization_id, passed, list(findings), checked_on, check_kind,
                                          spot_check_id)
        permission = checks.PERMISSION[check_kind]
        checked_only: list[str] = []  # passed, not in the baseline yet: state without an event of its own

        def write(conn: Connection) -> list[DomainEvent]:
            org = self._organization(conn, organization_id)
            facts = self._facts_in_territory(conn, principal, permission, org.entity_ids, organization_id)
            checked = facts.values()
            if spot_check_id is not None:
                drawn = {s["entity_id"] for s in queries.samples(conn, self.t, spot_check_id)}
                if not drawn:
                    raise NotFound(f"spot check {spot_check_id} not found", field="spot_check_id")
                if not drawn & set(org.entity_ids):
                    raise RuleViolation(f"R12: no entity of {organization_id} was drawn in {spot_check_id}",
                                        field="organization_id", rule="R12")
                checked = [f for e, f in facts.items() if e in drawn]  # the drawn enterprise is what is checked
            self._require_check_authority(principal, permission, checked, check_kind, organization_id)
            tasks = queries.load_tasks(conn, self.t, org.entity_ids, lock=True)
            command = RecordCheck(check_id, organization_id, passed, tuple(findings), checked_on,
                                  principal.department, check_kind, spot_check_id)
            events, states = rules.decide_check(org, command, facts, tasks, self.today(),
                                                checks.check_window(self.calendar, check_kind))
            checked_only[:] = [e for e, s in states.items() if s == "checked"]
            return events

        def after(conn: Connection) -> None:
            for entity_id in checked_only:
                set_task_state(conn, self.t, entity_id, "checked", organization_id, check_id)

        return self._run(principal, write, key, fingerprint, check_id, after=after)

    def close_task(self, principal: Principal, entity_id: str, key: str | None = None) -> Outcome:
        """Close a ``checked`` task once its entity is in the baseline (R9)."""
        fingerprint = request_fingerprint("close", entity_id)

        def write(conn: Connection) -> list[DomainEvent]:
            facts = self._facts_in_territory(conn, principal, "check.acceptance", [entity_id], entity_id)
            self._require_check_authority(principal, "check.acceptance", facts.values(), "acceptance", entity_id)
            task = queries.load_tasks(conn, self.t, [entity_id], lock=True).get(entity_id)
            if task is None or task.state != "checked":
                raise RuleViolation(f"R9: the task of {entity_id} is {task.state if task else 'open'}; only a "
                                    "task whose organization passed its check can be closed", field="entity_id",
                                    rule="R9")
            if not facts[entity_id].in_baseline:
                raise RuleViolation(f"R1: entity {entity_id} is not in the baseline (ledger not approved or "
                                    "flagged)", field="entity_id", rule="R1")
            org = self._organization(conn, task.organization_id)
            if not org.active or entity_id not in org.entity_ids:
                raise RuleViolation(f"R9: {entity_id} is no longer covered by {org.organization_id}",
                                    field="entity_id", rule="R9")
            return [rules.close_event(org, entity_id, task.check_id, self.today())]

        return self._run(principal, write, key, fingerprint, entity_id)

    # -- R6 work coverage --------------------------------------------------------------------------------
    def assign_instructor(self, principal: Principal, name: str, role: str, entity_ids: Sequence[str],
                          assigned_on: date, organization_ids: Sequence[str] = (), key: str | None = None) -> Outcome:
        """An instructor / first secretary for entities without an organization and/or new organizations."""
        assignment_id, instructor_id = f"assignment-{uuid.uuid4()}", f"instructor-{uuid.uuid4()}"
        fingerprint = request_fingerprint("instructor", name, role, list(entity_ids), assigned_on,
                                          list(organization_ids))

        def write(conn: Connection) -> list[DomainEvent]:
            organizations = [self._organization(conn, o) for o in sorted(organization_ids)]  # locked in one order
            covered = list(dict.fromkeys([*entity_ids, *(e for o in organizations for e in o.entity_ids)]))
            self._facts_in_territory(conn, principal, "workcoverage.instructor", covered, assignment_id)
            event = work_coverage.decide_assignment(assignment_id, instructor_id, role, entity_ids, organizations,
                                                    assigned_on, self.today(), principal.kind)
            conn.execute(self.t.instructors.insert(), {"instructor_id": instructor_id, "name": name})
            return [event]

        return self._run(principal, write, key, fingerprint, assignment_id)

    def end_assignment(self, principal: Principal, assignment_id: str, ended_on: date | None, reason: str,
                       key: str | None = None) -> Outcome:
        """调离、任期届满: the assignment ends; its entities are no longer work-covered by it (R6)."""
        on = ended_on or self.today()
        fingerprint = request_fingerprint("end-assignment", assignment_id, on, reason)

        def write(conn: Connection) -> list[DomainEvent]:
            found = queries.assignment(conn, self.t, assignment_id, lock=True)
            if found is None:
                raise NotFound(f"assignment {assignment_id} not found", field="assignment_id")
            self._facts_in_territory(conn, principal, "workcoverage.instructor", found.entity_ids, assignment_id)
            return [work_coverage.decide_end_assignment(found, on, reason, self.today())]

        return self._run(principal, write, key, fingerprint, assignment_id)

    def record_investor_education(self, principal: Principal, entity_ids: Sequence[str], held_on: date, topic: str,
                                  key: str | None = None) -> Outcome:
        """出资人教育引导, recorded by 统战 or 工商联 (R6)."""
        education_id = f"education-{uuid.uuid4()}"
        fingerprint = request_fingerprint("investor-education", list(entity_ids), held_on, topic)

        def write(conn: Connection) -> list[DomainEvent]:
            facts = self._facts_in_territory(conn, principal, "workcoverage.investor_education", entity_ids,
                                             education_id)
            return [work_coverage.decide_investor_education(education_id, entity_ids, facts, held_on, topic,
                                                            self.today(), principal.kind)]

        return self._run(principal, write, key, fingerprint, education_id)

    def record_joint_development(self, principal: Principal, entity_ids: Sequence[str], started_on: date,
                                 organization_id: str | None, organization_name: str | None,
                                 key: str | None = None) -> Outcome:
        """联合发展党员: a Party organization develops members for entities without one (R6)."""
        arrangement_id = f"jointdev-{uuid.uuid4()}"
        fingerprint = request_fingerprint("joint-development", list(entity_ids), started_on, organization_id,
                                          organization_name)

        def write(conn: Connection) -> list[DomainEvent]:
            self._facts_in_territory(conn, principal, "workcoverage.joint_development", entity_ids, arrangement_id)
            organization = self._organization(conn, organization_id) if organization_id else None
            return [work_coverage.decide_joint_development(arrangement_id, entity_ids, started_on, organization,
                                                           organization_name, self.today(), principal.kind)]

        return self._run(principal, write, key, fingerprint, arrangement_id)

    def record_mass_organization(self, principal: Principal, entity_id: str, kind: str, name: str,
                                 formed_on: date, key: str | None = None) -> Outcome:
        mass_id = f"massorg-{uuid.uuid4()}"
        fingerprint = request_fingerprint("massorg", entity_id, kind, name, formed_on)

        def write(conn: Connection) -> list[DomainEvent]:
            self._facts_in_territory(conn, principal, "workcoverage.mass_org", [entity_id], mass_id)
            if formed_on > self.today():
                raise RuleViolation(f"formed_on {formed_on} lies in the future", field="formed_on", rule="R6")
            existing = conn.execute(sa.select(self.t.work.c.source_id).where(
                self.t.work.c.entity_id == entity_id, self.t.work.c.kind == kind)).first()
            if existing is not None:
                raise RuleViolation(f"R6: entity {entity_id} already has a {kind} ({existing.source_id})",
                                    field="kind", rule="R6")
            return [DomainEvent(workcoverage_stream(entity_id), "MassOrganizationFormed", {
                "mass_organization_id": mass_id, "kind": kind, "entity_ids": [entity_id], "name": name,
                "formed_on": formed_on.isoformat()})]

        return self._run(principal, write, key, fingerprint, mass_id)

    # -- R12 spot checks ----------------------------------------------------------------------------------
    def draw_spot_check(self, principal: Principal, per_district: int, districts: Sequence[str] | None,
                        fixed_seed: str | None, key: str | None = None) -> Outcome:
        spot_check_id = f"spotcheck-{uuid.uuid4()}"
        fingerprint = request_fingerprint("spotcheck", per_district, sorted(districts or []), fixed_seed)

        def write(conn: Connection) -> list[DomainEvent]:
            principal.require("spotcheck.draw", target=spot_check_id)
            checks.require_in_window(checks.check_window(self.calendar, "spot_check"), self.today())
            checkpoint = queries.latest_checkpoint(conn, self.t)
            if checkpoint is not None:
                if fixed_seed is not None:
                    raise RuleViolation(
                        f"R12: the seed is the latest signed audit checkpoint's root (checkpoint "
                        f"{checkpoint['checkpoint_id']}, size {checkpoint['tree_size']}); a chosen seed is refused "
                        "so the sample cannot be cherry-picked", field="seed", rule="R12")
                seed, source = checkpoint["root_hash"], "checkpoint_root"
            else:
                if not fixed_seed:
                    raise RuleViolation("R12: no signed audit checkpoint is known yet; give the seed value fixed "
                                        "in advance (it is recorded in SpotCheckDrawn)", field="seed", rule="R12")
                seed, source = fixed_seed, "fixed_value"
            populations = queries.closed_tasks_by_district(conn, self.t, districts, checks.SPOT_CHECKED_KINDS)
            for district in districts or []:
                populations.setdefault(district, [])
            if not populations:
                raise RuleViolation("R12: no closed tasks to draw from", field="districts", rule="R12")
            payloads = spotcheck.draw_events(spot_check_id, seed, source, checkpoint, per_district,
                                             self.today().isoformat(), populations)
            return [DomainEvent(spot_check_id, "SpotCheckDrawn", p) for p in payloads]

        return self._run(principal, write, key, fingerprint, spot_check_id)

    # -- plumbing ----------------------------------------------------------------------------------------
    def _require_check_authority(self, principal: Principal, permission: str, facts, check_kind: str,
                                 target: str) -> None:
        """R12 归口分级: every entity checked must be one the caller's department checks."""
        for entity in facts:
            reason = checks.refusal(principal.kind, entity, check_kind)
            if reason is not None:
                raise Forbidden(f"{principal.department} 无权{checks.CHECK_KIND_ZH[check_kind]}：{reason}",
                                principal=principal, permission=permission, target=target)

    def _affiliation(self, facts: list[EntityFacts]) -> dict:
        return rules.derive_affiliation(facts, self.territory_names, self.supervisor_names) if facts else {}

    def _organization(self, conn: Connection, organization_id: str) -> Organization:
        conn.execute(sa.select(self.t.organizations.c.organization_id).where(
            self.t.organizations.c.organization_id == organization_id).with_for_update())
        row = queries.organization_row(conn, self.t, organization_id)
        if row is None:
            raise NotFound(f"organization {organization_id} not found", field="organization_id")
        return queries.organization_state(row)

    def _facts_in_territory(self, conn: Connection, principal: Principal, permission: str,
                            entity_ids: Sequence[str], target: str) -> dict[str, EntityFacts]:
        principal.require(permission, target=target)
        facts = queries.load_facts(conn, self.t, entity_ids)
        for entity_id in entity_ids:
            found = facts.get(entity_id)
            if found is None:
                raise rules.unknown_entity(entity_id)
            principal.require(permission, territory=found.street_code or found.district_code, target=target)
        return facts

    def _lock_entities(self, conn: Connection, entity_ids: Sequence[str]) -> None:
        """Serialize formations over the same entities (an entity in two new organizations at once)."""
        for entity_id in sorted(entity_ids):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"formation:{entity_id}"})

    def _run(self, principal: Principal, decide: Callable[[Connection], list[DomainEvent]], key: str | None,
             fingerprint: str, main_id: str, after: Callable[[Connection], None] | None = None) -> Outcome:
        """Decide and append; a refusal on projected facts is final only when a decision made after the
        projection had seen what the upstream topics held at the refusal refuses too. So the command is decided
        once more once the projection has caught up with those end offsets (waited for up to
        ``lag_wait_seconds`` while it progresses; it may have applied them between the decision and the look);
        if it does not catch up, the answer is 409 ``projection_behind`` with Retry-After."""
        try:
            return self._attempt(principal, decide, key, fingerprint, main_id, after)
        except ProjectedFactRefusal as refusal:
            if self.upstream is None:
                raise
            ends = self.upstream.end_offsets()
            missing = self.upstream.wait_until_seen(ends, self.lag_wait_seconds, self.lag_stall_seconds)
            if missing:
                raise ProjectionBehind(
                    f"formation has not yet applied {sum(missing.values())} event(s) of {', '.join(sorted(missing))} "
                    f"that it may need for this command, so it cannot tell whether “{refusal.message}” still holds; "
                    "nothing was written, retry", field=refusal.field, behind=missing) from None
        return self._attempt(principal, decide, key, fingerprint, main_id, after)  # a refusal now is final

    def _attempt(self, principal: Principal, decide: Callable[[Connection], list[DomainEvent]], key: str | None,
                 fingerprint: str, main_id: str, after: Callable[[Connection], None] | None) -> Outcome:
        try:
            with self.store.engine.begin() as conn:
                if key is not None and (earlier := self.store.earlier_result(conn, key, fingerprint)) is not None:
                    return Outcome(_main_id(earlier, main_id), self._in_log_order(conn, earlier))
                events = decide(conn)
                result = self._append(conn, events, principal, key, fingerprint)
                if after is not None:
                    after(conn)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
            if key is not None and constraint in ("idempotency_keys_pkey", "events_stream_version_unique"):
                with self.store.engine.connect() as conn:
                    earlier = self.store.earlier_result(conn, key, fingerprint)
                    if earlier is not None:
                        earlier = self._in_log_order(conn, earlier)
                if earlier is not None:
                    return Outcome(_main_id(earlier, main_id), earlier)
            if constraint == "events_stream_version_unique":
                raise ConcurrencyConflict("the organization or task changed concurrently; reload and retry",
                                          field="expected_version") from None
            raise
        self.store.count_committed(result)
        return Outcome(main_id, result)

    def _in_log_order(self, conn: Connection, result: AppendResult) -> AppendResult:
        """A replayed command's events in the order they were written (they may span several streams)."""
        events = self.store.tables.events
        positions = dict(conn.execute(sa.select(events.c.event_id, events.c.global_position).where(
            events.c.event_id.in_([e.event_id for e in result.events]))).all())
        return AppendResult(sorted(result.events, key=lambda e: positions[e.event_id]), replayed=True)

    def _append(self, conn: Connection, events: list[DomainEvent], principal: Principal, key: str | None,
                fingerprint: str) -> AppendResult:
        """Append per stream, in order. The idempotency key is claimed first with every event's id, so a
        replay returns all of the command's events and the key row is written once."""
        ids = [uuid.uuid4() for _ in events]
        streams: list[tuple[str, list[NewEvent]]] = []
        for event, event_id in zip(events, ids):
            new = NewEvent(event.type, event.payload, event_id=event_id)
            if streams and streams[-1][0] == event.stream_id:
                streams[-1][1].append(new)
            else:
                streams.append((event.stream_id, [new]))
        if key is not None:
            self.store.claim_idempotency_key(conn, key, fingerprint, streams[0][0], ids)
        written = []
        for stream_id, batch in streams:
            version = self.store.stream_version(conn, stream_id)
            result = self.store.append_in(conn, stream_id, version, batch, principal.actor())
            for envelope in result.events:
                apply_own_event(conn, self.t, envelope)
            written.extend(result.events)
        return AppendResult(written)


def _main_id(result: AppendResult, fallback: str) -> str:
    """The id a replayed command answers with: taken from its first event's payload."""
    payload = result.events[0].payload if result.events else {}
    for field in ("new_organization_id", "entity_id", "check_id", "assignment_id", "mass_organization_id",
                  "spot_check_id", "education_id", "arrangement_id", "organization_id"):
        if payload.get(field):
            return payload[field]
    return fallback
