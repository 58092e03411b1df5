"""Check mismatch (验收与抽查不符): a district whose acceptance checks pass far more often than the city's spot
checks of the same district (docs/rules.md R12), beyond what chance explains.

The test: if the district's checks were honest, a spot check would pass about as often as an acceptance
check. The acceptance pass rate is estimated with one pass and one fail added (Laplace's rule: a handful of
checks that all passed does not prove a rate of 100%); the chance of the spot checks' passes being as few as
observed is the binomial tail. Below ``mismatch_alpha`` the district is flagged."""

from collections import defaultdict
from math import comb

from platform_core.reference.campaign_calendar import DetectorPolicy

from .records import Check, Signal, SignalInputs, make_signal


def binomial_tail(passes: int, trials: int, rate: float) -> float:
    """P(at most ``passes`` passes in ``trials`` checks that pass at ``rate``)."""
    return sum(comb(trials, k) * rate ** k * (1 - rate) ** (trials - k) for k in range(passes + 1))


def detect(inputs: SignalInputs, policy: DetectorPolicy) -> list[Signal]:
    thresholds = {"mismatch_alpha": policy.mismatch_alpha, "mismatch_min_spot_checks": policy.mismatch_min_spot_checks}
    by_district: dict[str, dict[str, list[Check]]] = defaultdict(lambda: defaultdict(list))
    for check in inputs.checks:
        formation = inputs.formations.get(check.organization_id)
        district = formation.district_code if formation else inputs.district_of(check.entity_ids[0])
        if district and check.kind in ("acceptance", "spot_check"):
            by_district[district][check.kind].append(check)
    found = []
    for district, kinds in sorted(by_district.items()):
        accepted, spot = kinds["acceptance"], kinds["spot_check"]
        if len(spot) < policy.mismatch_min_spot_checks or not accepted:
            continue
        accepted_passes = sum(c.passed for c in accepted)
        rate = (accepted_passes + 1) / (len(accepted) + 2)
        spot_passes = sum(c.passed for c in spot)
        chance = binomial_tail(spot_passes, len(spot), rate)
        if chance >= policy.mismatch_alpha:
            continue
        failed = [c for c in spot if not c.passed]
        found.append(make_signal(
            "check_mismatch", district, [district], [e for c in failed for e in c.entity_ids],
            [c.event_id for c in failed] + [c.event_id for c in accepted if c.organization_id in
                                             {f.organization_id for f in failed}],
            f"本区检查验收通过{accepted_passes}/{len(accepted)}次，而随机抽查仅通过{spot_passes}/{len(spot)}次；"
            f"按验收通过率，抽查结果如此之差的概率约为{chance:.4f}，低于{policy.mismatch_alpha}，验收结论可能不实。",
            thresholds, [c.organization_id for c in failed], max(c.checked_on for c in spot)))
    return found
