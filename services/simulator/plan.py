"""The campaign, decided in advance from one seed: every command with its business date (pure).

Phases follow the plan (docs/rules.md)'s schedule (R10): survey and ledgers by 08-26,
verification of enterprise counts, members found, supplementary ledgers,
formation and work coverage by 11-20, acceptance checks 11-21..12-05, spot
checks, look-back 12-06..12-30, semi-monthly reports on the 10th and 25th and
the bulletins the day after (reporting_plan.py; only on a simulated campaign clock).
Phases whose service has no API yet are left out by name (``Plan.left_out``).
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from platform_core.reference import Territory, load_calendar

from . import forms
from .cheating import Cheating, plant_jumps, plant_shadows
from .commands import Command, Plan, Step, Upload, fact
from .formation_plan import plan_formation
from .members import found_command, member_department
from .people import CAMPAIGN_END, Member, MemberFactory
from .reporting_plan import plan_reporting
from .setup_plan import plan_setup
from .world import Entity, generate_entities

IMPORT_ROWS = 2500  # rows per file: well under the 1 MiB request limit
SURVEY_DUE = date(2016, 8, 26)
RETURN_RATE = 0.2  # ledgers sent back once with reasons
FLAG_CLEAR_RATE = 0.1  # zombies that turn out to be operating again
LEAVE_RATE = 0.004
REAL_CLOCK_LEFT_OUT = ("the platform runs on the real clock: reporting judges timeliness (R11) and as-of figures "
                       "by the time an event is recorded, so a campaign played in minutes would make every report "
                       "late and every bulletin show the end of the run (start it with CAMPAIGN_SIMULATED_CLOCK=true)")
RETURN_REASONS = ("部分企业职工人数与社保缴费人数不符，请核实后重报", "未建党组织原因填写不完整（六个清楚）",
                  "个别企业所属街道填写有误")


@dataclass
class Campaign:
    """Everything the plan decided: the entities, the members, and the commands."""

    territory: Territory
    entities: list[Entity]
    members: list[Member] = field(default_factory=list)
    added_on: dict[str, date] = field(default_factory=dict)  # member key -> business date registered
    confirmed_on: dict[str, date] = field(default_factory=dict)  # member key -> 转正 date
    left_on: dict[str, date] = field(default_factory=dict)  # member key -> date left
    ready_on: dict[str, date] = field(default_factory=dict)  # entity key -> its members are registered by then
    plan: Plan | None = None

    def entity(self, key: str) -> Entity:
        return self.entities[int(key[1:])]


def department_of(entity: Entity) -> str:
    """Who registers, surveys and manages members of the entity (registry policy)."""
    if entity.kind == "social_organization" and entity.level == "city":
        return "civil_affairs"
    return f"district_org:{entity.district_code}"


def build_campaign(seed: int, entities: int, territory: Territory, run_tag: str,
                   available: frozenset[str] = frozenset({"registry", "membership"}),
                   simulated_clock: bool = True, cheat_districts: tuple[str, ...] = ()) -> Campaign:
    """The campaign for a seed; ``cheat_districts`` plant the cheating patterns there (cheating.py)."""
    rng = random.Random(seed)
    campaign = Campaign(territory, generate_entities(rng, territory, entities, run_tag))
    plan = Plan(seed, run_tag)
    campaign.plan = plan
    if cheat_districts:
        plan.cheating = Cheating(tuple(cheat_districts), seed)
        campaign.entities = plant_shadows(plan.cheating, campaign.entities)
    key = _keys(run_tag)
    _survey(rng, campaign, plan, key)
    _verification(rng, campaign, plan, key)
    factory = MemberFactory(rng, run_tag)
    _members_found(rng, campaign, plan, key, factory)
    _supplements(rng, campaign, plan, key, factory)
    _member_growth(rng, campaign, plan, key, factory)
    if "formation" in available:
        plan_formation(rng, campaign, plan, key, factory)
        plan_setup(random.Random(f"{seed}-setup"), {d.code: d.name for d in territory.districts}, load_calendar(), plan,
                   key)
    for phase, service in (("setup", "formation"), ("formation", "formation"), ("work_coverage", "formation"), ("transfers", "formation"),
                           ("acceptance", "formation"), ("spot_checks", "formation"), ("look_back", "formation"),
                           ("reports", "reporting"), ("bulletins", "reporting")):
        if service not in available:
            plan.left_out[phase] = f"the {service} service's API is not available"
        elif service == "reporting" and not simulated_clock:
            plan.left_out[phase] = REAL_CLOCK_LEFT_OUT
    if "reporting" in available and simulated_clock:
        plan_reporting(rng, [d.code for d in territory.districts], plan, key)
        if plan.cheating is not None:
            plant_jumps(plan.cheating, plan, campaign.entities)
    return campaign


def _keys(run_tag: str):
    counter = iter(range(10**9))
    return lambda name: f"sim-{run_tag}-{next(counter)}-{name}"


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


# -- survey and ledgers (registry) -------------------------------------------------------------------------
def _survey(rng: random.Random, campaign: Campaign, plan: Plan, key) -> None:
    """Each district imports its 附表1/附表2 and submits its ledgers; civil affairs the city-level 附表2."""
    surveyed = [e for e in campaign.entities if not e.late_found]
    files: dict[tuple[str, str], list[Entity]] = defaultdict(list)
    for entity in surveyed:
        form = "form2" if entity.kind == "social_organization" else "form1"
        files[(department_of(entity), form)].append(entity)
    for (department, form), members in sorted(files.items()):
        on = _day(rng, date(2016, 8, 17), date(2016, 8, 22))
        for part in range(0, len(members), IMPORT_ROWS):
            chunk = members[part:part + IMPORT_ROWS]
            name = f"{form}-{department.replace(':', '-')}-{part // IMPORT_ROWS + 1}.csv"
            plan.add(Step(on, "survey", (Command(
                "registry", department, "POST", f"/imports/{form}", key(name), upload=Upload("file", name, forms.form_csv(form, chunk)),
                facts=(fact("registered", [e.key for e in chunk]),)),), label=f"survey {name}"))
    plan.add(Step(date(2016, 8, 22), "survey", resolve=("entities",), label="survey: look up entity ids"))
    units: dict[str, list[Entity]] = defaultdict(list)
    for entity in surveyed:
        units[entity.ledger_unit].append(entity)
    for unit, members in sorted(units.items()):
        _ledger_round(rng, plan, key, unit, [e.key for e in members], _submitter(members[0]),
                      _day(rng, date(2016, 8, 23), SURVEY_DUE) if rng.random() < 0.9 else date(2016, 8, 29),
                      rng.random() < RETURN_RATE)


def _submitter(entity: Entity) -> str:
    unit = entity.ledger_unit
    if unit.startswith("district-"):
        return f"district_org:{entity.district_code}"
    return "civil_affairs" if unit == "civil-affairs" else "city_organs_committee"


def _ledger_round(rng, plan: Plan, key, unit: str, keys: list[str], submitter: str, on: date, returned: bool) -> None:
    """Submit; perhaps returned with reasons and resubmitted; approved by the city task force (R1)."""
    submit = Command("registry", submitter, "POST", f"/ledgers/{unit}/submit", key(f"submit-{unit}"),
                     on_conflict="approve_pending")
    plan.add(Step(on, "ledgers", (submit,), label=f"ledger {unit} submitted"))
    if returned:
        plan.add(Step(on + timedelta(days=1), "ledgers", (Command(
            "registry", "city_org", "POST", f"/ledgers/{unit}/return", key(f"return-{unit}"),
            body={"reasons": [rng.choice(RETURN_REASONS)]}),), label=f"ledger {unit} returned"))
        on += timedelta(days=2)
        plan.add(Step(on, "ledgers", (Command("registry", submitter, "POST", f"/ledgers/{unit}/submit",
                                              key(f"resubmit-{unit}"), on_conflict="approve_pending"),),
                      label=f"ledger {unit} resubmitted"))
    plan.add(Step(on + timedelta(days=rng.randint(1, 4)), "ledgers", (Command(
        "registry", "city_org", "POST", f"/ledgers/{unit}/approve", key(f"approve-{unit}"),
        facts=(fact("ledger_approved", keys, unit=unit),)),), label=f"ledger {unit} approved"))


def _verification(rng: random.Random, campaign: Campaign, plan: Plan, key) -> None:
    """Market regulation flags shell, zombie and shadow enterprises (三(二)); a few zombies are cleared later."""
    by_day: dict[date, list[Command]] = defaultdict(list)
    reasons = {"shell": "有名无实：无实际经营场所和职工", "zombie": "久不运转：连续两年未年报、无经营活动",
               "shadow": "多重注册：与已登记企业名称、地址、法定代表人相同"}
    for entity in campaign.entities:
        if entity.flag is None:
            continue
        on = _day(rng, date(2016, 8, 27), date(2016, 9, 12))
        body = {"flag": entity.flag, "reason": reasons[entity.flag]}
        if entity.duplicate_of:
            body["duplicate_of"] = f"@{entity.duplicate_of}"
        by_day[on].append(Command("registry", "market_regulation", "POST", f"/entities/@{entity.key}/flags",
                                  key(f"flag-{entity.key}"), body=body,
                                  facts=(fact("flagged", [entity.key], flag=entity.flag),)))
        if entity.flag == "zombie" and rng.random() < FLAG_CLEAR_RATE:
            by_day[_day(rng, date(2016, 10, 8), date(2016, 10, 28))].append(Command(
                "registry", "market_regulation", "POST", f"/entities/@{entity.key}/flags/zombie/clear",
                key(f"clear-{entity.key}"), body={"reason": "经核实已恢复正常经营"},
                facts=(fact("flag_cleared", [entity.key], flag="zombie"),)))
    for on, commands in sorted(by_day.items()):
        plan.add(Step(on, "verification", tuple(commands), label="market regulation verifies enterprises"))


# -- members (membership) ------------------------------------------------------------------------------------
def _members_found(rng: random.Random, campaign: Campaign, plan: Plan, key, factory: MemberFactory) -> None:
    """排查一批: the members each survey found (formal and probationary), hidden until an organization exists."""
    by_day: dict[date, list[Command]] = defaultdict(list)
    for entity in campaign.entities:
        if entity.flag == "shadow" or entity.late_found:
            continue  # a shadow's members are the original's; late-found entities come with their supplement
        on = _day(rng, date(2016, 8, 27), date(2016, 9, 15))
        campaign.ready_on[entity.key] = on + timedelta(days=1)
        by_day[on].extend(_found_for(entity, factory, campaign, key, on))
    for on, commands in sorted(by_day.items()):
        plan.add(Step(on, "members", tuple(commands), label="members found (排查)"))


def _found_for(entity: Entity, factory: MemberFactory, campaign: Campaign, key, on: date) -> list[Command]:
    commands = []
    for standing, count in (("formal", entity.formal_members), ("probationary", entity.probationary_members)):
        for _ in range(count):
            member = factory.new(entity.key, standing, "found")
            campaign.members.append(member)
            campaign.added_on[member.key] = on
            commands.append(found_command(member, entity, key))
    return commands


def _supplements(rng: random.Random, campaign: Campaign, plan: Plan, key, factory: MemberFactory) -> None:
    """Entities found after the survey: registered one by one, then a supplementary ledger (补报)."""
    late = [e for e in campaign.entities if e.late_found]
    units: dict[str, list[Entity]] = defaultdict(list)
    for entity in late:
        on = _day(rng, date(2016, 9, 5), date(2016, 10, 14))
        plan.add(Step(on, "supplements", (Command(
            "registry", department_of(entity), "POST", "/entities", key(f"register-{entity.key}"), body=entity.facts(),
            produces=entity.key, id_field="entity_id", facts=(fact("registered", [entity.key]),)),),
            label="entities found after the survey"))
        campaign.ready_on[entity.key] = on + timedelta(days=4)
        found = _found_for(entity, factory, campaign, key, on + timedelta(days=3))
        if found:
            plan.add(Step(on + timedelta(days=3), "members", tuple(found), label="members found (排查)"))
        units[entity.ledger_unit].append(entity)
    for unit, members in sorted(units.items()):
        _ledger_round(rng, plan, key, unit, [e.key for e in members], _submitter(members[0]),
                      date(2016, 10, 17), returned=False)


def _member_growth(rng: random.Random, campaign: Campaign, plan: Plan, key, factory: MemberFactory) -> None:
    """招聘一批 at the job fairs, 转正 on anniversaries, and the few who leave."""
    operating = [e for e in campaign.entities if e.flag is None]
    for fair in (date(2016, 9, 20), date(2016, 10, 20)):
        ready = [e for e in operating if campaign.ready_on.get(e.key, date.max) <= fair]  # registered by then
        wanted = [e for e in ready if (e.kind == "non_public_enterprise" and e.employees >= 50
                                           and e.formal_members == 0) or (0 < e.formal_members < 3 and rng.random() < 0.05)]
        picked = [e for e in wanted if rng.random() < 0.35]
        commands = []
        for entity in picked:
            member = factory.new(entity.key, "formal", "recruited")
            campaign.members.append(member)
            campaign.added_on[member.key] = fair
            commands.append(found_command(member, entity, key))
        plan.add(Step(fair, "member_growth", tuple(commands), label="members recruited at the job fair (招聘)"))
    by_day: dict[date, list[Command]] = defaultdict(list)
    confirmed = set()
    for member in list(campaign.members):
        if member.standing == "probationary" and member.anniversary <= CAMPAIGN_END:
            confirmed.add(member.key)
            campaign.confirmed_on[member.key] = max(member.anniversary, campaign.added_on[member.key] + timedelta(days=1))
            by_day[max(member.anniversary, campaign.added_on[member.key] + timedelta(days=1))].append(Command(
                "membership", member_department(campaign.entity(member.entity_key)), "POST",
                f"/members/@{member.key}/confirm", key(f"confirm-{member.key}"),
                facts=(fact("member_confirmed", [member.key]),)))
    for member in list(campaign.members):
        if rng.random() < LEAVE_RATE and member.key not in confirmed:
            reason = rng.choice(("death", "left", "expulsion"))
            start = max(date(2016, 10, 20), campaign.added_on[member.key] + timedelta(days=1))
            campaign.left_on[member.key] = _day(rng, start, date(2016, 12, 20))
            by_day[campaign.left_on[member.key]].append(Command(
                "membership", member_department(campaign.entity(member.entity_key)), "POST",
                f"/members/@{member.key}/leave", key(f"leave-{member.key}"), body={"reason": reason},
                facts=(fact("member_left", [member.key]),)))
    for on, commands in sorted(by_day.items()):
        plan.add(Step(on, "member_growth", tuple(commands), label="members confirmed or leaving"))
