"""Bulk checks (走过场的检查验收): one checker passing checks at a rate no real visit allows.

OrganizationChecked names the checking department but neither the person nor the hour: the checker is the
envelope's actor (department and user) and the time its ``recorded_at`` (docs/detectors.md)."""

from collections import defaultdict
from datetime import timedelta

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Check, Signal, SignalInputs, make_signal


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    window = timedelta(minutes=policy.checks_window_minutes)
    thresholds = {"checks_window_minutes": policy.checks_window_minutes,
                  "checks_max_per_window": policy.checks_max_per_window}
    by_checker: dict[str, list[Check]] = defaultdict(list)
    for check in inputs.checks:  # in recorded order (fold)
        if check.passed:
            by_checker[check.checker].append(check)
    found = []
    for checker, checks in sorted(by_checker.items()):
        for burst in bursts(checks, window, policy.checks_max_per_window):
            found.append(_signal(inputs, checker, burst, thresholds, policy))
    return found


def bursts(checks: list[Check], window: timedelta, most: int) -> list[list[Check]]:
    """Maximal runs of checks in which some window holds more than ``most`` of them (runs of overlapping
    crowded windows are merged, so one rush is one signal)."""
    crowded: list[tuple[int, int]] = []
    start = 0
    for end, check in enumerate(checks):
        while check.recorded_at - checks[start].recorded_at >= window:
            start += 1
        if end - start + 1 > most:
            if crowded and start <= crowded[-1][1]:
                crowded[-1] = (crowded[-1][0], end)
            else:
                crowded.append((start, end))
    return [checks[a:b + 1] for a, b in crowded]


def _signal(inputs: SignalInputs, checker: str, burst: list[Check], thresholds: dict, policy: DetectorPolicy) -> Signal:
    districts = [d for c in burst for e in c.entity_ids if (d := _district(inputs, c, e))]
    entities = [e for c in burst for e in c.entity_ids]
    minutes = max(1, round((burst[-1].recorded_at - burst[0].recorded_at).total_seconds() / 60))
    department, _, user = checker.partition("/")
    return make_signal(
        "bulk_checks", f"{burst[0].event_id}", districts, entities, [c.event_id for c in burst],
        f"检查人{user}（{department}）在{minutes}分钟内通过了{len(burst)}次检查（{burst[0].checked_on:%m月%d日}起），"
        f"超过每{policy.checks_window_minutes}分钟{policy.checks_max_per_window}次的合理上限，实地检查难以完成，疑似走过场。",
        thresholds, [c.organization_id for c in burst], burst[0].checked_on, checker=checker)


def _district(inputs: SignalInputs, check: Check, entity_id: str) -> str | None:
    formation = inputs.formations.get(check.organization_id)
    return formation.district_code if formation else inputs.district_of(entity_id)
