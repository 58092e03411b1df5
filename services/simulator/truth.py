"""The ground truth: what the simulator did (facts of the commands that succeeded), and the figures
the platform should therefore show (pure).

Baseline (R1): registered, listed by an approved ledger, and not flagged.
Members (R5, R13): each active member once, in the district of the entity
where they work, with their current standing.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .commands import Fact
from .world import Entity


@dataclass
class GroundTruth:
    entities: dict[str, Entity]
    registered: set[str] = field(default_factory=set)
    approved: dict[str, str] = field(default_factory=dict)  # entity key -> ledger unit
    flags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    members: dict[str, dict] = field(default_factory=dict)  # member key -> entity, standing, active, way
    organizations: dict[str, dict] = field(default_factory=dict)  # org key -> mode, entities, active
    work_covered: set[str] = field(default_factory=set)
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

    def _on_member_confirmed(self, item: Fact) -> None:
        self.members[item.keys[0]]["standing"] = "formal"

    def _on_member_left(self, item: Fact) -> None:
        self.members[item.keys[0]]["active"] = False

    def _on_member_transferred(self, item: Fact) -> None:
        self.members[item.keys[0]].update(entity=item.get("to_entity"), organization=item.get("to_organization"))

    def _on_member_revealed(self, item: Fact) -> None:
        self.members[item.keys[0]]["organization"] = item.get("organization")

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
        rows: dict[str, Counter] = defaultdict(Counter)
        covered = self.organization_covered()
        for key in sorted(self.registered):
            if not self.in_baseline(key):
                continue
            district = self.entities[key].district_code
            for unit in (district, "city"):
                rows[unit]["baseline"] += 1
                rows[unit]["organization_covered"] += key in covered
                rows[unit]["two_covered"] += key in covered or key in self.work_covered
        out = {}
        for unit, counts in sorted(rows.items()):
            base = counts["baseline"]
            out[unit] = {**counts, "organization_coverage": _rate(counts["organization_covered"], base),
                         "two_coverage": _rate(counts["two_covered"], base)}
        return out

    def organization_covered(self) -> set[str]:
        return {key for org in self.organizations.values() if org["active"] for key in org["entities"]}


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None
