"""Jumps (数字跳升): a district's self-reported organization coverage rises between two of its reports by more
than the events moved (docs/rules.md R11: 不得报假数).

The events' movement is the number of the district's entities an organization covered at the end of each
deadline day (formed on or before it, not dissolved by it), from the formation events alone; reports of the
city organs' working committee and civil affairs answer for entities across districts and are left out."""

from datetime import date

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Report, Signal, SignalInputs, make_signal

FIGURE = "organization_covered"


def covered_on(inputs: SignalInputs, district: str, day: date) -> int:
    """Entities of the district covered by an organization at the end of ``day``."""
    dissolved = {u.organization_id: u.on for u in inputs.undoings if u.how == "dissolved"}
    covered = set()
    for formation in inputs.formations.values():
        ended = dissolved.get(formation.organization_id)
        if formation.formed_on <= day and (ended is None or ended > day):
            covered.update(e for e in formation.entity_ids if inputs.district_of(e) == district)
    return len(covered)


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    thresholds = {"jump_min_figure": policy.jump_min_figure, "jump_min_share": policy.jump_min_share}
    found, last = [], {}
    for report in inputs.reports:
        if not report.unit.startswith("district-") or report.figure(FIGURE) is None:
            continue
        previous: Report | None = last.get(report.unit)
        last[report.unit] = report
        if previous is None or previous.deadline == report.deadline:
            continue
        district = report.unit.removeprefix("district-")
        reported = report.figure(FIGURE) - previous.figure(FIGURE)
        moved = covered_on(inputs, district, report.deadline) - covered_on(inputs, district, previous.deadline)
        excess = reported - moved
        if excess < max(policy.jump_min_figure, policy.jump_min_share * previous.figure(FIGURE)):
            continue
        found.append(make_signal(
            "report_jump", f"{district}-{report.deadline:%Y%m%d}", [district], [],
            [previous.event_id, report.event_id],
            f"{report.deadline:%m月%d日}报送的已建党组织单位数较{previous.deadline:%m月%d日}增加{reported}个，而同期组建事件只增加"
            f"{moved}个，多出{excess}个，超过跳升阈值（{policy.jump_min_figure}个且上期数的{policy.jump_min_share:.0%}），疑似报假数。",
            thresholds, observed_on=report.deadline))
    return found
