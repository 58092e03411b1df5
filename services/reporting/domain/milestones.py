"""The setup-milestone checklist (清单, docs/rules.md R10b; docs/milestones.md), pure: for each district and each of
its gathering zones, every setup milestone of the calendar with its state on a given day.

A zone counts from the day it was declared: a checklist as of an earlier day does not list it.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from platform_core.reference import SetupMilestone
from platform_core.rules.milestones import MilestoneState, milestone_state


@dataclass(frozen=True)
class GatheringZone:
    """A park, development zone or street where 两新 organizations gather (三(二)), declared for a district."""

    zone_id: str
    district_code: str
    name: str
    zone_kind: str
    declared_on: date
    street_code: str | None = None


@dataclass(frozen=True)
class MilestoneRecord:
    """What a district (or the city) recorded: the milestone done on ``done_on``, with its document."""

    milestone: str
    district_code: str
    zone_id: str | None
    done_on: date
    document_number: str | None = None
    document_title: str | None = None
    document_sha256: str | None = None
    committee_kind: str | None = None
    event_id: str = ""


@dataclass(frozen=True)
class ChecklistItem:
    district_code: str
    zone: GatheringZone | None  # None: a district milestone
    milestone: SetupMilestone
    state: MilestoneState
    record: MilestoneRecord | None  # the record counted on the day (None when not yet done)


def checklist(setup: Sequence[SetupMilestone], districts: Iterable[str], zones: Iterable[GatheringZone],
              records: Iterable[MilestoneRecord], today: date) -> list[ChecklistItem]:
    """Every district's district milestones, then each of its zones' zone milestones (zones declared by
    ``today``), each with its state on ``today`` (``platform_core.rules.milestones.milestone_state``)."""
    done = {(r.district_code, r.zone_id, r.milestone): r for r in records if r.done_on <= today}
    zones_of: dict[str, list[GatheringZone]] = {}
    for zone in sorted(zones, key=lambda z: (z.declared_on, z.name, z.zone_id)):
        if zone.declared_on <= today:
            zones_of.setdefault(zone.district_code, []).append(zone)
    items = []
    for district in districts:
        scopes = [None] + zones_of.get(district, [])
        for zone in scopes:
            for milestone in setup:
                if milestone.scope != ("zone" if zone else "district"):
                    continue
                record = done.get((district, zone.zone_id if zone else None, milestone.key))
                items.append(ChecklistItem(district, zone, milestone,
                                           milestone_state(milestone.due, record.done_on if record else None, today),
                                           record))
    return items


def tally(items: Iterable[ChecklistItem]) -> dict[str, int]:
    """How many items are in each state (every state named, 0 included)."""
    counts = {"on_time": 0, "late": 0, "missing": 0, "not_due": 0}
    for item in items:
        counts[item.state] += 1
    return counts
