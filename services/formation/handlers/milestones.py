"""Setup-milestone commands (R10b): declare a gathering zone, record a milestone — each one event, decided under
an advisory lock on its district or stream and appended with its read row in one transaction
(``FormationCommands``).

Who: ``milestone.record`` (the city's and the districts' organization departments), in the district's territory.
"""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.auth import Principal
from platform_core.event_store import request_fingerprint
from platform_core.events import NewEvent
from platform_core.reference import load_territory

from ..domain import milestones
from .commands import FormationCommands, Outcome

PERMISSION = "milestone.record"


class MilestoneCommands:
    def __init__(self, commands: FormationCommands):
        self.commands = commands
        self.tables = commands.tables
        self.territory = load_territory()

    def declare_zone(self, principal: Principal, district_code: str, name: str, zone_kind: str,
                     street_code: str | None, declared_on: date | None, key: str | None = None) -> Outcome:
        on = declared_on or self.commands.today()
        fingerprint = request_fingerprint("zone-declare", district_code, name, zone_kind, street_code, on)

        def decide(conn: Connection) -> list[NewEvent]:
            principal.require(PERMISSION, territory=district_code, target=district_code)
            self._lock(conn, f"zones:{district_code}")
            z = self.tables.zones
            taken = conn.execute(sa.select(z.c.zone_id).where(z.c.district_code == district_code,
                                                              z.c.name == name)).first() is not None
            return [milestones.decide_declare_zone(self.territory, district_code, street_code, name, zone_kind, on,
                                                   taken, self.commands.today())]

        outcome = self.commands._run(principal, decide, key, fingerprint, district_code)
        return Outcome(outcome.result.events[0].payload["zone_id"], outcome.result)

    def record(self, principal: Principal, command: milestones.RecordMilestone, key: str | None = None) -> Outcome:
        stream = milestones.milestone_stream(command)
        fingerprint = request_fingerprint("milestone-record", command.milestone, command.district_code,
                                          command.zone_id, command.done_on, command.document.number,
                                          command.document.title, command.document.sha256, command.committee_kind)

        def decide(conn: Connection) -> list[NewEvent]:
            principal.require(PERMISSION, territory=command.district_code, target=stream)
            milestones.require_district(self.territory, command.district_code)
            self._lock(conn, stream)
            zone = self._zone(conn, command.zone_id) if command.zone_id else None
            m = self.tables.milestones
            recorded = conn.execute(sa.select(m.c.stream_id).where(m.c.stream_id == stream)).first() is not None
            return [milestones.decide_record(self.commands.calendar, command, zone, recorded, self.commands.today())]

        return self.commands._run(principal, decide, key, fingerprint, stream)

    def _zone(self, conn: Connection, zone_id: str) -> milestones.Zone | None:
        z = self.tables.zones
        row = conn.execute(sa.select(z.c.zone_id, z.c.district_code, z.c.name).where(z.c.zone_id == zone_id)).first()
        return milestones.Zone(row.zone_id, row.district_code, row.name) if row else None

    @staticmethod
    def _lock(conn: Connection, key: str) -> None:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"milestone:{key}"})
