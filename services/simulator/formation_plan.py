"""The formation phases of the campaign, decided in advance like the rest of the plan (pure).

Seed 二(四) to 二(七) on the R10 calendar: organizations formed from 08-27 to the
11-20 milestone (standalone for >= 3 formal members, joint per street and industry or
region, a few functional ones), members revealed and developed in them and transferred
between them, R3 violations that appear when a joint organization's entity grows and
are restructured, a few dissolutions, work coverage for entities left without an
organization, acceptance checks 11-21..12-05 (some fail and are re-checked), the city's
spot check and the look-back 12-06..12-30.

Formation checks R3/R4 on its own projection of membership's events, so every
decision here uses the member count the plan itself will have produced by that date
(``Timeline``); while the projection catches up a refused R3/R4 is retried.
"""

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import cheating, names
from .commands import Command, Plan, Step, fact
from .members import found_command, member_department
from .people import MemberFactory

FORMATION_FROM, FORMATION_DUE = date(2016, 8, 27), date(2016, 11, 20)
WAVE_FROM, WAVE_TO = date(2016, 9, 16), date(2016, 11, 18)
ACCEPTANCE_FROM, ACCEPTANCE_TO = date(2016, 11, 21), date(2016, 12, 5)
LOOK_BACK_FROM, LOOK_BACK_TO = date(2016, 12, 6), date(2016, 12, 30)
SPOT_CHECK_ON, SPOT_RESULTS_ON = date(2016, 12, 2), date(2016, 12, 5)  # R12: inside the acceptance window
STANDALONE_RATE = 0.8  # entities with >= 3 formal members that form their own organization by 11-20
JOINT_STREET_RATE = 0.85  # streets whose small entities group into joint organizations
ZERO_MEMBER_JOIN_RATE = 0.75  # entities without members that join their street's joint organization
FUNCTIONAL_RATE = 0.6  # social organizations staffed by public employees that form a functional organization
DISSOLVE_RATE = 0.015
REVEAL_RATE = 0.6  # hidden/pocket members revealed to the organization where they work
DEVELOP_RATE = 0.12  # organizations that develop a probationary member
TRANSFER_RATE = 0.4  # developed members transferred to another organization (or only changing workplace)
ACROSS_RATE = 0.4  # of those: into another district, released by the source and accepted by the target (R13)
WORKPLACE_RATE = 0.25  # of those: a change of workplace only, the registration stays
INSTRUCTOR_RATE = 0.55  # entities without an organization that get an instructor / first secretary
MASS_ORG_RATE = 0.2
EDUCATION_RATE = 0.15  # entities without an organization whose investor is educated (统战, 工商联)
JOINT_DEVELOPMENT_RATE = 0.08  # entities without members for which a street committee develops members
GUIDANCE_RATE = 0.85  # new organizations that get a first secretary or instructor (一对一/一对多)
ASSIGNMENT_END_RATE = 0.08
EDUCATION_TOPICS = ("出资人座谈会：支持企业党建", "民营企业家理想信念教育培训班", "社会组织负责人党建政策宣讲")
CHECK_FAIL_RATE = 0.15
LOOK_BACK_RATE = 0.2
RETRY = dict(retry_statuses=(422,), retry_rules=("registry", "R3", "R4"))
FINDINGS = ("党员组织关系未转入", "三会一课制度未落实", "党组织书记未按程序选举产生", "活动场所不达标")
MASS_KINDS = {"trade_union": "工会", "youth_league": "团支部", "womens_federation": "妇女委员会"}


class Timeline:
    """Formal members per entity on each business date, as the plan's member commands leave them."""

    def __init__(self, campaign):
        self.changes: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for member in campaign.members:
            if member.standing == "formal":
                self.add(member.entity_key, campaign.added_on[member.key], +1)
            elif member.key in campaign.confirmed_on:
                self.add(member.entity_key, campaign.confirmed_on[member.key], +1)
            if member.key in campaign.left_on:
                became_formal = member.standing == "formal" or member.key in campaign.confirmed_on
                if became_formal:
                    self.add(member.entity_key, campaign.left_on[member.key], -1)

    def add(self, entity_key: str, on: date, delta: int) -> None:
        self.changes[entity_key].append((on, delta))

    def formal(self, entity_key: str, on: date) -> int:
        return sum(d for day, d in self.changes.get(entity_key, ()) if day <= on)

    def steady(self, entity_key: str, on: date) -> bool:
        """No change on the day itself or the day before (same-day ordering and projection lag are moot)."""
        return all(day not in (on, on - timedelta(days=1)) for day, _ in self.changes.get(entity_key, ()))


@dataclass
class Org:
    key: str
    mode: str
    entities: list[str]
    formed_on: date
    district: str
    department: str
    dissolved_on: date | None = None
    restructured: set[str] = field(default_factory=set)  # entity keys split out


def plan_formation(rng: random.Random, campaign, plan: Plan, key, factory: MemberFactory) -> None:
    """The formation phases; in cheating mode (``plan.cheating``) with the planted cases (cheating.py)."""
    builder = _Builder(rng, campaign, plan, key, factory)
    builder.standalone()
    builder.joint()
    builder.functional()
    builder.violations_and_restructuring()
    builder.dissolutions()
    builder.members_in_organizations()
    builder.work_coverage()
    builder.guidance()
    builder.assignment_ends()
    if plan.cheating is not None:
        cheating.plant_organizations(plan.cheating, builder)
    builder.checks()
    builder.flush()
    # Checks are paced like real visits in every mode: one checker does a few a day, hours apart. An honest
    # district whose day of checks came in within seconds under one user would look like a rush of rubber
    # stamps to the bulk-checks detector (docs/detectors.md). Only the checker and the hour change, not the day.
    cheating.pace_checks(plan)


class _Builder:
    def __init__(self, rng, campaign, plan, key, factory):
        self.rng, self.campaign, self.plan, self.key, self.factory = rng, campaign, plan, key, factory
        self.timeline = Timeline(campaign)
        self.entities = [e for e in campaign.entities if e.flag is None and e.key in campaign.ready_on]
        self.orgs: dict[str, Org] = {}
        self.covered: dict[str, str] = {}  # entity key -> standalone/joint org key
        self.functional_keys: set[str] = set()
        self.assignments = 0
        self.assigned: list[tuple[str, str, date, list[str]]] = []  # (key, department, assigned on, entity keys)
        self.steps: dict[tuple[date, str, str], list[Command]] = defaultdict(list)
        self.count = 0

    # -- helpers --------------------------------------------------------------------------------------------
    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def add(self, on: date, phase: str, label: str, *commands: Command) -> None:
        self.steps[(on, phase, label)].extend(commands)

    def flush(self) -> None:
        for (on, phase, label), commands in sorted(self.steps.items(), key=lambda i: (i[0][0], i[0][1], i[0][2])):
            self.plan.add(Step(on, phase, tuple(commands), label=label))

    def department(self, entity) -> str:
        if entity.kind == "social_organization" and entity.level == "city":
            return "city_org"
        return f"district_org:{entity.district_code}"

    def new_org(self, mode: str, entities: list, on: date, name: str, level: str = "branch",
                basis: str | None = None, detail: str | None = None) -> Org:
        self.count += 1
        org = Org(f"O{self.count:06d}", mode, [e.key for e in entities], on, entities[0].district_code,
                  "city_org" if any(self.department(e) == "city_org" for e in entities) else self.department(entities[0]))
        body = {"mode": mode, "name": name, "entity_ids": [f"@{k}" for k in org.entities],
                "formed_on": on.isoformat(), "level": level}
        if basis:
            body |= {"grouping_basis": basis, "grouping_detail": detail}
        self.add(on, "formation", f"organizations formed ({mode})", Command(
            "formation", org.department, "POST", "/organizations", self.key(f"form-{org.key}"), body=body,
            produces=org.key, id_field="id", facts=(fact("org_formed", [org.key, *org.entities], mode=mode),), **RETRY))
        self.orgs[org.key] = org
        if mode != "functional":
            for k in org.entities:
                self.covered[k] = org.key
        return org

    def settle_day(self, entities, on: date, ok) -> date | None:
        """The first day from ``on`` (up to 10 days later, not after the milestone) when every entity's count is
        steady and ``ok(counts)`` holds."""
        for shift in range(11):
            day = on + timedelta(days=shift)
            if day > FORMATION_DUE:
                return None
            if all(self.timeline.steady(e.key, day) for e in entities) and ok(
                    [self.timeline.formal(e.key, day) for e in entities]):
                return day
        return None

    # -- organizations --------------------------------------------------------------------------------------
    def standalone(self) -> None:
        """单独组建: entities with >= 3 formal members; those the survey found with one are recorded first."""
        for entity in self.entities:
            ready = self.campaign.ready_on[entity.key]
            if self.timeline.formal(entity.key, FORMATION_DUE) < 3:
                continue
            if entity.party_organization == "standalone":
                start = ready
            elif self.rng.random() < STANDALONE_RATE:
                start = self.day(max(ready, WAVE_FROM), WAVE_TO)
            else:
                continue
            day = self.settle_day([entity], start, lambda c: c[0] >= 3)
            if day is None:
                continue
            level = "committee" if self.timeline.formal(entity.key, day) >= 50 else "branch"
            self.new_org("standalone", [entity], day, f"中共{entity.name}支部委员会", level)

    def joint(self) -> None:
        """联合组建 per street: by industry where a group reaches 3 formal members, the rest by region."""
        streets: dict[str, list] = defaultdict(list)
        for entity in self.entities:
            if entity.key in self.covered or (entity.kind == "social_organization" and entity.level == "city"):
                continue
            streets[entity.street_code].append(entity)
        territory = self.campaign.territory
        strays: dict[str, list] = defaultdict(list)  # entities of streets too small for a group of their own

        def entity_district(street_code: str) -> str:
            return streets[street_code][0].district_code

        for street_code, members in sorted(streets.items()):
            if self.rng.random() > JOINT_STREET_RATE:
                continue
            on = self.day(WAVE_FROM, WAVE_TO)
            street = territory.street(street_code)
            park = street is not None and street.kind == "development_zone"
            ready = [e for e in members if self.campaign.ready_on[e.key] < on and self.timeline.steady(e.key, on)]
            counts = {e.key: self.timeline.formal(e.key, on) for e in ready}
            small = [e for e in ready if 0 < counts[e.key] < 3]
            zeros = [e for e in ready if counts[e.key] == 0 and self.rng.random() < ZERO_MEMBER_JOIN_RATE]
            groups: list[tuple[str, list]] = []
            leftover = []
            by_industry: dict[str, list] = defaultdict(list)
            for entity in small:
                by_industry[entity.industry].append(entity)
            for industry, group in sorted(by_industry.items()):
                current: list = []
                for entity in group:
                    current.append(entity)
                    if len(current) >= 2 and sum(counts[e.key] for e in current) >= 3:
                        groups.append(("park" if park else "industry", current))
                        current = []
                leftover.extend(current)
            current = []
            for entity in leftover:
                current.append(entity)
                if len(current) >= 2 and sum(counts[e.key] for e in current) >= 3:
                    groups.append(("park" if park else "region", current))
                    current = []
            if not groups:
                strays[entity_district(street_code)].extend((e, on) for e in current + zeros)
                continue
            groups[-1][1].extend(current)  # a remainder that cannot reach 3 joins the street's last group
            for n, entity in enumerate(zeros):
                groups[n % len(groups)][1].append(entity)
            name = street.name if street else street_code
            for n, (basis, group) in enumerate(groups, start=1):
                detail = (f"{name}{group[0].industry}行业" if basis == "industry" else f"{name}辖区")
                self.new_org("joint", group, on, f"中共{name}第{n}联合支部委员会", basis=basis, detail=detail)
        for district_code, pool in sorted(strays.items()):
            self.district_pool(district_code, pool)

    def district_pool(self, district_code: str, pool: list) -> None:
        """Small entities of thin streets join across streets in their district (basis region, district
        affiliation), formed on the latest of their streets' days so every count is the one of that day."""
        if not pool:  # the district's thin streets had no small entity ready
            return
        on = max(day for _, day in pool)
        entities = [e for e, _ in pool if self.timeline.steady(e.key, on) and self.timeline.formal(e.key, on) < 3]
        groups, current = [], []
        for entity in entities:
            current.append(entity)
            if len(current) >= 3 and sum(self.timeline.formal(e.key, on) for e in current) >= 3:
                groups.append(current)
                current = []
        if not groups:
            return
        groups[-1].extend(current)
        district = self.campaign.territory.district(district_code)
        for n, group in enumerate(groups, start=1):
            self.new_org("joint", group, on, f"中共{district.name}两新组织第{n}联合支部委员会", basis="region",
                         detail=f"{district.name}跨街道区域联建")

    def functional(self) -> None:
        """功能型 for some social organizations staffed mainly by 机关事业单位人员 without an organization of their own
        (R5: no member threshold; the survey's fact public_sector_staffed)."""
        for entity in self.entities:
            if entity.kind == "social_organization" and entity.public_sector_staffed \
                    and entity.key not in self.covered and self.rng.random() < FUNCTIONAL_RATE:
                on = self.day(max(self.campaign.ready_on[entity.key], WAVE_FROM), WAVE_TO)
                self.new_org("functional", [entity], on, f"中共{entity.name}功能型党支部")
                self.functional_keys.add(entity.key)

    def violations_and_restructuring(self) -> None:
        """R3 violations: an entity of a joint organization recruits its third formal member; about half of them
        are split out into their own organization (调整优化组织设置) before the milestone when the rest keep 3."""
        joint = [o for o in self.orgs.values() if o.mode == "joint" and o.formed_on < date(2016, 11, 1)]
        wanted = max(1, len(joint) // 25)
        picked = 0
        for org in joint:
            if picked >= wanted:
                break
            on = org.formed_on + timedelta(days=self.rng.randint(5, 12))
            total = sum(self.timeline.formal(k, on) for k in org.entities)
            grown = [k for k in org.entities if self.timeline.formal(k, on) == 2 and self.timeline.steady(k, on)
                     and total - 2 >= 3]  # the rest keep 3 together, so the entity can be split out (R4)
            if not grown or self.rng.random() >= 0.5:
                continue
            entity_key = grown[0]
            entity = self.campaign.entity(entity_key)
            member = self.factory.new(entity_key, "formal", "recruited")
            self.campaign.members.append(member)
            self.campaign.added_on[member.key] = on
            self.timeline.add(entity_key, on, +1)
            self.add(on, "member_growth", "a joint organization's entity recruits a third member (R3)",
                     found_command(member, entity, self.key))
            picked += 1
            later = on + timedelta(days=self.rng.randint(5, 15))
            rest = [k for k in org.entities if k != entity_key]
            if self.rng.random() < 0.7 and later <= FORMATION_DUE and all(
                    self.timeline.steady(k, later) for k in org.entities) and sum(
                    self.timeline.formal(k, later) for k in rest) >= 3:
                self.count += 1
                new = f"O{self.count:06d}"
                self.add(later, "formation", "R3: split out of a joint organization (调整优化组织设置)", Command(
                    "formation", org.department, "POST", f"/organizations/@{org.key}/restructure",
                    self.key(f"restructure-{org.key}-{entity_key}"),
                    body={"entity_id": f"@{entity_key}", "name": f"中共{entity.name}支部委员会",
                          "restructured_on": later.isoformat()},
                    produces=new, id_field="id", facts=(fact("org_restructured", [org.key, entity_key, new]),), **RETRY))
                org.entities.remove(entity_key)
                org.restructured.add(entity_key)
                self.orgs[new] = Org(new, "standalone", [entity_key], later, org.district, org.department)
                self.covered[entity_key] = new

    def dissolutions(self) -> None:
        """A few organizations are dissolved (the enterprise closed down or moved away); nobody re-forms them."""
        for org in list(self.orgs.values()):
            if org.mode == "functional" or org.restructured or org.formed_on > date(2016, 10, 25) \
                    or self.rng.random() >= DISSOLVE_RATE:
                continue
            on = self.day(org.formed_on + timedelta(days=10), date(2016, 11, 15))
            org.dissolved_on = on
            for k in org.entities:
                self.covered.pop(k, None)
            self.add(on, "formation", "organizations dissolved", Command(
                "formation", org.department, "POST", f"/organizations/@{org.key}/dissolve",
                self.key(f"dissolve-{org.key}"), body={"reason": "企业停产歇业，党员流失，撤销党组织",
                                                      "dissolved_on": on.isoformat()},
                facts=(fact("org_dissolved", [org.key]),)))

    # -- members ------------------------------------------------------------------------------------------
    def members_in_organizations(self) -> None:
        """亮出: hidden members register with the organization where they work; 发展 in some organizations;
        some developed members are transferred to another organization (a few sent twice at once)."""
        orgs = [o for o in self.orgs.values() if o.mode != "functional"]
        for member in list(self.campaign.members):
            org_key = self.covered.get(member.entity_key)
            if org_key is None or self.rng.random() >= REVEAL_RATE:
                continue
            org = self.orgs[org_key]
            first = max(org.formed_on, self.campaign.added_on[member.key]) + timedelta(days=1)
            last = min(date(2016, 12, 20), self.campaign.left_on.get(member.key, date(2016, 12, 31)) - timedelta(days=1))
            if first > last:
                continue
            on = self.day(first, last)
            entity = self.campaign.entity(member.entity_key)
            self.add(on, "transfers", "members revealed (亮出)", Command(
                "membership", member_department(entity), "POST", f"/members/@{member.key}/reveal",
                self.key(f"reveal-{member.key}"), body={"organization_id": f"@{org_key}"}, retry_statuses=(422,),
                facts=(fact("member_revealed", [member.key], organization=org_key),)))
        stable = [o for o in orgs if o.dissolved_on is None]
        developed = []
        for org in stable:
            if self.rng.random() >= DEVELOP_RATE:
                continue
            entity = self.campaign.entity(org.entities[0])
            on = self.day(max(org.formed_on + timedelta(days=5), date(2016, 10, 1)), date(2016, 12, 10))
            member = self.factory.new(entity.key, "probationary", "developed", admitted_on=on)
            self.campaign.members.append(member)
            self.campaign.added_on[member.key] = on
            body = {"name": member.name, "id_number": member.id_number, "admitted_on": on.isoformat(),
                    "entity_id": f"@{entity.key}", "organization_id": f"@{org.key}"}
            self.add(on, "member_growth", "members developed (发展)", Command(
                "membership", member_department(entity), "POST", "/members/developed", self.key(f"develop-{member.key}"),
                body=body, produces=member.key, id_field="member_id", retry_statuses=(422,),
                facts=(fact("member_added", [member.key, entity.key], standing="probationary", way="developed",
                            organization=org.key),)))
            developed.append((member, org, on))
        for n, (member, org, on) in enumerate(developed):
            if self.rng.random() >= TRANSFER_RATE:
                continue
            across = self.rng.random() < ACROSS_RATE
            targets = [o for o in stable if o.key != org.key and (o.district != org.district) == across]
            if not targets:
                continue
            target = targets[self.rng.randrange(len(targets))]
            day = self.day(max(on, target.formed_on) + timedelta(days=3), date(2016, 12, 22))
            self.move(member, org, target, day, workplace=self.rng.random() < WORKPLACE_RATE, twins=2 if n % 4 == 0 else 1)

    def move(self, member, org: Org, target: Org, day: date, workplace: bool, twins: int) -> None:
        """组织关系转接 (or a change of workplace) to ``target``'s first entity: one command within the source
        department's territory; otherwise the source releases and the target accepts two days later, each with
        its own token. ``twins``: a lost answer retried while the first is still in flight."""
        to_entity = target.entities[0]
        source = member_department(self.campaign.entity(member.entity_key))
        receiver = member_department(self.campaign.entity(to_entity))
        if workplace:
            done = fact("member_workplace_changed", [member.key], to_entity=to_entity)
            body = {"to_entity_id": f"@{to_entity}"}
        else:
            done = fact("member_transferred", [member.key], to_entity=to_entity, to_organization=target.key)
            body = {"from_organization_id": f"@{org.key}", "to_organization_id": f"@{target.key}",
                    "to_entity_id": f"@{to_entity}"}
        label = "changes of workplace" if workplace else "members transferred (组织关系转接)"
        if source in ("city_org", receiver):
            path, body = ("workplace", {"entity_id": body["to_entity_id"]}) if workplace else ("transfer", body)
            command = Command("membership", source, "POST", f"/members/@{member.key}/{path}",
                              self.key(f"{path}-{member.key}"), body=body, facts=(done,))
            self.add(day, "transfers", label, *([command] * twins))
            return
        release = f"R-{member.key}"
        self.add(day, "transfers", f"{label}: released by the source (转出)", Command(
            "membership", source, "POST", f"/members/@{member.key}/release", self.key(f"release-{member.key}"),
            body=body, produces=release, id_field="release_id"))
        accept = Command("membership", receiver, "POST", f"/members/@{member.key}/accept",
                         self.key(f"accept-{member.key}"), body={"release_id": f"@{release}"}, facts=(done,))
        self.add(day + timedelta(days=2), "transfers", f"{label}: accepted by the target (转入)", *([accept] * twins))

    # -- work coverage ------------------------------------------------------------------------------------
    def assign(self, on: date, department: str, role: str, label: str, entities: list, organizations: list,
               tag: str) -> None:
        """An instructor or first secretary (R6); its end is decided in ``assignment_ends``."""
        self.assignments += 1
        akey = f"A{self.assignments:06d}"
        keys = list(dict.fromkeys([*(e.key for e in entities), *(k for o in organizations for k in o.entities)]))
        self.add(on, "work_coverage", label, Command(
            "formation", department, "POST", "/work-coverage/instructors", self.key(tag),
            body={"name": names.person(self.rng), "role": role, "entity_ids": [f"@{e.key}" for e in entities],
                  "organization_ids": [f"@{o.key}" for o in organizations], "assigned_on": on.isoformat()},
            produces=akey, id_field="id", retry_statuses=(422,), retry_rules=("registry",),
            facts=(fact("work_assigned", keys, source=akey),)))
        self.assigned.append((akey, department, on, keys))

    def work_coverage(self) -> None:
        """The four ways (R6) for entities left without an organization: instructors / first secretaries (grouped
        per street), mass organizations (工青妇), investors' education (统战, 工商联) and joint member development."""
        uncovered = [e for e in self.entities if e.key not in self.covered]
        by_street: dict[tuple[str, str], list] = defaultdict(list)
        for entity in uncovered:
            if self.rng.random() < INSTRUCTOR_RATE:
                by_street[(self.department(entity), entity.street_code)].append(entity)
        for (department, _), group in sorted(by_street.items()):
            for start in range(0, len(group), 4):
                chunk = group[start:start + 4]
                first = max(max(self.campaign.ready_on[e.key] for e in chunk), date(2016, 10, 10))
                role = "first_secretary" if all(e.kind == "rural_entity" for e in chunk) else "instructor"
                self.assign(self.day(first, FORMATION_DUE), department, role,
                            "instructors and first secretaries assigned", chunk, [], f"instructor-{chunk[0].key}")
        for entity in self.entities:
            base = MASS_ORG_RATE if entity.key not in self.covered else 0.03
            if entity.employees < 20 or self.rng.random() >= base:
                continue
            kind = self.rng.choice(sorted(MASS_KINDS))
            on = self.day(max(self.campaign.ready_on[entity.key], date(2016, 9, 20)), FORMATION_DUE)
            self.add(on, "work_coverage", "mass organizations formed (工青妇)", Command(
                "formation", "mass_org", "POST", "/work-coverage/mass-organizations", self.key(f"mass-{entity.key}"),
                body={"entity_id": f"@{entity.key}", "kind": kind, "name": f"{entity.name}{MASS_KINDS[kind]}",
                      "formed_on": on.isoformat()}, retry_statuses=(422,), retry_rules=("registry",),
                facts=(fact("work_assigned", [entity.key]),)))
        self.investor_education(uncovered)
        self.joint_member_development(uncovered)

    def investor_education(self, uncovered: list) -> None:
        """出资人教育引导: 统战 and 工商联 hold talks for the investors of a street's enterprises and social organizations."""
        by_street: dict[str, list] = defaultdict(list)
        for entity in uncovered:
            if entity.kind in ("non_public_enterprise", "social_organization") and self.rng.random() < EDUCATION_RATE:
                by_street[entity.street_code].append(entity)
        for n, (street, group) in enumerate(sorted(by_street.items())):
            for start in range(0, len(group), 6):
                chunk = group[start:start + 6]
                on = self.day(max(max(self.campaign.ready_on[e.key] for e in chunk), date(2016, 9, 20)), FORMATION_DUE)
                source = f"education-{chunk[0].key}"
                self.add(on, "work_coverage", "investors' education (出资人教育引导)", Command(
                    "formation", ("united_front", "federation_commerce")[n % 2], "POST",
                    "/work-coverage/investor-education", self.key(source),
                    body={"entity_ids": [f"@{e.key}" for e in chunk], "held_on": on.isoformat(),
                          "topic": self.rng.choice(EDUCATION_TOPICS)}, retry_statuses=(422,), retry_rules=("registry",),
                    facts=(fact("work_assigned", [e.key for e in chunk], source=source),)))

    def joint_member_development(self, uncovered: list) -> None:
        """联合发展党员: a street's comprehensive Party committee develops members for entities that have none."""
        by_street: dict[tuple[str, str], list] = defaultdict(list)
        for entity in uncovered:
            if entity.formal_members == 0 and self.rng.random() < JOINT_DEVELOPMENT_RATE:
                by_street[(self.department(entity), entity.street_code)].append(entity)
        territory = self.campaign.territory
        for (department, street_code), group in sorted(by_street.items()):
            street = territory.street(street_code)
            for start in range(0, len(group), 3):
                chunk = group[start:start + 3]
                on = self.day(max(max(self.campaign.ready_on[e.key] for e in chunk), date(2016, 9, 25)), FORMATION_DUE)
                source = f"jointdev-{chunk[0].key}"
                self.add(on, "work_coverage", "joint member development (联合发展党员)", Command(
                    "formation", department, "POST", "/work-coverage/joint-member-development", self.key(source),
                    body={"entity_ids": [f"@{e.key}" for e in chunk], "started_on": on.isoformat(),
                          "organization_name": f"中共{street.name if street else street_code}综合委员会"},
                    retry_statuses=(422,), retry_rules=("registry",),
                    facts=(fact("work_assigned", [e.key for e in chunk], source=source),)))

    def guidance(self) -> None:
        """一对一/一对多: most new organizations get a first secretary or instructor, some one for several; organizations
        that are restructured or dissolved are left out (their entities change)."""
        stable = [o for o in self.orgs.values() if o.dissolved_on is None and not o.restructured and o.entities
                  and self.rng.random() < GUIDANCE_RATE]
        by_department: dict[str, list[Org]] = defaultdict(list)
        for org in stable:
            by_department[org.department].append(org)
        for department, orgs in sorted(by_department.items()):
            orgs.sort(key=lambda o: (o.formed_on, o.key))
            start = 0
            while start < len(orgs):
                size = 1 if self.rng.random() < 0.7 else 3
                group = orgs[start:start + size]
                start += size
                first = max(o.formed_on for o in group) + timedelta(days=self.rng.randint(2, 20))
                role = self.rng.choice(("first_secretary", "instructor"))
                self.assign(min(first, FORMATION_DUE), department, role,
                            "new organizations get a first secretary or instructor (一对一/一对多)", [], group,
                            f"guidance-{group[0].key}")

    def assignment_ends(self) -> None:
        """Some assignments end (调离、任期届满): from then they work-cover nothing (R6)."""
        for akey, department, on, keys in self.assigned:
            if self.rng.random() >= ASSIGNMENT_END_RATE or on > date(2016, 12, 10):
                continue
            ended = self.day(on + timedelta(days=7), date(2016, 12, 20))
            self.add(ended, "work_coverage", "assignments end (调离)", Command(
                "formation", department, "POST", f"/work-coverage/instructors/@{akey}/end", self.key(f"end-{akey}"),
                body={"reason": self.rng.choice(("调离原单位", "任期届满", "工作调整")), "ended_on": ended.isoformat()},
                facts=(fact("work_ended", keys, source=akey),)))

    # -- checks -------------------------------------------------------------------------------------------
    def checker(self, org: Org) -> str:
        """R12 归口分级: a city-level social organization's check is the city organization department's with civil
        affairs (no supervising unit) or the city organs' working committee (with one); everything else is its
        district's."""
        city_level = [e for e in (self.campaign.entity(k) for k in org.entities)
                      if e.kind == "social_organization" and e.level == "city"]
        if city_level:
            if self.rng.random() < 0.3:
                return "city_org"
            return "city_organs_committee" if city_level[0].supervising_department else "civil_affairs"
        return f"district_org:{org.district}"

    def check(self, org: Org, on: date, passed: bool, kind: str, phase: str, label: str, tag: str,
              user: str | None = None, minute: int | None = None) -> None:
        body = {"passed": passed, "findings": [] if passed else [self.rng.choice(FINDINGS)],
                "checked_on": on.isoformat(), "check_kind": kind}
        self.add(on, phase, label, Command(
            "formation", self.checker(org), "POST", f"/organizations/@{org.key}/checks",
            self.key(f"{tag}-{org.key}"), body=body, facts=(fact("org_checked", [org.key], passed=passed),),
            user=user, minute=minute))

    def held_out_of_baseline(self, active: list[Org]) -> set[str]:
        """A few enterprises with their own organization are flagged as zombies by mistake on 11-10 and cleared on
        11-28: checked while out of the baseline, their task stays ``checked`` (R9) and is closed by hand."""
        picked = set()
        for org in active:
            entity = self.campaign.entity(org.entities[0])
            if len(picked) >= max(1, len(active) // 300) or org.mode != "standalone" \
                    or entity.kind != "non_public_enterprise" or org.formed_on > date(2016, 11, 1) \
                    or self.rng.random() >= 0.1:
                continue
            picked.add(org.key)
            self.add(date(2016, 11, 10), "verification", "market regulation flags an operating enterprise by mistake",
                     Command("registry", "market_regulation", "POST", f"/entities/@{entity.key}/flags",
                             self.key(f"misflag-{entity.key}"), body={"flag": "zombie", "reason": "疑似久不运转：未按期年报"},
                             facts=(fact("flagged", [entity.key], flag="zombie"),)))
            self.plan.add(Step(date(2016, 11, 20), "verification", resolve=(f"out_of_baseline:{entity.key}",),
                               label="formation's board no longer lists the flagged enterprise"))
            self.add(date(2016, 11, 28), "verification", "the mistaken flag is cleared", Command(
                "registry", "market_regulation", "POST", f"/entities/@{entity.key}/flags/zombie/clear",
                self.key(f"unflag-{entity.key}"), body={"reason": "经核实已补报年报，正常经营"},
                facts=(fact("flag_cleared", [entity.key], flag="zombie"),)))
        return picked

    def checks(self) -> None:
        """检查验收 11-21..12-05 (failures re-checked), the city's spot check inside that window, 回头看 12-06..12-30,
        each by the department R12 names."""
        active = [o for o in self.orgs.values() if o.dissolved_on is None and o.entities]
        held = self.held_out_of_baseline(active)
        cheat, rushes = self.plan.cheating, {}
        for org in active:
            on = self.day(ACCEPTANCE_FROM, date(2016, 12, 1))
            if org.key in held:
                self.check(org, self.day(ACCEPTANCE_FROM, date(2016, 11, 25)), True, "acceptance", "acceptance",
                           "acceptance checks (检查验收)", "check")
                entity_key = org.entities[0]
                self.add(date(2016, 11, 29), "acceptance", "checked tasks closed once back in the baseline (销号)", Command(
                    "formation", self.checker(org), "POST", f"/tasks/@{entity_key}/close", self.key(f"close-{entity_key}"),
                    retry_statuses=(422,), retry_rules=("R1",)))
            # a cheating district's checks never fail (the rng is drawn all the same: honest districts keep theirs)
            elif self.rng.random() < CHECK_FAIL_RATE and not (cheat and cheat.cheats(org.district)):
                self.check(org, on, False, "acceptance", "acceptance", "acceptance checks (failed)", "check")
                again = self.day(on + timedelta(days=2), ACCEPTANCE_TO)
                self.check(org, again, True, "acceptance", "acceptance", "acceptance re-checks", "recheck")
            elif cheat and cheating.rushed(cheat, org, True, rushes):
                self.check(org, cheating.RUSH_DAY, True, "acceptance", "acceptance", "acceptance checks (检查验收)",
                           "check", user=cheating.RUSH_CHECKER, minute=(rushes[org.district] - 1) * cheating.RUSH_MINUTES)
            else:
                self.check(org, on, True, "acceptance", "acceptance", "acceptance checks (检查验收)", "check")
        seed = f"sim-spot-check-{self.plan.seed}-{self.plan.run_tag}"
        districts = sorted({d.code for d in self.campaign.territory.districts})
        body = {"per_district": 2, "districts": districts, "seed": seed}
        self.plan.spot_check_seed = seed
        self.add(SPOT_CHECK_ON, "spot_checks", "the city draws spot checks (随机抽查)", Command(
            "formation", "city_org", "POST", "/spot-checks", self.key("spot-check"), body=body, produces="S000001",
            id_field="id", fallback_body={k: v for k, v in body.items() if k != "seed"}, fallback_rule="R12"))
        self.plan.add(Step(SPOT_RESULTS_ON, "spot_checks", resolve=("spot_check_results:S000001",),
                           label="spot check results recorded"))
        for org in active:
            if self.rng.random() >= LOOK_BACK_RATE:
                continue
            on = self.day(date(2016, 12, 12), date(2016, 12, 24))
            if self.rng.random() < 0.15:
                self.check(org, on, False, "look_back", "look_back", "look-back (failed)", "lookback")
                if self.rng.random() < 0.6:  # the rest are still being rectified when the campaign ends
                    self.check(org, self.day(on + timedelta(days=2), LOOK_BACK_TO), True, "look_back", "look_back",
                               "look-back re-checks", "lookback-again")
            else:
                self.check(org, on, True, "look_back", "look_back", "look-back (回头看)", "lookback")


def summary(campaign) -> Counter:
    """How many commands of each formation kind the plan holds (for the CLI and the tests)."""
    return Counter(c.path.split("/")[1] + ":" + c.path.rsplit("/", 1)[-1] for s in campaign.plan.steps
                   for c in s.commands if c.service == "formation")
