"""Joint organizations whose entities are far apart, against 地域相邻、便于管理 (the plan's 二(四)3,
docs/rules.md R4): entities in more streets than the threshold, or in more than one district."""

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Signal, SignalInputs, make_signal


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    thresholds = {"joint_max_streets": policy.joint_max_streets}
    found = []
    for formation in inputs.formations.values():
        if formation.mode != "joint":
            continue
        places = [inputs.places[e] for e in formation.entity_ids if e in inputs.places]
        districts = {p.district_code for p in places}
        streets = {p.street_code for p in places}
        if len(districts) <= 1 and len(streets) <= policy.joint_max_streets:
            continue
        spread = f"{len(districts)}个区" if len(districts) > 1 else f"{len(streets)}个街道（乡镇）"
        found.append(make_signal(
            "distant_joint", formation.organization_id.removeprefix("organization-"),
            [formation.district_code, *districts], formation.entity_ids,
            [formation.event_id] + [p.event_id for p in places],
            f"联合党组织（{inputs.names(formation.entity_ids)}）所含单位分布在{spread}，超过"
            f"{policy.joint_max_streets}个相邻街道，不符合“地域相邻、便于管理”的联合组建要求。",
            thresholds, [formation.organization_id], formation.formed_on))
    return found
