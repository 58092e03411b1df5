"""The platform's figures beside the ground truth.

The platform may hold entities from before the run (an earlier demo, tests):
figures are read before and after, and the difference is what this run
should have caused. Projections catch up asynchronously, so a comparison is
repeated for a while until it agrees (or the time is up).
"""

import time
from dataclasses import dataclass

from .runner import Runner
from .truth import GroundTruth

REGISTRY_FIGURES = ("registered", "approved", "flagged", "in_baseline")
MEMBER_FIGURES = ("formal", "probationary", "total")


@dataclass(frozen=True)
class Difference:
    source: str
    unit: str
    figure: str
    platform: int
    truth: int


def snapshot(runner: Runner, phases: set[str]) -> dict[str, dict]:
    """The platform's current figures per district (registry; membership when it ran)."""
    out: dict[str, dict] = {"registry": {}, "membership": {}}
    for row in runner.get("registry", "/baseline/counts", {"by": "district"}):
        out["registry"][row["unit"]] = {f: int(row[f]) for f in REGISTRY_FIGURES}
    if "members" in phases:
        for row in runner.get("membership", "/counts/districts"):
            out["membership"][row["district_code"]] = {f: int(row.get(f, 0)) for f in MEMBER_FIGURES}
    return out


def _delta(after: dict, before: dict, unit: str, figures) -> dict[str, int]:
    a, b = after.get(unit, {}), before.get(unit, {})
    return {f: a.get(f, 0) - b.get(f, 0) for f in figures}


def differences(truth: GroundTruth, before: dict, after: dict, districts: set[str] | None = None) -> list[Difference]:
    """Figures of the played city's districts that moved differently from the ground truth (other units
    belong to other cities or to writers outside this run)."""
    found = []
    expected = {"registry": (truth.registry_by_district(), REGISTRY_FIGURES),
                "membership": (truth.members_by_district(), MEMBER_FIGURES)}
    for source, (figures_by_unit, names) in expected.items():
        if source == "membership" and not after["membership"] and not figures_by_unit:
            continue
        units = set(figures_by_unit) | {u for u in after[source] if after[source][u] != before[source].get(u)
                                        and (districts is None or u in districts)}
        for unit in sorted(units):
            platform = _delta(after[source], before[source], unit, names)
            wanted = figures_by_unit.get(unit, dict.fromkeys(names, 0))
            for name in names:
                if platform[name] != wanted[name]:
                    found.append(Difference(source, unit, name, platform[name], wanted[name]))
    return found


def settle(runner: Runner, truth: GroundTruth, before: dict, phases: set[str], districts: set[str],
           timeout: float = 120.0) -> tuple[dict, list[Difference]]:
    """Compare until the platform agrees or ``timeout`` seconds pass; the last figures and differences."""
    deadline = time.monotonic() + timeout
    while True:
        after = snapshot(runner, phases)
        found = differences(truth, before, after, districts)
        if not found or time.monotonic() > deadline:
            return after, found
        time.sleep(1.0)
