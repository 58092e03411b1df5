"""Paper organizations whose members all joined on one day from elsewhere: every member working at the
organization's entities when it was formed arrived by transfer (组织关系或工作单位转入) on the same day."""

from collections import defaultdict

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Signal, SignalInputs, make_signal
from .workplaces import TRANSFERS, by_member, present_on


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    history = by_member(inputs.moves)
    thresholds = {"same_day_min_members": policy.same_day_min_members}
    found = []
    for formation in inputs.formations.values():
        if formation.mode == "functional":
            continue  # R5: its members keep their registration elsewhere by design
        present = present_on(history, formation.entity_ids, formation.formed_on)
        if len(present) < policy.same_day_min_members:
            continue
        days = defaultdict(list)
        for move in present.values():
            days[move.on if move.how in TRANSFERS else None].append(move)
        if len(days) != 1 or None in days:
            continue
        (day, moves), = days.items()
        found.append(make_signal(
            "same_day_members", formation.organization_id.removeprefix("organization-"),
            [formation.district_code], list(formation.entity_ids) + [m.from_entity_id for m in moves],
            [formation.event_id] + [m.event_id for m in moves],
            f"{inputs.names(formation.entity_ids)}的党组织于{formation.formed_on:%m月%d日}组建时共有党员{len(moves)}名，"
            f"全部于{day:%m月%d日}同一天从其他单位转入，疑似为组建而集中转入党员（空壳党组织）。",
            thresholds, [formation.organization_id], formation.formed_on))
    return found
