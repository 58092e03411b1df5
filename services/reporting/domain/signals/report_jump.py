"""Jumps (数字跳升): a unit's self-reported organization coverage rises between two of its reports by more than
the events moved (docs/rules.md R11: 不得报假数). The events' movement is the difference of the unit's derived
figure (``SignalInputs.derived``: the reporting projection's own count as of the end of each deadline day, the
one the report's discrepancies are judged against). A false report flags a discrepancy once; a jump says the
number on paper ran ahead of the campaign between two reports."""

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Report, Signal, SignalInputs, make_signal

FIGURE = "organization_covered"


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    thresholds = {"jump_min_figure": policy.jump_min_figure, "jump_min_share": policy.jump_min_share}
    found, last = [], {}
    for report in inputs.reports:
        if report.figure(FIGURE) is None or (report.unit, report.deadline) not in inputs.derived:
            continue
        previous: Report | None = last.get(report.unit)
        last[report.unit] = report
        if previous is None or previous.deadline == report.deadline:
            continue
        reported = report.figure(FIGURE) - previous.figure(FIGURE)
        moved = inputs.derived[(report.unit, report.deadline)] - inputs.derived[(previous.unit, previous.deadline)]
        excess = reported - moved
        if excess < max(policy.jump_min_figure, policy.jump_min_share * previous.figure(FIGURE)):
            continue
        district = report.unit.removeprefix("district-") if report.unit.startswith("district-") else None
        found.append(make_signal(
            "report_jump", f"{report.unit}-{report.deadline:%Y%m%d}", [district] if district else [], [],
            [previous.event_id, report.event_id],
            f"{report.deadline:%m月%d日}报送的已建党组织单位数较{previous.deadline:%m月%d日}增加{reported}个，而同期按事件统计只增加"
            f"{moved}个，多出{excess}个，超过跳升阈值（{policy.jump_min_figure}个且上期数的{policy.jump_min_share:.0%}），疑似报假数。",
            thresholds, observed_on=report.deadline, deadline=report.deadline.isoformat(), unit=report.unit))
    return found
