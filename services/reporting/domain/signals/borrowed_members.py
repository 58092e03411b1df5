"""Borrowed members (借调党员凑数): members transferred into an entity shortly before an organization is formed
there, bringing it to the figure formation needs (3 formal members, docs/rules.md R3/R4), and transferred out
again soon after."""

from datetime import timedelta

from platform_core.reference.campaign_calendar import DetectorPolicy
from platform_core.rules.standalone import JOINT_MINIMUM

from .records import Signal, SignalInputs, make_signal
from .workplaces import TRANSFERS, by_member


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    history = by_member(inputs.moves)
    thresholds = {"borrowed_in_days": policy.borrowed_in_days, "borrowed_out_days": policy.borrowed_out_days,
                  "formal_members_needed": JOINT_MINIMUM}
    found = []
    for formation in inputs.formations.values():
        entities = set(formation.entity_ids)
        opens = formation.formed_on - timedelta(days=policy.borrowed_in_days)
        closes = formation.formed_on + timedelta(days=policy.borrowed_out_days)
        borrowed = []
        for moves in history.values():
            for n, came in enumerate(moves):
                if came.how in TRANSFERS and came.to_entity_id in entities and opens <= came.on <= formation.formed_on:
                    went = next((m for m in moves[n + 1:] if m.from_entity_id == came.to_entity_id
                                 and m.how in TRANSFERS and formation.formed_on <= m.on <= closes), None)
                    if went is not None:
                        borrowed.append((came, went))
                    break
        if not borrowed:
            continue
        counted = sum(n for _, n in formation.formal_members) or len(borrowed)
        if counted - len(borrowed) >= JOINT_MINIMUM:
            continue  # it had enough members of its own: the moves did not make the organization possible
        names = inputs.names(formation.entity_ids)
        found.append(make_signal(
            "borrowed_members", formation.organization_id.removeprefix("organization-"),
            [formation.district_code], list(formation.entity_ids) + [c.from_entity_id for c, _ in borrowed],
            [formation.event_id] + [e.event_id for pair in borrowed for e in pair],
            f"{names}于{formation.formed_on:%m月%d日}组建党组织（登记正式党员{counted}名），其中{len(borrowed)}名党员在组建前"
            f"{policy.borrowed_in_days}天内转入、组建后{policy.borrowed_out_days}天内又转出；不计这些党员则不足"
            f"{JOINT_MINIMUM}名正式党员，疑似借调党员凑数。",
            thresholds, [formation.organization_id], formation.formed_on))
    return found

