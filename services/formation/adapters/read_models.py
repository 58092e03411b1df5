"""Formation's read tables, updated from its own events in the transaction that appends them.

Replaying the event store through ``apply_formation_event`` in order gives the same rows, except the
``checked`` task state (a passed check of an entity not yet in the baseline), which has no event
of its own: it is the OrganizationChecked(passed) not followed by OrganizationClosed for the entity.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from platform_core.envelope import EventEnvelope

from .tables import Tables


def apply_formation_event(conn: Connection, t: Tables, envelope: EventEnvelope) -> None:
    p, kind = envelope.payload, envelope.type
    if kind == "OrganizationFormed":
        conn.execute(t.organizations.insert().values(
            organization_id=p["organization_id"], name=p["name"], mode=p["mode"], level=p["level"],
            district_code=p["district_code"], street_code=p.get("street_code"), grouping_basis=p.get("grouping_basis"),
            grouping_detail=p.get("grouping_detail"), affiliation=p["affiliation"], formed_on=p["formed_on"],
            restructured_from=p.get("restructured_from"), version=envelope.stream_version))
        conn.execute(t.coverage.insert(), [{"organization_id": p["organization_id"], "entity_id": e, "mode": p["mode"],
                                            "active": True, "since": p["formed_on"]} for e in p["entity_ids"]])
        # Every mode establishes the entity's organization (the plan's 二(四)1-4), functional included.
        _set_tasks(conn, t, p["entity_ids"], None, p["organization_id"], None, envelope, only_open=True)
    elif kind == "OrganizationRestructured":
        _end_coverage(conn, t, p["organization_id"], p["entity_ids"], p["restructured_on"])
        _bump(conn, t, p["organization_id"], envelope)
    elif kind == "OrganizationDissolved":
        _end_coverage(conn, t, p["organization_id"], p["entity_ids"], p["dissolved_on"])
        conn.execute(sa.update(t.organizations).where(t.organizations.c.organization_id == p["organization_id"])
                     .values(dissolved_on=p["dissolved_on"], version=envelope.stream_version))
    elif kind == "AffiliationChanged":
        conn.execute(sa.update(t.organizations).where(t.organizations.c.organization_id == p["organization_id"])
                     .values(affiliation=p["affiliation"], version=envelope.stream_version))
    elif kind == "OrganizationChecked":
        conn.execute(t.checks.insert().values(
            check_id=p["check_id"], organization_id=p["organization_id"], check_kind=p["check_kind"],
            passed=p["passed"], findings=p["findings"], checked_on=p["checked_on"],
            inspector_unit=p["inspector_unit"], spot_check_id=p.get("spot_check_id")))
        _bump(conn, t, p["organization_id"], envelope)
    elif kind == "OrganizationClosed":
        _set_tasks(conn, t, [p["entity_id"]], "closed", p["organization_id"], p["check_id"], envelope,
                   day=p["closed_on"])
    elif kind == "TaskReopened":
        _set_tasks(conn, t, [p["entity_id"]], p["state"], p["organization_id"], p.get("check_id"), envelope,
                   reason=p["reason"], day=p["reopened_on"])
    elif kind == "InstructorAssigned":
        _work(conn, t, p["assignment_id"], p["entity_ids"], p["role"], p["assigned_on"])
        districts = sa.select(sa.func.coalesce(sa.func.array_agg(sa.distinct(t.entities.c.district_code)),
                                               sa.literal([], ARRAY(sa.Text)))).where(
            t.entities.c.entity_id.in_(p["entity_ids"])).scalar_subquery()
        conn.execute(t.assignments.insert().values(
            assignment_id=p["assignment_id"], instructor_id=p["instructor_id"], role=p["role"],
            stream_id=envelope.stream_id, entity_ids=p["entity_ids"], organization_ids=p.get("organization_ids", []),
            district_codes=districts, assigned_on=p["assigned_on"], assigned_by=p["assigned_by"]))
    elif kind == "InstructorAssignmentEnded":
        conn.execute(sa.update(t.assignments).where(t.assignments.c.assignment_id == p["assignment_id"])
                     .values(ended_on=p["ended_on"], end_reason=p["reason"]))
        conn.execute(sa.update(t.work).where(t.work.c.source_id == p["assignment_id"]).values(until=p["ended_on"]))
    elif kind == "InvestorEducationHeld":
        _work(conn, t, p["education_id"], p["entity_ids"], "investor_education", p["held_on"])
    elif kind == "JointMemberDevelopmentStarted":
        _work(conn, t, p["arrangement_id"], p["entity_ids"], "joint_member_development", p["started_on"])
    elif kind == "MassOrganizationFormed":
        _work(conn, t, p["mass_organization_id"], p["entity_ids"], p["kind"], p["formed_on"])
    elif kind in ("PlanCreated", "PlanRevised"):
        _plan(conn, t, p)
    elif kind == "PlanProgressNoted":
        plans = t.plans
        seq = conn.execute(sa.update(plans).where(plans.c.plan_id == p["plan_id"]).values(
            notes=plans.c.notes + 1, last_note=p["note"], last_noted_on=p["noted_on"]).returning(plans.c.notes)).scalar()
        conn.execute(t.plan_notes.insert().values(plan_id=p["plan_id"], seq=seq, note=p["note"], noted_on=p["noted_on"]))
    elif kind == "GatheringZoneDeclared":
        conn.execute(t.zones.insert().values(**{k: p[k] for k in ("zone_id", "district_code", "street_code", "name",
                                                                  "zone_kind", "declared_on")}))
    elif kind == "SetupMilestoneRecorded":
        conn.execute(t.milestones.insert().values(stream_id=envelope.stream_id, **{k: p[k] for k in (
            "milestone", "district_code", "zone_id", "done_on", "document_number", "document_title",
            "document_sha256", "committee_kind", "recorded_on")}))
    elif kind == "SpotCheckDrawn" and p["part"] == 1:
        conn.execute(t.samples.insert(), [{"spot_check_id": p["spot_check_id"], "district_code": p["district_code"],
                                           "entity_id": e, "rank": i} for i, e in enumerate(p["sample"], start=1)]
                     ) if p["sample"] else None


def _plan(conn: Connection, t: Tables, p: dict) -> None:
    """A plan as created or revised (the whole plan; its notes stay)."""
    row = {k: p[k] for k in ("plan_id", "entity_id", "label", "district_code", "street_code", "ledger_unit",
                             "measures", "target_date", "responsible_id", "responsible_role")}
    if "created_on" in p:
        conn.execute(t.plans.insert().values(**row, revision=0, created_on=p["created_on"], notes=0))
    else:
        conn.execute(sa.update(t.plans).where(t.plans.c.plan_id == p["plan_id"]).values(
            **row, revision=p["revision"], revised_on=p["revised_on"]))


def _work(conn: Connection, t: Tables, source_id: str, entity_ids, kind: str, since) -> None:
    """One source of work coverage (R6) for each entity it names."""
    conn.execute(t.work.insert(), [{"source_id": source_id, "entity_id": e, "kind": kind, "since": since}
                                   for e in entity_ids])


def set_task_state(conn: Connection, t: Tables, entity_id: str, state: str, organization_id: str,
                   check_id: str | None) -> None:
    """A state that has no event of its own (``checked``: passed, not yet in the baseline)."""
    statement = pg_insert(t.tasks).values(entity_id=entity_id, state=state, organization_id=organization_id,
                                          check_id=check_id, version=0)
    conn.execute(statement.on_conflict_do_update(index_elements=[t.tasks.c.entity_id], set_={
        "state": state, "organization_id": organization_id, "check_id": check_id}))


def _set_tasks(conn, t: Tables, entity_ids, state, organization_id, check_id, envelope: EventEnvelope,
               reason: str | None = None, day=None, only_open: bool = False) -> None:
    own_stream = envelope.stream_id.startswith("task-")
    for entity_id in entity_ids:
        values = {"entity_id": entity_id, "state": state or "organization_formed", "organization_id": organization_id,
                  "check_id": check_id, "reopened": 1 if envelope.type == "TaskReopened" else 0,
                  "last_reason": reason, "version": envelope.stream_version if own_stream else 0, "updated_on": day}
        statement = pg_insert(t.tasks).values(**values)
        update = {"organization_id": organization_id, "updated_on": day}
        if only_open:  # a new organization: the task follows it unless it is already checked/closed
            conn.execute(statement.on_conflict_do_update(
                index_elements=[t.tasks.c.entity_id], set_={"organization_id": organization_id,
                                                            "state": "organization_formed", "check_id": None},
                where=t.tasks.c.state.notin_(("checked", "closed"))))
            continue
        update |= {"state": values["state"], "check_id": check_id, "last_reason": reason,
                   "version": envelope.stream_version}
        if envelope.type == "TaskReopened":
            update["reopened"] = t.tasks.c.reopened + 1
        conn.execute(statement.on_conflict_do_update(index_elements=[t.tasks.c.entity_id], set_=update))


def _end_coverage(conn, t: Tables, organization_id: str, entity_ids, day) -> None:
    c = t.coverage
    conn.execute(sa.update(c).where(c.c.organization_id == organization_id, c.c.entity_id.in_(list(entity_ids)))
                 .values(active=False, until=day))


def _bump(conn, t: Tables, organization_id: str, envelope: EventEnvelope) -> None:
    conn.execute(sa.update(t.organizations).where(t.organizations.c.organization_id == organization_id)
                 .values(version=envelope.stream_version))
