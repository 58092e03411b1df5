"""Paper organizations formed in a rush (突击组建): formed in the last days before the formation deadline
(docs/rules.md R10) and dissolved or restructured soon after passing their acceptance check (R12)."""

from datetime import timedelta

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Signal, SignalInputs, make_signal

UNDONE_ZH = {"dissolved": "撤销", "restructured": "调整（拆分）"}


def detect(inputs: SignalInputs, policy: DetectorPolicy, formation_due) -> list[Signal]:
    thresholds = {"late_formation_days": policy.late_formation_days,
                  "undone_after_check_days": policy.undone_after_check_days}
    rush_from = formation_due - timedelta(days=policy.late_formation_days)
    passed = {}
    for check in inputs.checks:
        if check.kind == "acceptance" and check.passed:
            passed.setdefault(check.organization_id, check)  # the first pass: the one the deadline needed
    found = []
    for undoing in inputs.undoings:
        formation = inputs.formations.get(undoing.organization_id)
        check = passed.get(undoing.organization_id)
        if formation is None or check is None or not rush_from <= formation.formed_on <= formation_due:
            continue
        if not check.checked_on <= undoing.on <= check.checked_on + timedelta(days=policy.undone_after_check_days):
            continue
        found.append(make_signal(
            "late_paper_organization", formation.organization_id.removeprefix("organization-"),
            [formation.district_code], formation.entity_ids,
            [formation.event_id, check.event_id, undoing.event_id],
            f"{inputs.names(formation.entity_ids)}的党组织于{formation.formed_on:%m月%d日}组建（组建截止{formation_due:%m月%d日}前"
            f"{policy.late_formation_days}天内），{check.checked_on:%m月%d日}通过检查验收，{undoing.on:%m月%d日}即被"
            f"{UNDONE_ZH[undoing.how]}（验收后{policy.undone_after_check_days}天内），疑似为应付验收突击组建。",
            thresholds, [formation.organization_id], undoing.on))
    return found
