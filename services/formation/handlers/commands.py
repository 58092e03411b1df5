"""Command handlers: load, decide, append events and read rows in ONE transaction (``EventStore.execute``).

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

from platform_core.auth import Forbidden, Principal
from platform_core.clock import now as business_now
from platform_core.errors import NotFound, ProjectionBehind, RuleViolation
from platform_core.event_store import AppendResult, EventStore, request_fingerprint
from platform_core.events import Command, Decision, NewEvent
from platform_core.projection_lag import STALL_SECONDS, ProjectionLag
from platform_core.reference import CampaignCalendar, load_calendar, load_departments, load_territory
from platform_core.reference.city_time import local_date

from ..adapters import queries
from ..adapters.read_models import apply_formation_event, set_task_state
from ..adapters.tables import Tables
from ..domain import checks, rules, spotcheck, work_coverage
from ..domain.model import (EntityFacts, FormOrganization, Organization, ProjectedFactRefusal,
                            RecordCheck, evolve_organization, workcoverage_stream)

Clock = Callable[[], datetime]
CONFLICT = "the organization or task changed concurrently; reload and retry"


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
        self.store, self.tables, self.clock = store, tables, clock
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

        def decide(conn: Connection) -> list[NewEvent]:
            facts = self._facts_in_territory(conn, principal, "organization.form", command.entity_ids,
                                             command.organization_id)
            self._lock_entities(conn, command.entity_ids)
            coverage = queries.load_coverage(conn, self.tables, command.entity_ids)
            affiliation = self._affiliation([facts[e] for e in command.entity_ids if e in facts])
            return rules.decide_form(command, facts, coverage, affiliation, self.today())

        return self._run(principal, decide, key, fingerprint, command.organization_id)

    def restructure(self, principal: Principal, organization_id: str, entity_id: str, name: str, reason: str,
                    restructured_on: date | None, key: str | None = None) -> Outcome:
        new_id = f"organization-{uuid.uuid4()}"
        on = restructured_on or self.today()
        fingerprint = request_fingerprint("restructure", organization_id, entity_id, name, reason, on)

        def decide(conn: Connection) -> list[NewEvent]:
            joint = self._organization(conn, organization_id)
            facts = self._facts_in_territory(conn, principal, "organization.form", joint.entity_ids, organization_id)
            self._lock_entities(conn, [entity_id])
            coverage = queries.load_coverage(conn, self.tables, [entity_id])
            new = FormOrganization(new_id, "standalone", name, (entity_id,), on)
            affiliation = self._affiliation([facts[entity_id]]) if entity_id in facts else {}
            events = rules.decide_restructure(joint, entity_id, new, facts, coverage, affiliation, self.today(),
                                              reason)
            new_org = evolve_organization(None, "OrganizationFormed", events[1].payload, 1)
            task = queries.load_tasks(conn, self.tables, [entity_id], lock=True).get(entity_id)
            return events + rules.reopen_for_restructure(new_org, entity_id, task, on, reason)

        return self._run(principal, decide, key, fingerprint, new_id)

    def dissolve(self, principal: Principal, organization_id: str, dissolved_on: date | None, reason: str,
                 key: str | None = None) -> Outcome:
        on = dissolved_on or self.today()
        fingerprint = request_fingerprint("dissolve", organization_id, on, reason)

        def decide(conn: Connection) -> list[NewEvent]:
            org = self._organization(conn, organization_id)
            self._facts_in_territory(conn, principal, "organization.form", org.entity_ids, organization_id)
            tasks = queries.load_tasks(conn, self.tables, org.entity_ids, lock=True)
            return rules.decide_dissolve(org, on, reason, tasks, self.today())

        return self._run(principal, decide, key, fingerprint, organization_id)

    def change_affiliation(self, principal: Principal, organization_id: str, affiliation: dict, reason: str,
                           key: str | None = None) -> Outcome:
        fingerprint = request_fingerprint("affiliation", organization_id, affiliation, reason)

        def decide(conn: Connection) -> list[NewEvent]:
            org = self._organization(conn, organization_id)
            facts = self._facts_in_territory(conn, principal, "organization.form", org.entity_ids, organization_id)
            derived = self._affiliation([facts[e] for e in org.entity_ids if e in facts]) if facts else {}
            new = dict(affiliation)
            if not new.get("name"):
                new["name"] = (self.territory_names.get(new["unit"]) or self.supervisor_names.get(new["unit"])
                               or new["unit"])
            return rules.decide_affiliation(org, new, derived, reason, self.today())

        return self._run(principal, decide, key, fingerprint, organization_id)

    # -- checks (R9, R12) --------------------------------------------------------------------------------
    def record_check(self, principal: Principal, organization_id: str, passed: bool, findings: Sequence[str],
                     checked_on: date, check_kind: str = "acceptance", spot_check_id: str | None = None,
                     key: str | None = None) -> Outcome:
        check_id = f"check-{uuid.uuid4()}"
        fingerprint = request_fingerprint("check", organization_id, passed, list(findings), checked_on, check_kind,
                                          spot_check_id)
        permission = checks.PERMISSION[check_kind]
        checked_only: list[str] = []  # passed, not in the baseline yet: state without an event of its own

        def decide(conn: Connection) -> list[NewEvent]:
            org = self._organization(conn, organization_id)
            facts = self._facts_in_territory(conn, principal, permission, org.entity_ids, organization_id)
            checked = facts.values()
            if spot_check_id is not None:
                drawn = {s["entity_id"] for s in queries.samples(conn, self.tables, spot_check_id)}
                if not drawn:
                    raise NotFound(f"spot check {spot_check_id} not found", field="spot_check_id")
                if not drawn & set(org.entity_ids):
                    raise RuleViolation(f"R12: no entity of {organization_id} was drawn in {spot_check_id}",
                                        field="organization_id", rule="R12")
                checked = [f for e, f in facts.items() if e in drawn]  # the drawn enterprise is what is checked
            self._require_check_authority(principal, permission, checked, check_kind, organization_id)
            tasks = queries.load_tasks(conn, self.tables, org.entity_ids, lock=True)
            command = RecordCheck(check_id, organization_id, passed, tuple(findings), checked_on,
                                  principal.department, check_kind, spot_check_id)
            events, states = rules.decide_check(org, command, facts, tasks, self.today(),
                                                checks.check_window(self.calendar, check_kind))
            checked_only[:] = [e for e, s in states.items() if s == "checked"]
            return events

        def after(conn: Connection) -> None:
            for entity_id in checked_only:
                set_task_state(conn, self.tables, entity_id, "checked", organization_id, check_id)

        return self._run(principal, decide, key, fingerprint, check_id, after=after)

    def close_task(self, principal: Principal, entity_id: str, key: str | None = None) -> Outcome:
        """Close a ``checked`` task once its entity is in the baseline (R9)."""
        fingerprint = request_fingerprint("close", entity_id)

        def decide(conn: Connection) -> list[NewEvent]:
            facts = self._facts_in_territory(conn, principal, "check.acceptance", [entity_id], entity_id)
            self._require_check_authority(principal, "check.acceptance", facts.values(), "acceptance", entity_id)
            task = queries.load_tasks(conn, self.tables, [entity_id], lock=True).get(entity_id)
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

        return self._run(principal, decide, key, fingerprint, entity_id)

    # -- R6 work coverage --------------------------------------------------------------------------------
    def assign_instructor(self, principal: Principal, name: str, role: str, entity_ids: Sequence[str],
                          assigned_on: date, organization_ids: Sequence[str] = (), key: str | None = None) -> Outcome:
        """An instructor / first secretary for entities without an organization and/or new organizations."""
        assignment_id, instructor_id = f"assignment-{uuid.uuid4()}", f"instructor-{uuid.uuid4()}"
        fingerprint = request_fingerprint("instructor", name, role, list(entity_ids), assigned_on,
                                          list(organization_ids))

        def decide(conn: Connection) -> list[NewEvent]:
            organizations = [self._organization(conn, o) for o in sorted(organization_ids)]  # locked in one order
            covered = list(dict.fromkeys([*entity_ids, *(e for o in organizations for e in o.entity_ids)]))
            self._facts_in_territory(conn, principal, "workcoverage.instructor", covered, assignment_id)
            event = work_coverage.decide_assignment(assignment_id, instructor_id, role, entity_ids, organizations,
                                                    assigned_on, self.today(), principal.kind)
            conn.execute(self.tables.instructors.insert(), {"instructor_id": instructor_id, "name": name})
            return [event]

        return self._run(principal, decide, key, fingerprint, assignment_id)

    def end_assignment(self, principal: Principal, assignment_id: str, ended_on: date | None, reason: str,
                       key: str | None = None) -> Outcome:
        """调离、任期届满: the assignment ends; its entities are no longer work-covered by it (R6)."""
        on = ended_on or self.today()
        fingerprint = request_fingerprint("end-assignment", assignment_id, on, reason)

        def decide(conn: Connection) -> list[NewEvent]:
            found = queries.assignment(conn, self.tables, assignment_id, lock=True)
            if found is None:
                raise NotFound(f"assignment {assignment_id} not found", field="assignment_id")
            self._facts_in_territory(conn, principal, "workcoverage.instructor", found.entity_ids, assignment_id)
            return [work_coverage.decide_end_assignment(found, on, reason, self.today())]

        return self._run(principal, decide, key, fingerprint, assignment_id)

    def record_investor_education(self, principal: Principal, entity_ids: Sequence[str], held_on: date, topic: str,
                                  key: str | None = None) -> Outcome:
        """出资人教育引导, recorded by 统战 or 工商联 (R6)."""
        education_id = f"education-{uuid.uuid4()}"
        fingerprint = request_fingerprint("investor-education", list(entity_ids), held_on, topic)

        def decide(conn: Connection) -> list[NewEvent]:
            facts = self._facts_in_territory(conn, principal, "workcoverage.investor_education", entity_ids,
                                             education_id)
            return [work_coverage.decide_investor_education(education_id, entity_ids, facts, held_on, topic,
                                                            self.today(), principal.kind)]

        return self._run(principal, decide, key, fingerprint, education_id)

    def record_joint_development(self, principal: Principal, entity_ids: Sequence[str], started_on: date,
                                 organization_id: str | None, organization_name: str | None,
                                 key: str | None = None) -> Outcome:
        """联合发展党员: a Party organization develops members for entities without one (R6)."""
        arrangement_id = f"jointdev-{uuid.uuid4()}"
        fingerprint = request_fingerprint("joint-development", list(entity_ids), started_on, organization_id,
                                          organization_name)

        def decide(conn: Connection) -> list[NewEvent]:
            self._facts_in_territory(conn, principal, "workcoverage.joint_development", entity_ids, arrangement_id)
            organization = self._organization(conn, organization_id) if organization_id else None
            return [work_coverage.decide_joint_development(arrangement_id, entity_ids, started_on, organization,
                                                           organization_name, self.today(), principal.kind)]

        return self._run(principal, decide, key, fingerprint, arrangement_id)

    def record_mass_organization(self, principal: Principal, entity_id: str, kind: str, name: str,
                                 formed_on: date, key: str | None = None) -> Outcome:
        mass_id = f"massorg-{uuid.uuid4()}"
        fingerprint = request_fingerprint("massorg", entity_id, kind, name, formed_on)

        def decide(conn: Connection) -> list[NewEvent]:
            self._facts_in_territory(conn, principal, "workcoverage.mass_org", [entity_id], mass_id)
            if formed_on > self.today():
                raise RuleViolation(f"formed_on {formed_on} lies in the future", field="formed_on", rule="R6")
            existing = conn.execute(sa.select(self.tables.work.c.source_id).where(
                self.tables.work.c.entity_id == entity_id, self.tables.work.c.kind == kind)).first()
            if existing is not None:
                raise RuleViolation(f"R6: entity {entity_id} already has a {kind} ({existing.source_id})",
                                    field="kind", rule="R6")
            return [NewEvent("MassOrganizationFormed", {
                "mass_organization_id": mass_id, "kind": kind, "entity_ids": [entity_id], "name": name,
                "formed_on": formed_on.isoformat()}, stream_id=workcoverage_stream(entity_id))]

        return self._run(principal, decide, key, fingerprint, mass_id)

    # -- R12 spot checks ----------------------------------------------------------------------------------
    def draw_spot_check(self, principal: Principal, per_district: int, districts: Sequence[str] | None,
                        fixed_seed: str | None, key: str | None = None) -> Outcome:
        spot_check_id = f"spotcheck-{uuid.uuid4()}"
        fingerprint = request_fingerprint("spotcheck", per_district, sorted(districts or []), fixed_seed)

        def decide(conn: Connection) -> list[NewEvent]:
            principal.require("spotcheck.draw", target=spot_check_id)
            checks.require_in_window(checks.check_window(self.calendar, "spot_check"), self.today())
            checkpoint = queries.latest_checkpoint(conn, self.tables)
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
            populations = queries.closed_tasks_by_district(conn, self.tables, districts, checks.SPOT_CHECKED_KINDS)
            for district in districts or []:
                populations.setdefault(district, [])
            if not populations:
                raise RuleViolation("R12: no closed tasks to draw from", field="districts", rule="R12")
            payloads = spotcheck.draw_events(spot_check_id, seed, source, checkpoint, per_district,
                                             self.today().isoformat(), populations)
            return [NewEvent("SpotCheckDrawn", p, stream_id=spot_check_id) for p in payloads]

        return self._run(principal, decide, key, fingerprint, spot_check_id)

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
        conn.execute(sa.select(self.tables.organizations.c.organization_id).where(
            self.tables.organizations.c.organization_id == organization_id).with_for_update())
        row = queries.organization_row(conn, self.tables, organization_id)
        if row is None:
            raise NotFound(f"organization {organization_id} not found", field="organization_id")
        return queries.organization_state(row)

    def _facts_in_territory(self, conn: Connection, principal: Principal, permission: str,
                            entity_ids: Sequence[str], target: str) -> dict[str, EntityFacts]:
        principal.require(permission, target=target)
        facts = queries.load_facts(conn, self.tables, entity_ids)
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

    def _run(self, principal: Principal, decide: Callable[[Connection], list[NewEvent]], key: str | None,
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

    def _attempt(self, principal: Principal, decide: Callable[[Connection], list[NewEvent]], key: str | None,
                 fingerprint: str, main_id: str, after: Callable[[Connection], None] | None) -> Outcome:
        """The event store's pipeline: a repeat answers with its first result (all its streams, in the order
        written); the events may span streams (each appended at its current version: the command holds the
        organization's row lock or the entities' advisory locks); the read rows follow in the transaction."""
        def project(conn: Connection, result: AppendResult) -> None:
            for envelope in result.events:
                apply_formation_event(conn, self.tables, envelope)
            if after is not None:
                after(conn)

        command = Command(principal.actor(), fingerprint, key, CONFLICT)
        executed = self.store.execute(command, lambda conn: Decision(decide(conn)), project)
        return Outcome(_main_id(executed.result, main_id) if executed.replayed else main_id, executed.result)


def _main_id(result: AppendResult, fallback: str) -> str:
    """The id a replayed command answers with: taken from its first event's payload."""
    payload = result.events[0].payload if result.events else {}
    for field in ("plan_id", "new_organization_id", "entity_id", "check_id", "assignment_id", "mass_organization_id",
                  "spot_check_id", "education_id", "arrangement_id", "organization_id"):
        if payload.get(field):
            return payload[field]
    return fallback
