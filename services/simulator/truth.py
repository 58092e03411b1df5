"""The ground truth: what the simulator did (facts of the commands that succeeded), and the figures
the platform should therefore show (pure).

Written apart from the platform's code, from the plan's rules (docs/rules.md):

Baseline (R1): registered, listed by an approved ledger, and not flagged.
Members (R5, R13): each active member once, in the district of the entity
where they work, with their current standing. An entity's formal members are the
members' count once any member command named the entity (0 included: transferred out,
left), else the survey's figure.
Coverage (R6, R7): an entity is organization-covered by any active organization,
standalone, joint or functional (R5: a functional organization establishes the entity's
organization; only its members' statistics stay with their primary registration), or,
until an organization is formed for it, by the organization its survey declared;
work-covered when it has no such organization but an open source of work coverage (an
instructor or first secretary whose assignment has not ended, a mass organization, investors'
education, joint member development); closed (R9) when its covering organization's latest check passed.
The required set (R2): 100+ employees in an enterprise, every city-level social
organization, schools and hospitals with 30+ staff, law/accounting/tax firms, and any
entity with 3+ formal members. R3: 3+ formal members and no standalone organization.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .commands import Fact
from .reporting_plan import REPORT_FIGURES
from .world import Entity


@dataclass
class GroundTruth:
    entities: dict[str, Entity]
    registered: set[str] = field(default_factory=set)
    approved: dict[str, str] = field(default_factory=dict)  # entity key -> ledger unit
    flags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    members: dict[str, dict] = field(default_factory=dict)  # member key -> entity, standing, active, way
    organizations: dict[str, dict] = field(default_factory=dict)  # org key -> mode, entities, active
    member_named: set[str] = field(default_factory=set)  # entities a member command named (R13)
    formation_named: set[str] = field(default_factory=set)  # entities an organization was formed for
    # entity -> its open sources of work coverage (R6: assignments, mass organizations, investors' education,
    # joint member development); an ended assignment is removed
    work_sources: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    as_of: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # deadline -> unit -> report figures
    reports: list[dict] = field(default_factory=list)  # the reports sent (unit, deadline, behaviour, figures)
    zones: dict[str, str] = field(default_factory=dict)  # zone key -> its district (setup milestones, R10b)
    milestones: dict[tuple[str, str | None, str], str] = field(default_factory=dict)  # (district, zone, key) -> done
    facts: int = 0

    def apply(self, item: Fact) -> None:
        self.facts += 1
        handler = getattr(self, f"_on_{item.kind}")
        handler(item)

    def _on_registered(self, item: Fact) -> None:
        self.registered.update(item.keys)

    def _on_ledger_approved(self, item: Fact) -> None:
        for key in item.keys:
            self.approved.setdefault(key, item.get("unit"))

    def _on_flagged(self, item: Fact) -> None:
        self.flags[item.keys[0]].add(item.get("flag"))

    def _on_flag_cleared(self, item: Fact) -> None:
        self.flags[item.keys[0]].discard(item.get("flag"))

    def _on_member_added(self, item: Fact) -> None:
        member, entity = item.keys
        self.members[member] = {"entity": entity, "standing": item.get("standing"), "active": True,
                                "way": item.get("way"), "organization": item.get("organization")}
        self.member_named.add(entity)

    def _on_member_confirmed(self, item: Fact) -> None:
        self.members[item.keys[0]]["standing"] = "formal"

    def _on_member_left(self, item: Fact) -> None:
        self.members[item.keys[0]]["active"] = False
        self.member_named.add(self.members[item.keys[0]]["entity"])

    def _on_member_transferred(self, item: Fact) -> None:
        member = self.members[item.keys[0]]
        self.member_named.update((member["entity"], item.get("to_entity")))
        member.update(entity=item.get("to_entity"), organization=item.get("to_organization"))

    def _on_member_workplace_changed(self, item: Fact) -> None:  # counted where they work; registration stays
        member = self.members[item.keys[0]]
        self.member_named.update((member["entity"], item.get("to_entity")))
        member["entity"] = item.get("to_entity")

    def _on_member_revealed(self, item: Fact) -> None:
        self.members[item.keys[0]]["organization"] = item.get("organization")

    def _on_org_formed(self, item: Fact) -> None:
        org, *entities = item.keys
        self.organizations[org] = {"mode": item.get("mode"), "entities": list(entities), "active": True,
                                   "checked": None}
        self.formation_named.update(entities)

    def _on_org_restructured(self, item: Fact) -> None:
        old, entity, new = item.keys
        self.organizations[old]["entities"].remove(entity)
        self.organizations[new] = {"mode": "standalone", "entities": [entity], "active": True, "checked": None}
        self.formation_named.add(entity)

    def _on_org_dissolved(self, item: Fact) -> None:
        self.organizations[item.keys[0]].update(active=False, checked=None)

    def _on_org_checked(self, item: Fact) -> None:
        self.organizations[item.keys[0]]["checked"] = item.get("passed")

    def _on_work_assigned(self, item: Fact) -> None:
        source = item.get("source") or f"fact-{self.facts}"  # a source nothing ends: unique per fact
        for key in item.keys:
            self.work_sources[key].add(source)

    def _on_work_ended(self, item: Fact) -> None:
        for key in item.keys:
            self.work_sources[key].discard(item.get("source"))

    @property
    def work_covered(self) -> set[str]:
        """Entities with some open source of work coverage (R6)."""
        return {key for key, sources in self.work_sources.items() if sources}

    def _on_report_submitted(self, item: Fact) -> None:
        self.reports.append({"unit": item.keys[0], "deadline": item.get("deadline"), "behaviour": item.get("behaviour"),
                             "submitted_on": item.get("submitted_on"), "figures": dict(item.get("figures"))})

    def _on_zone_declared(self, item: Fact) -> None:
        self.zones[item.get("zone")] = item.keys[0]

    def _on_milestone_recorded(self, item: Fact) -> None:
        self.milestones[(item.keys[0], item.get("zone"), item.get("milestone"))] = item.get("done_on")

    def milestone_states(self, due: dict[str, tuple[str, str]], on: str) -> dict[tuple[str, str | None, str], str]:
        """R10b on the day ``on`` (ISO) for every district that recorded something and each zone it declared:
        done by the due day (ISO dates compare as strings) on time, after it late, not done and past due missing.
        ``due``: milestone key -> (scope, due day)."""
        districts = {district for district, _, _ in self.milestones} | set(self.zones.values())
        scopes = [(d, None) for d in districts] + [(d, z) for z, d in self.zones.items()]
        states = {}
        for district, zone in scopes:
            for key, (scope, day) in due.items():
                if (scope == "zone") != (zone is not None):
                    continue
                done = self.milestones.get((district, zone, key))
                if done is not None and done <= on:
                    states[(district, zone, key)] = "on_time" if done <= day else "late"
                else:
                    states[(district, zone, key)] = "missing" if on > day else "not_due"
        return states

    def record_as_of(self, deadline: str) -> dict[str, dict[str, int]]:
        """Keep the figures per reporting unit as they stand now, the end of the deadline day."""
        self.as_of[deadline] = self.figures_by_reporting_unit()
        return self.as_of[deadline]

    # -- figures -----------------------------------------------------------------------------------------
    def in_baseline(self, key: str) -> bool:
        return key in self.registered and key in self.approved and not self.flags.get(key)

    def registry_by_district(self) -> dict[str, dict[str, int]]:
        """Per district: registered, approved, flagged, in_baseline (registry's /baseline/counts)."""
        out: dict[str, Counter] = defaultdict(Counter)
        for key in sorted(self.registered):
            counts = out[self.entities[key].district_code]
            counts["registered"] += 1
            counts["approved"] += key in self.approved
            counts["flagged"] += bool(self.flags.get(key))
            counts["in_baseline"] += self.in_baseline(key)
        return {d: {n: c[n] for n in ("registered", "approved", "flagged", "in_baseline")} for d, c in sorted(out.items())}

    def members_by_district(self) -> dict[str, dict[str, int]]:
        """Per district: active formal, probationary, total (membership's /counts/districts)."""
        out: dict[str, Counter] = defaultdict(Counter)
        for member in self.members.values():
            if member["active"]:
                counts = out[self.entities[member["entity"]].district_code]
                counts[member["standing"]] += 1
                counts["total"] += 1
        return {d: {n: c[n] for n in ("formal", "probationary", "total")} for d, c in sorted(out.items())}

    def bulletin(self) -> dict:
        """The figures the bulletin should show per district and for the city (R7), numerators and denominators."""
        out = {}
        for unit, counts in self.coverage_by_district().items():
            base = counts["baseline"]
            out[unit] = {**counts, "organization_coverage": _rate(counts["organization_covered"], base),
                         "two_coverage": _rate(counts["two_covered"], base),
                         "standalone_rate": _rate(counts["standalone_covered"], counts["organization_covered"]),
                         "required_coverage": _rate(counts["required_covered"], counts["required"])}
        return out

    def covering(self) -> dict[str, str]:
        """Entity key -> the active organization covering it (standalone or joint before functional)."""
        ordered = sorted(self.organizations.items(), key=lambda item: item[1]["mode"] != "functional")
        return {key: org_key for org_key, org in ordered if org["active"] for key in org["entities"]}

    def coverage_modes(self, covering: dict[str, str]) -> dict[str, str]:
        """Entity key -> the mode of the organization covering it: the active one formation recorded, or, for
        an entity no organization was formed for yet, the one its survey declared."""
        modes = {key: self.organizations[org]["mode"] for key, org in covering.items()}
        for key in self.registered:
            declared = self.entities[key].party_organization
            if key not in self.formation_named and declared in ("standalone", "joint", "functional"):
                modes[key] = declared
        return modes

    def formal_members(self) -> Counter:
        """Formal members per entity: the members' count where a member command named the entity, else the
        survey's figure."""
        counted = Counter(m["entity"] for m in self.members.values() if m["active"] and m["standing"] == "formal")
        return Counter({key: counted[key] if key in self.member_named else self.entities[key].formal_members
                        for key in self.registered})

    def _entity_figures(self, key: str, covering: dict[str, str], modes: dict[str, str], formal: Counter,
                        work: set[str]) -> dict[str, int]:
        entity, mode = self.entities[key], modes.get(key)
        org = self.organizations.get(covering.get(key, ""), {})
        required = organization_required(entity, formal[key])
        return {"baseline": 1, "organization_covered": int(mode is not None),
                "standalone_covered": int(mode == "standalone"),
                "work_covered": int(mode is None and key in work),
                "two_covered": int(mode is not None or key in work),
                "required": int(required), "required_covered": int(required and mode is not None),
                "closed": int(bool(org) and org.get("checked") is True)}

    def coverage_by_district(self) -> dict[str, dict[str, int]]:
        """Per district and city: baseline, organization/standalone/work/two-covered, required set (R2) and
        its covered part, closed tasks (R9), R3 violations (all registered entities, as formation lists them)."""
        covering, formal, work = self.covering(), self.formal_members(), self.work_covered
        modes = self.coverage_modes(covering)
        rows: dict[str, Counter] = defaultdict(Counter)
        for key in sorted(self.registered):
            units = (self.entities[key].district_code, "city")
            if formal[key] >= 3 and modes.get(key) != "standalone":
                for unit in units:
                    rows[unit]["r3_violations"] += 1
            if not self.in_baseline(key):
                continue
            figures = self._entity_figures(key, covering, modes, formal, work)
            for unit in units:
                rows[unit].update(figures)
        return {u: {n: c[n] for n in COVERAGE_FIGURES} for u, c in sorted(rows.items())}

    def figures_by_reporting_unit(self) -> dict[str, dict[str, int]]:
        """Per reporting unit (R11): the figures a semi-monthly report states, over the unit's baseline."""
        covering, formal, work = self.covering(), self.formal_members(), self.work_covered
        modes = self.coverage_modes(covering)
        rows: dict[str, Counter] = defaultdict(Counter)
        for key in sorted(self.registered):
            if self.in_baseline(key):
                rows[reporting_unit(self.entities[key])].update(self._entity_figures(key, covering, modes, formal, work))
        return {u: {n: c[n] for n in REPORT_FIGURES} for u, c in sorted(rows.items())}


def reporting_unit(entity: Entity) -> str:
    """Who reports the entity (R8/R11): city-level social organizations through their supervising unit's
    committee or civil affairs, everything else through its district."""
    if entity.kind == "social_organization" and entity.level == "city":
        return "city-organs" if entity.supervising_department else "civil-affairs"
    return f"district-{entity.district_code}"


COVERAGE_FIGURES = ("baseline", "organization_covered", "standalone_covered", "work_covered", "two_covered",
                    "required", "required_covered", "closed", "r3_violations")


def organization_required(entity: Entity, formal_members: int) -> bool:
    """R2 (一, 二(四)2, 三(二)) on the entity's facts and its formal members as the platform counts them."""
    if formal_members >= 3:  # 凡有3名及以上正式党员的，必须单独建立党组织
        return True
    if entity.kind == "non_public_enterprise":
        return entity.employees >= 100
    if entity.kind == "social_organization":
        return (entity.level == "city"
                or (entity.subtype in ("private_school", "private_hospital") and entity.employees >= 30)
                or entity.subtype in ("law_firm", "accounting_firm", "tax_firm"))
    return False


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None
