"""The cheating mode: districts that meet their numbers on paper, planted among honest activity (pure).

``--cheat-districts`` names the districts. In each, on top of the honest campaign, the plan plants every
pattern the detectors look for (docs/detectors.md), at a few cases per district, and records each case in
its own ground truth (``Cheating.planted``, written by ``--cheat-truth``):

- borrowed members: a member of a big enterprise works at an entity with 2 formal members from 5 days
  before its organization is formed until 10 days after (MemberWorkplaceChanged there and back);
- rushed paper organizations: an entity with 3 formal members forms its organization 2-7 days before the
  formation deadline, passes its acceptance check, and dissolves it 3-15 days later;
- same-day members: 3 members of other entities move to an entity without members on one day; it forms
  its organization 3-6 days later;
- distant joint organizations: 3 entities with one formal member each, in 3 different streets, form one;
- bulk checks: one checker of the district passes 12 acceptance checks 4 minutes apart on 11-22;
- check mismatch: the district's acceptance checks all pass, the city's spot checks of it all fail (planted
  in the truth when the city's sample fell on at least 2 of its organizations);
- report jumps: the district's report of 10-25 raises its organization coverage by a tenth of its entities;
- shadow patterns: 4 entities with one legal representative, 4 others at one address.

The honest campaign's rng is never drawn from here (a rng of its own), and no fact changes without
``--cheat-districts``. In every mode checks are paced like real visits (``pace_checks``): each checker of a
department does at most 4 a day, 90 minutes apart, as ``checker-<n>``, so that honest checks do not look
like bulk checks; only the checker and the hour of a check change, never its day.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from platform_core.reference import load_calendar

from . import names
from .commands import Command, Plan, Step, fact
from .members import member_department

BORROWED, LATE, SAME_DAY, DISTANT, BULK, MISMATCH, JUMP, SHADOW = (
    "borrowed_members", "late_paper_organization", "same_day_members", "distant_joint", "bulk_checks",
    "check_mismatch", "report_jump", "shadow_pattern")
PER_DISTRICT = {BORROWED: 2, LATE: 2, SAME_DAY: 2, DISTANT: 2}
RUSH_DAY, RUSH_CHECKS, RUSH_MINUTES, RUSH_CHECKER = date(2016, 11, 22), 12, 4, "rush-checker"
JUMP_DEADLINE = date(2016, 10, 25)
SHADOW_GROUP = 4
CHECKS_PER_CHECKER, VISIT_MINUTES = 4, 90
FORMATION_DUE = load_calendar().milestone("formation").due
SPOT_FINDINGS = ["抽查发现党组织有名无实，未开展组织生活"]


@dataclass(frozen=True)
class Planted:
    """One planted case, named by the simulator's keys (resolved to platform ids when written)."""

    kind: str
    district: str
    entities: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    detail: tuple[tuple[str, str], ...] = ()


@dataclass
class Cheating:
    districts: tuple[str, ...]
    seed: int
    planted: list[Planted] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"cheating-{self.seed}")

    def cheats(self, district: str) -> bool:
        return district in self.districts

    def plant(self, kind: str, district: str, entities=(), organizations=(), **detail) -> None:
        self.planted.append(Planted(kind, district, tuple(entities), tuple(organizations),
                                    tuple(sorted((k, str(v)) for k, v in detail.items()))))

    def resolved(self, ids: dict[str, str]) -> list[dict]:
        """The ground truth with platform ids (a case whose entity or organization was never created is left
        out: its command failed, and the run reports the failure)."""
        found = []
        for case in self.planted:
            keys = (*case.entities, *case.organizations)
            if not all(k in ids for k in keys):
                continue
            found.append({"kind": case.kind, "district": case.district,
                          "entity_ids": sorted(ids[k] for k in case.entities),
                          "organization_ids": sorted(ids[k] for k in case.organizations), **dict(case.detail)})
        return found


# -- the survey: shadow patterns --------------------------------------------------------------------------
def plant_shadows(cheating: Cheating, entities: list) -> list:
    """One legal representative over SHADOW_GROUP entities, one address over SHADOW_GROUP others, per district."""
    rng, entities = cheating.rng, list(entities)
    duplicated = {e.duplicate_of for e in entities if e.duplicate_of}
    for district in cheating.districts:
        pool = [n for n, e in enumerate(entities) if e.district_code == district and e.flag is None
                and not e.late_found and e.key not in duplicated]
        picked = rng.sample(pool, min(len(pool), 2 * SHADOW_GROUP))
        for what, group in (("legal_representative", picked[:SHADOW_GROUP]), ("address", picked[SHADOW_GROUP:])):
            if len(group) < SHADOW_GROUP:
                continue
            first = entities[group[0]]
            value = names.person(rng) + "甲" if what == "legal_representative" else first.address
            for n in group:
                entities[n] = replace(entities[n], **{what: value})
            cheating.plant(SHADOW, district, [entities[n].key for n in group], what=what)
    return entities


# -- formation: organizations and members -----------------------------------------------------------------
def plant_organizations(cheating: Cheating, builder) -> None:
    """Borrowed members, rushed paper organizations, same-day members and distant joint organizations."""
    busy = _members_with_commands(builder)
    for district in cheating.districts:
        planter = _Planter(cheating, builder, district, busy)
        for _ in range(PER_DISTRICT[BORROWED]):
            planter.borrowed()
        for _ in range(PER_DISTRICT[LATE]):
            planter.late()
        for _ in range(PER_DISTRICT[SAME_DAY]):
            planter.same_day()
        for _ in range(PER_DISTRICT[DISTANT]):
            planter.distant()


def _members_with_commands(builder) -> set[str]:
    """Members some command of the plan already names after their registration (reveal, transfer, confirm...)."""
    paths = [c.path for s in builder.plan.steps for c in s.commands]
    paths += [c.path for commands in builder.steps.values() for c in commands]
    return {p.split("/")[2][1:] for p in paths if p.startswith("/members/@")}


class _Planter:
    def __init__(self, cheating: Cheating, builder, district: str, busy: set[str]):
        self.cheating, self.builder, self.district, self.busy = cheating, builder, district, busy
        self.rng, self.timeline, self.campaign = cheating.rng, builder.timeline, builder.campaign
        self.used: set[str] = set()
        self.with_members = {m.entity_key for m in self.campaign.members}
        # entities an organization covered at any time (a dissolved one's too): a new one would overlap it
        self.ever_covered = set(builder.covered) | {k for o in builder.orgs.values()
                                                    for k in (*o.entities, *o.restructured)}

    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def candidates(self, formal: int) -> list:
        """Entities of the district without an organization whose formal members stay ``formal`` all along."""
        return [e for e in self.builder.entities if e.district_code == self.district and e.key not in self.ever_covered
                and e.key not in self.builder.functional_keys and e.key not in self.used
                and e.kind != "social_organization" and self._steady_at(e.key, formal)
                and (formal > 0 or e.key not in self.with_members)]

    def _steady_at(self, entity_key: str, formal: int) -> bool:
        changes = self.timeline.changes.get(entity_key, [])
        return self.timeline.formal(entity_key, date(2016, 12, 31)) == formal and all(
            day <= date(2016, 9, 15) for day, _ in changes)

    def free_members(self, entity_key: str) -> list:
        """Formal members found at an entity that nothing else moves, as many as it can give and keep 3 formal
        members on every day (the organization it has or will form stays valid, docs/rules.md R3)."""
        changes = self.timeline.changes.get(entity_key, [])
        spare = min([self.timeline.formal(entity_key, day) for day, _ in changes] or [0]) - 3
        if spare <= 0 or any(d < 0 for _, d in changes):
            return []
        return [m for m in self.campaign.members if m.entity_key == entity_key and m.standing == "formal"
                and m.way == "found" and m.key not in self.busy][:spare]

    def donors(self, wanted: int) -> list:
        """``wanted`` (entity, member) pairs from big entities of the district (none used for another case)."""
        found = []
        for entity in self.builder.entities:
            if entity.district_code != self.district or entity.key in self.used:
                continue
            for member in self.free_members(entity.key)[:wanted - len(found)]:
                found.append((entity, member))
                self.used.add(entity.key)
            if len(found) == wanted:
                return found
        return []

    def move(self, member, source, target, on: date, label: str) -> None:
        self.busy.add(member.key)
        self.timeline.add(source.key, on, -1)
        self.timeline.add(target.key, on, +1)
        self.builder.add(on, "transfers", label, Command(
            "membership", member_department(source), "POST", f"/members/@{member.key}/workplace",
            self.builder.key(f"cheat-workplace-{member.key}-{on}"), body={"entity_id": f"@{target.key}"},
            retry_statuses=(422,), facts=(fact("member_workplace_changed", [member.key], to_entity=target.key),)))

    def pick(self, *formal: int):
        entities = [e for n in formal for e in self.candidates(n)]
        if not entities:
            return None
        entity = entities[self.rng.randrange(len(entities))]
        self.used.add(entity.key)
        return entity

    def borrowed(self) -> None:
        entity, donors = self.pick(2), self.donors(1)
        if entity is None or not donors:
            return
        (donor, member), = donors
        formed = self.day(date(2016, 10, 10), date(2016, 11, 5))
        self.move(member, donor, entity, formed - timedelta(days=5), "cheating: a borrowed member comes")
        org = self.builder.new_org("standalone", [entity], formed, f"中共{entity.name}支部委员会")
        self.move(member, entity, donor, formed + timedelta(days=10), "cheating: a borrowed member goes back")
        self.cheating.plant(BORROWED, self.district, [entity.key, donor.key], [org.key])

    def late(self) -> None:
        entity = self.pick(3, 4, 5, 6)
        if entity is None:
            return
        formed = self.day(FORMATION_DUE - timedelta(days=7), FORMATION_DUE - timedelta(days=2))
        org = self.builder.new_org("standalone", [entity], formed, f"中共{entity.name}支部委员会")
        del self.builder.orgs[org.key]  # checked and dissolved here, not by the honest checks
        self.builder.covered.pop(entity.key, None)
        checked = self.day(date(2016, 11, 21), date(2016, 11, 28))
        self.builder.check(org, checked, True, "acceptance", "acceptance", "acceptance checks (检查验收)", "check")
        dissolved = checked + timedelta(days=self.rng.randint(3, 15))
        self.builder.add(dissolved, "formation", "cheating: a rushed organization dissolved after its check", Command(
            "formation", org.department, "POST", f"/organizations/@{org.key}/dissolve",
            self.builder.key(f"dissolve-{org.key}"), body={"reason": "企业经营调整，撤销党组织",
                                                          "dissolved_on": dissolved.isoformat()},
            facts=(fact("org_dissolved", [org.key]),)))
        self.cheating.plant(LATE, self.district, [entity.key], [org.key])

    def same_day(self) -> None:
        entity, donors = self.pick(0), self.donors(3)
        if entity is None or not donors:
            return
        moved = self.day(date(2016, 10, 8), date(2016, 11, 8))
        for donor, member in donors:
            self.move(member, donor, entity, moved, "cheating: members arrive on one day")
        formed = moved + timedelta(days=self.rng.randint(3, 6))
        org = self.builder.new_org("standalone", [entity], formed, f"中共{entity.name}支部委员会")
        self.cheating.plant(SAME_DAY, self.district, [entity.key], [org.key])

    def distant(self) -> None:
        """One entity from each of at least 3 streets (those with members first) until together they have 3
        formal members (R4)."""
        by_street = defaultdict(list)
        for formal in (2, 1, 0):
            for entity in self.candidates(formal):
                by_street[entity.street_code].append((formal, entity))
        streets = sorted(by_street)
        self.rng.shuffle(streets)
        group, total = [], 0
        for street in sorted(streets, key=lambda s: -by_street[s][0][0]):
            formal, entity = by_street[street][0]
            group.append(entity)
            total += formal
            if len(group) >= 3 and total >= 3:
                break
        if len(group) < 3 or total < 3 or len(group) > 6:
            return
        self.used.update(e.key for e in group)
        formed = self.day(date(2016, 10, 10), date(2016, 11, 10))
        org = self.builder.new_org("joint", group, formed, f"中共{group[0].name}等联合支部委员会", basis="region",
                                   detail="跨街道联建")
        self.cheating.plant(DISTANT, self.district, [e.key for e in group], [org.key])


# -- checks: rubber stamps, a rush, paced visits ---------------------------------------------------------------
def rushed(cheating: Cheating, org, passed_first: bool, counts: dict[str, int]) -> bool:
    """Whether this first check is one of the district's rush (bulk checks), taken in plan order."""
    if not cheating.cheats(org.district) or not passed_first or org.department != f"district_org:{org.district}":
        return False
    counts[org.district] = counts.get(org.district, 0) + 1
    if counts[org.district] > RUSH_CHECKS:
        return False
    if counts[org.district] == 1:
        cheating.plant(BULK, org.district, checker=f"{org.department}/{RUSH_CHECKER}")
    return True


def pace_checks(plan: Plan) -> None:
    """Every check of a department and day by its own checker, at most CHECKS_PER_CHECKER a day, VISIT_MINUTES
    apart; the rush keeps its checker and comes RUSH_MINUTES apart."""
    seen: dict[tuple[date, str], int] = defaultdict(int)
    for n, step in enumerate(plan.steps):
        if not any(c.path.endswith("/checks") for c in step.commands):
            continue
        commands = []
        for command in step.commands:
            if command.path.endswith("/checks") and command.user is None:
                index = seen[(step.on, command.department)]
                seen[(step.on, command.department)] += 1
                command = replace(command, user=f"checker-{index // CHECKS_PER_CHECKER + 1}",
                                  minute=(index % CHECKS_PER_CHECKER) * VISIT_MINUTES)
            commands.append(command)
        plan.steps[n] = Step(step.on, step.phase, tuple(commands), step.resolve, step.label)


def rush_command(command: Command, index: int) -> Command:
    return replace(command, user=RUSH_CHECKER, minute=index * RUSH_MINUTES)


def spot_result(cheating: Cheating | None, district: str, index: int) -> dict:
    """A spot check's result and the visit's pacing: a cheating district's organizations fail it."""
    paced = {"user": f"checker-{index // CHECKS_PER_CHECKER + 1}", "minute": (index % CHECKS_PER_CHECKER) * VISIT_MINUTES}
    if cheating is not None and cheating.cheats(district):
        return {"passed": False, "findings": SPOT_FINDINGS, **paced}
    return {"passed": True, "findings": [], **paced}


def cheating_mismatches(cheating: Cheating, districts: dict[str, str]) -> None:
    """The check mismatch's ground truth, once the city's sample is known (``districts``: spot-checked
    organization -> its district): a cheating district whose spot checks fell on at least 2 organizations,
    all of which fail. One failed spot check alone is no evidence against a district's checks (the detector's
    ``mismatch_min_spot_checks``): such a district is not counted as planted."""
    for district in cheating.districts:
        organizations = sorted(o for o, d in districts.items() if d == district)
        if len(organizations) >= 2:
            cheating.plant(MISMATCH, district, organizations=organizations)


# -- reports: jumps ----------------------------------------------------------------------------------------
def plant_jumps(cheating: Cheating, plan: Plan, entities: list) -> None:
    """The district's report of JUMP_DEADLINE is sent on time, its organization coverage raised by a tenth of
    the district's entities (at least 10)."""
    per_district = defaultdict(int)
    for entity in entities:
        per_district[entity.district_code] += 1
    for n, intent in enumerate(plan.reports):
        district = intent.unit.removeprefix("district-")
        if intent.deadline == JUMP_DEADLINE and cheating.cheats(district):
            raised = max(10, per_district[district] // 10)
            plan.reports[n] = replace(intent, behaviour="false", submit_on=intent.deadline, inflate=raised)
            cheating.plant(JUMP, district, deadline=JUMP_DEADLINE.isoformat(), raised=raised)
