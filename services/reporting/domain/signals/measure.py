"""Precision and recall of the detectors against the simulator's planted cases (docs/detectors.md; pure).

A planted case is found when a signal of its kind names it: the same organization (borrowed members, paper
organizations, distant joint organizations), the same checker in its district (bulk checks), its district
(check mismatch), its district and deadline (report jumps), all its entities (shadow patterns). A signal that
names no planted case is a false alarm; ``honest_false_alarms`` counts those outside the cheating districts."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .records import SIGNAL_KINDS, Signal

ORGANIZATION_KINDS = ("borrowed_members", "late_paper_organization", "same_day_members", "distant_joint")


def names(signal: Signal, case: Mapping[str, Any]) -> bool:
    if signal.kind != case["kind"]:
        return False
    detail = dict(signal.detail)
    if signal.kind in ORGANIZATION_KINDS:
        return bool(set(signal.organization_ids) & set(case["organization_ids"]))
    if signal.kind == "bulk_checks":
        return case["district"] in signal.districts and detail.get("checker") == case["checker"]
    if signal.kind == "check_mismatch":
        return case["district"] in signal.districts
    if signal.kind == "report_jump":
        return case["district"] in signal.districts and detail.get("deadline") == case["deadline"]
    return set(case["entity_ids"]) <= set(signal.entity_ids)


@dataclass(frozen=True)
class KindFigures:
    kind: str
    planted: int
    found: int
    flagged: int
    false_alarms: int
    honest_false_alarms: int

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None

    @property
    def false_alarm_share(self) -> float | None:
        return self.false_alarms / self.flagged if self.flagged else None


def measure(signals: Iterable[Signal], planted: list[Mapping[str, Any]], cheating: Iterable[str]) -> list[KindFigures]:
    signals, cheating = list(signals), set(cheating)
    figures = []
    for kind in SIGNAL_KINDS:
        mine = [s for s in signals if s.kind == kind]
        cases = [c for c in planted if c["kind"] == kind]
        found = sum(1 for c in cases if any(names(s, c) for s in mine))
        false = [s for s in mine if not any(names(s, c) for c in cases)]
        figures.append(KindFigures(kind, len(cases), found, len(mine), len(false),
                                   sum(1 for s in false if not set(s.districts) & cheating)))
    return figures
