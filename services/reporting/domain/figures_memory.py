"""The bulletin's figures source in memory: the fold of a log prefix (offline re-derivation)."""

from datetime import date, datetime

from .fold import CampaignState
from .rates import Counters, count
from .status import EntityStatus, derive_status

CONDITIONS = {
    "overdue_formation": lambda s: s.overdue_after_formation,
    "overdue_acceptance": lambda s: s.overdue_after_acceptance,
    "r3_violation": lambda s: s.r3_violation,
    "declared_unconfirmed": lambda s: s.declared_organization is not None,
    # the entities behind each reported figure (R11 discrepancies)
    "baseline": lambda s: True,
    "organization_covered": lambda s: s.organization_covered,
    "standalone_covered": lambda s: s.standalone_covered,
    "work_covered": lambda s: s.work_covered,
    "two_covered": lambda s: s.two_covered,
    "required": lambda s: s.required_reason is not None,
    "required_covered": lambda s: s.required_reason is not None and s.organization_covered,
    "formal_members": lambda s: s.formal_members > 0,
    "probationary_members": lambda s: s.probationary_members > 0,
}


class MemoryFigures:
    def __init__(self, state: CampaignState, reports: list[dict]):
        self.state = state
        self.statuses: dict[str, EntityStatus] = {
            e: derive_status(e, inputs) for e, inputs in state.all_inputs().items()}
        self._reports = reports  # report_id, unit, deadline (date), submitted_at (datetime), figures, event_id

    def counters_by_department(self) -> dict[str, Counters]:
        totals: dict[str, Counters] = {}
        for status in self.statuses.values():
            if status.in_baseline:
                totals[status.department] = totals.get(status.department, Counters()) + count(status)
        return dict(sorted(totals.items()))

    def reports(self, deadlines: list[date]) -> list[dict]:
        wanted = set(deadlines)
        found = [r for r in self._reports if r["deadline"] in wanted]
        return sorted(found, key=lambda r: (r["deadline"], r["unit"], r["submitted_at"], r["report_id"]))

    def entities(self, condition: str, limit: int, departments: list[str] | None = None) -> list[dict]:
        test = CONDITIONS[condition]
        wanted = set(departments) if departments is not None else None
        chosen = sorted(e for e, s in self.statuses.items()
                        if s.in_baseline and test(s) and (wanted is None or s.department in wanted))[:limit]
        return [{"entity_id": e, "name": self.statuses[e].name, "department": self.statuses[e].department,
                 "formal_members": self.statuses[e].formal_members,
                 "organizations": [list(o) for o in self.statuses[e].organizations],
                 "task_state": self.statuses[e].task_state,
                 "organization_covered": self.statuses[e].organization_covered,
                 "declared_organization": self.statuses[e].declared_organization} for e in chosen]

    def failed_checks(self) -> list[dict]:
        found = []
        for c in self.state.failed_checks:
            units = [self.statuses[e].department for e in c.entity_ids if e in self.statuses]
            found.append({"check_id": c.check_id, "organization_id": c.organization_id,
                          "check_kind": c.check_kind, "checked_on": date.fromisoformat(c.checked_on),
                          "entity_ids": list(c.entity_ids), "findings": list(c.findings), "event_id": c.event_id,
                          "unit": min(units) if units else None})
        return sorted(found, key=lambda c: (c["checked_on"], c["check_id"]))


def report_record(payload: dict, recorded_at: datetime, event_id: str) -> dict:
    return {"report_id": payload["report_id"], "unit": payload["unit"],
            "deadline": date.fromisoformat(str(payload["deadline"])), "submitted_at": recorded_at,
            "figures": dict(payload["figures"]), "event_id": event_id}
