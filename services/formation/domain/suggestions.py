"""Joint-formation suggestions (R4, the plan's 二(四)3): group entities with < 3 formal members.

Deterministic: entities not yet covered by a standalone or joint organization and with
fewer than 3 formal members are grouped first by (street or park, industry), basis
``industry`` (``park`` when the street is a development zone or park); a group whose
members together reach 3 formal members is proposed as it is (one group covers all of
them: the most entities possible). Entities left over in a street are then pooled by
street alone (basis ``region``/``park``); a pool that reaches 3 is proposed, and a pool
that cannot reach 3 joins the smallest group already proposed in its street (basis
becomes ``region``/``park``). Only entities of a street with no group at all and fewer
than 3 formal members together are listed as uncovered, with the reason.
Groups and their entities are ordered by street, industry and entity id.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence

from platform_core.rules.requirements import MUST_STAND_ALONE
from platform_core.rules.standalone import JOINT_MINIMUM

from .model import BASIS_ZH, EntityFacts


def suggest(entities: Sequence[EntityFacts], is_park: Callable[[str | None], bool] = lambda _: False) -> dict:
    candidates = sorted((e for e in entities if e.formal_members < MUST_STAND_ALONE),
                        key=lambda e: (e.street_code or "", e.industry, e.entity_id))
    by_street_industry: dict[tuple[str, str], list[EntityFacts]] = defaultdict(list)
    for entity in candidates:
        by_street_industry[(entity.street_code or "", entity.industry)].append(entity)
    groups, leftover = [], defaultdict(list)
    for (street, industry), members in sorted(by_street_industry.items()):
        total = sum(e.formal_members for e in members)
        if len(members) >= 2 and total >= JOINT_MINIMUM:
            basis = "park" if is_park(street) else "industry"
            groups.append(_group(members, basis, street, industry,
                                 f"同一{'园区' if basis == 'park' else '街道'}（{street}）同一行业（{industry}）"
                                 f"的{len(members)}个单位共有正式党员{total}名，达到联合组建的3名要求（R4）"))
        else:
            leftover[street].extend(members)
    uncovered = []
    for street, members in sorted(leftover.items()):
        members = sorted(members, key=lambda e: e.entity_id)
        total = sum(e.formal_members for e in members)
        in_street = [g for g in groups if g["street_code"] == (street or None)]
        if in_street and (len(members) < 2 or total < JOINT_MINIMUM):
            _attach(min(in_street, key=lambda g: (len(g["entity_ids"]), g["entity_ids"][0])), members,
                    "park" if is_park(street) else "region")
        elif len(members) >= 2 and total >= JOINT_MINIMUM:
            basis = "park" if is_park(street) else "region"
            groups.append(_group(members, basis, street, None,
                                 f"同一{'园区' if basis == 'park' else '街道'}（{street}）跨行业的{len(members)}个"
                                 f"单位共有正式党员{total}名，达到联合组建的3名要求（R4）"))
        else:
            uncovered.extend({"entity_id": e.entity_id, "street_code": street or None,
                              "reason": f"所在街道（园区）其余单位合计正式党员{total}名，不足3名，无法联合组建；"
                                        "应选派党建工作指导员实现工作覆盖（R6）"} for e in members)
    return {"groups": groups, "uncovered": uncovered,
            "covered_entities": sum(len(g["entity_ids"]) for g in groups)}


def _attach(group: dict, members: list[EntityFacts], basis: str) -> None:
    """Entities that cannot reach 3 on their own join a group of their street (more entities covered)."""
    group["entity_ids"] += [e.entity_id for e in members]
    group["formal_members"] += sum(e.formal_members for e in members)
    group["grouping_basis"], group["grouping_basis_zh"], group["industry"] = basis, BASIS_ZH[basis], None
    group["reason"] += f"；同街道（园区）另有{len(members)}个单位无法单独凑足3名正式党员，一并纳入（按区域联合组建）"


def _group(members: list[EntityFacts], basis: str, street: str, industry: str | None, reason: str) -> dict:
    return {"grouping_basis": basis, "grouping_basis_zh": BASIS_ZH[basis], "street_code": street or None,
            "industry": industry, "entity_ids": [e.entity_id for e in members],
            "formal_members": sum(e.formal_members for e in members), "reason": reason}
