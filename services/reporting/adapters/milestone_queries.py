"""Reads for the setup-milestone checklist: the gathering zones declared and the milestones recorded
(rp_gathering_zones, rp_setup_milestones), for the city or one district."""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from reporting.domain.milestones import GatheringZone, MilestoneRecord


def zones_and_records(conn: Connection, schema: str, district: str | None
                      ) -> tuple[list[GatheringZone], list[MilestoneRecord]]:
    s = quoted_schema(schema)
    where, params = ("WHERE district_code = :district", {"district": district}) if district else ("", {})
    zones = [GatheringZone(r.zone_id, r.district_code, r.name, r.zone_kind, r.declared_on, r.street_code)
             for r in conn.execute(sa.text(f"SELECT * FROM {s}.rp_gathering_zones {where}"), params)]
    records = [MilestoneRecord(r.milestone, r.district_code, r.zone_id, r.done_on, r.document_number, r.document_title,
                               r.document_sha256, r.committee_kind, r.event_id)
               for r in conn.execute(sa.text(f"SELECT * FROM {s}.rp_setup_milestones {where}"), params)]
    return zones, records
