"""The detectors' records: what they read (folded from events by ``fold.py``) and the Signal they return.

Pure and typed: no I/O. Every input record keeps the id of the event it came from, so a signal can name the
events behind it (each one has an audit proof: docs/audit.md).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from platform_core.contracts.reporting import SIGNAL_KINDS  # the kinds are the contract's (SignalMarked)

__all__ = ["SIGNAL_KINDS", "SIGNAL_KINDS_ZH", "Check", "Formation", "Move", "Place", "Report", "Signal",
           "SignalInputs", "Undoing", "make_signal"]
SIGNAL_KINDS_ZH = {
    "borrowed_members": "借调党员凑数", "late_paper_organization": "突击组建、验收后即撤销或调整",
    "same_day_members": "党员同日集中转入", "distant_joint": "联合组建单位地域不相邻",
    "bulk_checks": "检查验收过快过密", "check_mismatch": "验收与抽查结果不符", "report_jump": "报送数字跳升",
    "shadow_pattern": "同一法定代表人或地址涉及多家单位",
}


@dataclass(frozen=True)
class Place:
    """Where an entity is, and the keyed hashes of its persons (EntityRegistered/EntityProfileUpdated)."""

    entity_id: str
    name: str
    district_code: str
    street_code: str
    hash_key: str | None = None  # hashes compare only under one key
    legal_representative_hash: str | None = None
    address_hash: str | None = None
    event_id: str = ""


@dataclass(frozen=True)
class Move:
    """A member arrived at (``to_entity_id``) or left (``from_entity_id``) a workplace on ``on``: found,
    developed, recruited (arrival only), transferred or changed workplace (both), left (departure only)."""

    member_id: str
    on: date
    at: datetime
    how: str  # found / developed / recruited / transferred / workplace / left
    event_id: str
    from_entity_id: str | None = None
    to_entity_id: str | None = None


@dataclass(frozen=True)
class Formation:
    organization_id: str
    mode: str
    entity_ids: tuple[str, ...]
    district_code: str
    street_code: str | None
    formed_on: date
    formal_members: tuple[tuple[str, int], ...]
    event_id: str
    grouping_basis: str | None = None


@dataclass(frozen=True)
class Undoing:
    """The organization was dissolved, or entities were split out of it (OrganizationRestructured)."""

    organization_id: str
    how: str  # dissolved / restructured
    on: date
    event_id: str


@dataclass(frozen=True)
class Check:
    """OrganizationChecked. The event names the checking department (``inspector_unit``) but not the person
    nor the hour: the checker is the envelope's actor (department and user) and the time its ``recorded_at``."""

    organization_id: str
    kind: str  # acceptance / spot_check / look_back
    passed: bool
    checked_on: date
    recorded_at: datetime
    checker: str  # "<department>/<user>"
    entity_ids: tuple[str, ...]
    event_id: str


@dataclass(frozen=True)
class Report:
    """A reporting unit's semi-monthly report (ReportSubmitted)."""

    unit: str
    deadline: date
    figures: tuple[tuple[str, int], ...]
    event_id: str

    def figure(self, name: str) -> int | None:
        return dict(self.figures).get(name)


@dataclass
class SignalInputs:
    """Everything the detectors read, folded from the events in any order of streams."""

    places: dict[str, Place] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    formations: dict[str, Formation] = field(default_factory=dict)
    undoings: list[Undoing] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    # (reporting unit, deadline) -> its organization coverage derived from the events as of the end of that day:
    # the figure a report is compared with (docs/reporting.md, "Semi-monthly reports")
    derived: dict[tuple[str, date], int] = field(default_factory=dict)

    def district_of(self, entity_id: str) -> str | None:
        place = self.places.get(entity_id)
        return place.district_code if place else None

    def names(self, entity_ids) -> str:
        """The entities' names for an explanation (an entity the registry never named shows its id)."""
        return "、".join(self.places[e].name if e in self.places else e for e in entity_ids)


@dataclass(frozen=True)
class Signal:
    """A pattern worth an official's look, never a verdict (docs/detectors.md).

    ``key`` identifies it across runs (the same pattern found again is the same signal); ``districts`` scope who
    may see it; ``event_ids`` are the evidence; ``thresholds`` the values the detector used."""

    kind: str
    key: str
    districts: tuple[str, ...]
    entity_ids: tuple[str, ...]
    event_ids: tuple[str, ...]
    explanation: str
    thresholds: tuple[tuple[str, int | float], ...]
    organization_ids: tuple[str, ...] = ()
    observed_on: date | None = None
    detail: tuple[tuple[str, str], ...] = ()  # what names the case besides its entities (checker, deadline...)

    @property
    def signal_id(self) -> str:
        return f"signal-{self.kind}-{self.key}"


def make_signal(kind: str, key: str, districts, entity_ids, event_ids, explanation: str, thresholds: dict,
                organization_ids=(), observed_on: date | None = None, **detail: str) -> Signal:
    """A Signal with its collections sorted and without repeats, so equal findings are equal records."""
    return Signal(kind, key, tuple(sorted(set(d for d in districts if d))), tuple(sorted(set(entity_ids))),
                  tuple(sorted(set(event_ids))), explanation, tuple(sorted(thresholds.items())),
                  tuple(sorted(set(organization_ids))), observed_on, tuple(sorted(detail.items())))
