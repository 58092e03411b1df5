"""Shadow patterns (影子企业线索): one legal representative or one address across many entities of a district.

Compares the keyed hashes the registry's events carry (the same hashes registry's shadow candidates compare,
services/registry/domain/shadow.py): values never leave the registry, and hashes compare only under one key.
The registry records no phone number, so phones are not compared (docs/detectors.md). The keyed hash of a
legal representative is of the name alone (the registry holds no identity number for entity persons), and
common names recur across a city of thousands of entities; within one district a repeated name is far more
likely one person, so groups are counted per district."""

from collections import defaultdict

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Place, Signal, SignalInputs, make_signal

WHAT_ZH = {"legal_representative": "法定代表人", "address": "登记地址"}


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    thresholds = {"shadow_min_entities": policy.shadow_min_entities}
    groups: dict[tuple[str, str, str, str], list[Place]] = defaultdict(list)
    for place in inputs.places.values():
        if place.hash_key is None:
            continue
        for what, value in (("legal_representative", place.legal_representative_hash),
                            ("address", place.address_hash)):
            if value:
                groups[(what, place.district_code, place.hash_key, value)].append(place)
    found = []
    for (what, district, _, value), places in sorted(groups.items()):
        if len(places) < policy.shadow_min_entities:
            continue
        places.sort(key=lambda p: p.entity_id)
        found.append(make_signal(
            "shadow_pattern", f"{what}-{district}-{value[:16]}", [district], [p.entity_id for p in places],
            [p.event_id for p in places],
            f"同一{WHAT_ZH[what]}（按加密比对）登记了{len(places)}家单位：{inputs.names(p.entity_id for p in places)}；"
            f"达到{policy.shadow_min_entities}家的关注线，可能存在影子企业或重复登记。",
            thresholds, what=what))
    return found
