"""The platform's figures beside the ground truth.

The platform may hold entities from before the run (an earlier demo, tests):
figures are read before and after, and the difference is what this run
should have caused. Projections catch up asynchronously, so a comparison is
repeated for a while until it agrees (or the time is up).
"""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .reporting_plan import INFLATED
from .runner import Runner
from .truth import COVERAGE_FIGURES, GroundTruth

REGISTRY_FIGURES = ("registered", "approved", "flagged", "in_baseline")
MEMBER_FIGURES = ("formal", "probationary", "total")


@dataclass(frozen=True)
class Difference:
    source: str
    unit: str
    figure: str
    platform: int | str
    truth: int | str


def snapshot(runner: Runner, phases: set[str]) -> dict[str, dict]:
    """The platform's current figures per district (registry; membership when it ran)."""
    out: dict[str, dict] = {"registry": {}, "membership": {}, "formation": {}}
    for row in runner.get("registry", "/baseline/counts", {"by": "district"}):
        out["registry"][row["unit"]] = {f: int(row[f]) for f in REGISTRY_FIGURES}
    if "members" in phases:
        for row in runner.get("membership", "/counts/districts"):
            out["membership"][row["district_code"]] = {f: int(row.get(f, 0)) for f in MEMBER_FIGURES}
    return out


def formation_figures(runner: Runner, truth: GroundTruth, workers: int = 8) -> dict[str, dict[str, int]]:
    """Formation's figures for this run's entities, per district and city, from its public reads only:
    the board (``GET /tasks``: baseline entities, their state and R2 reason), the active standalone organizations
    (``GET /organizations``), ``GET /entities/{id}`` for work coverage of entities without an organization,
    and ``GET /violations/r3``. Formation has no aggregate coverage route, so the rates are counted here."""
    mine = {runner.ids[k]: k for k in truth.registered if k in runner.ids}
    districts = sorted({truth.entities[k].district_code for k in mine.values()})
    rows: dict[str, Counter] = {}
    open_rows: list[tuple[str, str]] = []
    for district in districts:
        counts = rows.setdefault(district, Counter())
        standalone = {o["organization_id"] for o in _paged(runner, "/organizations", {
            "district": district, "mode": "standalone", "active": "true"}, 1000)}
        for task in _tasks(runner, district):
            key = mine.get(task["entity_id"])
            if key is None:
                continue
            covered = task["state"] != "open"  # "declared": the survey's organization, not formed yet, counts
            required = task["required_reason"] is not None
            counts["baseline"] += 1
            counts["organization_covered"] += covered
            counts["standalone_covered"] += covered and (task["organization_id"] in standalone
                                                         or task["declared_organization"] == "standalone")
            counts["required"] += required
            counts["required_covered"] += required and covered
            counts["closed"] += task["state"] == "closed"
            if not covered:
                open_rows.append((district, task["entity_id"]))
        counts["r3_violations"] += sum(v["entity_id"] in mine for v in runner.get(
            "formation", "/violations/r3", {"district": district}))
    with ThreadPoolExecutor(workers) as pool:
        answers = pool.map(lambda row: runner.get("formation", f"/entities/{row[1]}"), open_rows)
        for (district, _), entity in zip(open_rows, answers):
            rows[district]["work_covered"] += bool(entity["work_covered"])
    city = Counter()
    for counts in rows.values():
        counts["two_covered"] = counts["organization_covered"] + counts["work_covered"]
        city.update(counts)
    if rows:
        rows["city"] = city
    return {u: {f: c[f] for f in COVERAGE_FIGURES} for u, c in rows.items()}


def _tasks(runner: Runner, district: str) -> list[dict]:
    found, offset = [], 0
    while True:
        page = runner.get("formation", "/tasks", {"district": district, "limit": 5000, "offset": offset})
        found.extend(page["tasks"])
        offset += len(page["tasks"])
        if not page["tasks"] or offset >= page["total"]:
            return found


def _paged(runner: Runner, path: str, params: dict, limit: int) -> list[dict]:
    found, offset = [], 0
    while True:
        page = runner.get("formation", path, {**params, "limit": limit, "offset": offset})
        found.extend(page)
        offset += len(page)
        if len(page) < limit:
            return found


def formation_differences(truth: GroundTruth, platform: dict[str, dict[str, int]]) -> list[Difference]:
    expected = truth.coverage_by_district()
    found = []
    for unit in sorted(set(expected) | set(platform)):
        wanted, got = expected.get(unit, {}), platform.get(unit, {})
        for name in COVERAGE_FIGURES:
            if got.get(name, 0) != wanted.get(name, 0):
                found.append(Difference("formation", unit, name, got.get(name, 0), wanted.get(name, 0)))
    return found


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
        if "formation" in phases and not found:  # formation's figures rest on its projection of the others
            after["formation"] = formation_figures(runner, truth)
            found = formation_differences(truth, after["formation"])
        if not found or time.monotonic() > deadline:
            return after, found
        time.sleep(1.0)


def units_in_use(runner: Runner) -> set[str]:
    """Reporting units whose ledgers already list entities (an earlier run, the demo, tests): their bulletin
    figures are not this run's alone, so they are not compared. Asked of the registry, which answers at once
    (no projection to wait for)."""
    used = set()
    for row in runner.get("registry", "/baseline/counts", {"by": "ledger"}):
        unit = row["unit"]
        if unit is None or not int(row.get("registered", 0)):  # None: not approved in any ledger yet
            continue
        if unit.startswith("district-"):
            used.add("district-" + unit.split("-")[1])
        elif unit.startswith("supervisor-") or unit == "city-organs":
            used.add("city-organs")
        else:
            used.add(unit)
    return used


def bulletins(runner: Runner, truth: GroundTruth, plan, shared: set[str]) -> dict:
    """Each published bulletin beside the ground truth as of its cutoff: every reporting unit's figures
    (district rows and the civil-affairs / city-organs rows), and every unit's report for the previous and
    this deadline (status R11; discrepancies exactly where a false report raised a figure). Units in
    ``shared`` held entities before the run and are left out (listed as such)."""
    published, found = [], []
    intents = {(i.unit, i.deadline.isoformat()): i for i in plan.reports if i.unit not in shared}
    for key, bulletin_id in sorted((k, v) for k, v in runner.ids.items() if k.startswith("B")):
        cutoff = key[1:]
        data = runner.get("reporting", f"/bulletins/{cutoff}/json")
        published.append({"cutoff_date": cutoff, "bulletin_id": bulletin_id, "data": data})
        rows = {row["unit"]: row["counters"] for row in data["districts"] + data["departments"]}
        for unit, figures in truth.as_of.get(cutoff, {}).items():
            if unit in shared:
                continue
            for name, value in figures.items():
                shown = rows.get(unit, {}).get(name, 0)
                if shown != value:
                    found.append(Difference(f"bulletin {cutoff}", unit, name, shown, value))
        listed = {(r["unit"], r["deadline"]) for r in data["reports"]}
        for unit, deadline in sorted(k for k in intents if k[1] in (cutoff, data.get("previous_cutoff_date"))):
            if (unit, deadline) not in listed:
                found.append(Difference(f"bulletin {cutoff}", unit, f"no report row for {deadline}", 0, 1))
        for report in data["reports"]:
            intent = intents.get((report["unit"], report["deadline"]))
            if intent is None:
                continue
            expected = intent.expected_status if report["deadline"] < cutoff else (
                "on_time" if intent.expected_status == "on_time" else "pending")
            if report["status"] != expected:
                found.append(Difference(f"bulletin {cutoff} report {report['deadline']}", report["unit"],
                                        f"status {report['status']} (expected {expected})", 0, 1))
            raised = {d["figure"]: d["difference"] for d in report["discrepancies"]}
            wanted = {name: intent.inflate for name in INFLATED} if intent.behaviour == "false" else {}
            if report["status"] in ("on_time", "late") and raised != wanted:
                found.append(Difference(f"bulletin {cutoff} report {report['deadline']}", report["unit"],
                                        f"discrepancies {raised} (expected {wanted})", len(raised), len(wanted)))
    return {"published": [{k: v for k, v in b.items() if k != "data"} for b in published], "data": published,
            "not_compared": sorted(shared), "differences": found}


def milestones(runner: Runner, truth: GroundTruth, calendar, timeout: float = 60.0) -> tuple[int, list[Difference]]:
    """The setup-milestone checklist (R10b) at the campaign's end beside the ground truth, for the districts this
    run recorded in (reporting projects formation's events: repeated until it agrees or ``timeout`` passes): how
    many items were compared, and the differences."""
    due = {m.key: (m.scope, m.due.isoformat()) for m in calendar.setup_milestones}
    on = calendar.ends.isoformat()
    wanted = truth.milestone_states(due, on)
    zone_names = {runner.ids.get(zone): zone for zone in truth.zones}
    deadline = time.monotonic() + timeout
    while True:
        checklist = runner.get("reporting", "/milestones", {"scope": "city", "as_of": on})
        found = {}
        for district in checklist["districts"]:
            for m in district["milestones"]:
                found[(district["district_code"], None, m["milestone"])] = m["state"]
            for zone in district["zones"]:
                for m in zone["milestones"]:
                    found[(district["district_code"], zone_names.get(zone["zone_id"], zone["zone_id"]),
                           m["milestone"])] = m["state"]
        differences = [Difference("milestones", district, f"{key}{'@' + zone if zone else ''}",
                                  found.get((district, zone, key), "absent"), state)
                       for (district, zone, key), state in sorted(wanted.items(), key=str)
                       if found.get((district, zone, key)) != state]
        if not differences or time.monotonic() > deadline:
            return len(wanted), differences
        time.sleep(1.0)


def districts_with_milestones(runner: Runner, calendar) -> set[str]:
    """Districts whose setup milestones or zones an earlier run recorded (a second record would be refused)."""
    checklist = runner.get("reporting", "/milestones", {"scope": "city", "as_of": calendar.ends.isoformat()})
    return {d["district_code"] for d in checklist["districts"]
            if d["zones"] or any(m["done_on"] for m in d["milestones"])}
