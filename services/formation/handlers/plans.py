"""一企一策 / 一社一策 plan commands (R9): create, revise, note progress — each one event on ``plan-<entity uuid>``,
decided under the entity's plan lock and appended with its read rows in one transaction (``FormationCommands``).

Who: ``organization.form`` in the entity's territory (the departments that form organizations keep the plans).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.auth import Principal
from platform_core.errors import NotFound
from platform_core.event_store import request_fingerprint
from platform_core.events import NewEvent

from ..adapters import queries
from ..domain import plans
from ..domain.model import EntityFacts
from .commands import FormationCommands, Outcome

PERMISSION = "organization.form"


@dataclass(frozen=True)
class Responsible:
    """The person answering for the plan: a name (kept in formation's table only) and a role."""

    name: str
    role: str


class PlanCommands:
    def __init__(self, commands: FormationCommands):
        self.commands = commands
        self.tables = commands.tables

    def create(self, principal: Principal, entity_id: str, measures: Sequence[str], target_date: date,
               responsible: Responsible, key: str | None = None) -> Outcome:
        fingerprint = request_fingerprint("plan-create", entity_id, list(measures), target_date, responsible.name,
                                          responsible.role)

        def decide(conn: Connection) -> list[NewEvent]:
            facts, ledger_unit = self._entity(conn, principal, entity_id)
            existing = queries.plan(conn, self.tables, entity_id, lock=True)
            coverage = queries.load_coverage(conn, self.tables, [entity_id]).get(entity_id)
            covered = (coverage is not None and coverage.any_organization()) or facts.declared_mode is not None
            content = plans.PlanContent(tuple(measures), target_date, self._person(conn, responsible),
                                        responsible.role)
            return [plans.decide_create(facts, ledger_unit, covered, existing, content, self.commands.calendar,
                                        self.commands.today())]

        return self.commands._run(principal, decide, key, fingerprint, plans.plan_stream(entity_id))

    def revise(self, principal: Principal, plan_id: str, reason: str, measures: Sequence[str] | None = None,
               target_date: date | None = None, responsible: Responsible | None = None,
               key: str | None = None) -> Outcome:
        entity_id = "entity-" + plan_id.removeprefix("plan-")
        fingerprint = request_fingerprint("plan-revise", plan_id, reason, list(measures or []), target_date,
                                          responsible.name if responsible else None,
                                          responsible.role if responsible else None)

        def decide(conn: Connection) -> list[NewEvent]:
            facts, ledger_unit, plan = self._plan(conn, principal, entity_id, plan_id)
            content = plan.content
            if measures is not None:
                content = replace(content, measures=tuple(measures))
            if target_date is not None:
                content = replace(content, target_date=target_date)
            if responsible is not None:
                content = replace(content, responsible_id=self._person(conn, responsible),
                                  responsible_role=responsible.role)
            return [plans.decide_revise(plan, facts, ledger_unit, content, reason, self.commands.calendar,
                                        self.commands.today())]

        return self.commands._run(principal, decide, key, fingerprint, plan_id)

    def note(self, principal: Principal, plan_id: str, note: str, noted_on: date | None,
             key: str | None = None) -> Outcome:
        entity_id = "entity-" + plan_id.removeprefix("plan-")
        today = self.commands.today()
        on = noted_on or today
        fingerprint = request_fingerprint("plan-note", plan_id, note, on)

        def decide(conn: Connection) -> list[NewEvent]:
            facts, ledger_unit, plan = self._plan(conn, principal, entity_id, plan_id)
            return [plans.decide_note(plan, facts, ledger_unit, note, on, self.commands.today())]

        return self.commands._run(principal, decide, key, fingerprint, plan_id)

    def _entity(self, conn: Connection, principal: Principal, entity_id: str) -> tuple[EntityFacts, str | None]:
        """The entity's facts once the caller may keep plans in its territory (403 naming the rule otherwise),
        and its ledger unit; the plan's stream is serialized by an advisory lock on the entity."""
        facts = self.commands._facts_in_territory(conn, principal, PERMISSION, [entity_id], plans.plan_stream(entity_id))
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"plan:{entity_id}"})
        e = self.tables.entities
        ledger_unit = conn.execute(sa.select(e.c.ledger_unit).where(e.c.entity_id == entity_id)).scalar()
        return facts[entity_id], ledger_unit

    def _plan(self, conn: Connection, principal: Principal, entity_id: str, plan_id: str):
        found = queries.plan(conn, self.tables, entity_id)
        if found is None:
            raise NotFound(f"plan {plan_id} not found", field="plan_id")
        facts, ledger_unit = self._entity(conn, principal, entity_id)
        return facts, ledger_unit, queries.plan(conn, self.tables, entity_id, lock=True)

    def _person(self, conn: Connection, responsible: Responsible) -> str:
        """A pseudonym for the responsible person; the name goes to formation's own table, never into an event."""
        responsible_id = f"person-{uuid.uuid4()}"
        conn.execute(self.tables.plan_responsibles.insert(), {"responsible_id": responsible_id,
                                                              "name": responsible.name})
        return responsible_id
