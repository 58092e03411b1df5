"""The setup milestones of the campaign (docs/milestones.md), decided in advance like the rest of the plan (pure).

Every district records its work plan, its training and its task force, declares one gathering zone (a park) and
records the zone's guidance station and Party committee: most on time; two districts hold their training a day
late, one records its zone's Party committee after the due day, and one never records its task force (missing).
Each record is sent on the day it was done (the business date), with a 文号.
"""

import random
from datetime import date, timedelta

from platform_core.reference import CampaignCalendar

from .commands import Command, Plan, Step, fact

PHASE = "setup"
ZONE_DECLARED_ON = date(2016, 9, 1)


def plan_setup(rng: random.Random, districts: dict[str, str], calendar: CampaignCalendar, plan: Plan, key) -> None:
    """``districts``: code -> name (names, not codes, are what officials read: the zone's, the 文号's)."""
    order = sorted(districts)
    rng.shuffle(order)
    missing, late_training, late_committee = order[0], set(order[1:3]), order[3 % len(order)]
    due = {m.key: m.due for m in calendar.setup_milestones}
    days: dict[date, list[Command]] = {}
    for district in sorted(districts):
        zone = f"Z{district}"
        days.setdefault(ZONE_DECLARED_ON, []).append(Command(
            "formation", f"district_org:{district}", "POST", "/milestones/zones", key(f"zone-{district}"),
            {"district_code": district, "name": f"{districts[district]}两新组织集聚园区", "zone_kind": "park",
             "declared_on": ZONE_DECLARED_ON.isoformat()}, produces=zone,
            facts=(fact("zone_declared", (district,), zone=zone, declared_on=ZONE_DECLARED_ON.isoformat()),)))
        done = {"work_plan": due["work_plan"] - timedelta(days=rng.randint(0, 1)),
                "training": due["training"] + timedelta(days=1) if district in late_training else due["training"],
                "task_force": None if district == missing else due["task_force"],
                "guidance_station": due["guidance_station"] - timedelta(days=rng.randint(20, 60)),
                "party_committee": (due["party_committee"] + timedelta(days=2) if district == late_committee
                                    else due["party_committee"] - timedelta(days=rng.randint(5, 40)))}
        for number, (milestone, on) in enumerate(done.items(), start=1):
            if on is None:
                continue
            scope = milestone in ("guidance_station", "party_committee")
            body = {"milestone": milestone, "district_code": district, "done_on": on.isoformat(),
                    "document_number": f"{districts[district].removesuffix('区')}组〔2016〕{number}号"}
            if scope:
                body["zone_id"] = f"@{zone}"
            if milestone == "party_committee":
                body["committee_kind"] = rng.choice(("enterprise", "combined"))
            days.setdefault(on, []).append(Command(
                "formation", f"district_org:{district}", "POST", "/milestones", key(f"{milestone}-{district}"), body,
                facts=(fact("milestone_recorded", (district,), milestone=milestone, done_on=on.isoformat(),
                            zone=zone if scope else None),)))
    for on in sorted(days):
        plan.add(Step(on, PHASE, tuple(days[on]), label="启动节点"))


def drop_districts(plan: Plan, districts: set[str]) -> None:
    """Leave out the setup commands of ``districts`` (an earlier run recorded theirs: a second record is refused)."""
    kept = []
    for step in plan.steps:
        if step.phase == PHASE:
            step = Step(step.on, step.phase, tuple(c for c in step.commands
                                                   if c.department.partition(":")[2] not in districts), label=step.label)
            if not step.commands:
                continue
        kept.append(step)
    plan.steps[:] = kept
