"""Every R7 rate of the scenario in reporting_scenario.py, worked out by hand (see its docstring)."""

from reporting.domain.fold import CampaignState
from reporting.domain.rates import Counters, aggregate, rates
from reporting.domain.dimensions import DIMENSIONS
from reporting.domain.status import derive_status
from reporting_scenario import DISTRICT_A, DISTRICT_B, campaign, ent


def statuses():
    state = CampaignState()
    for _, envelope in campaign().events:
        state.apply(envelope.type, envelope.payload, str(envelope.event_id))
    return {e: derive_status(e, inputs) for e, inputs in state.all_inputs().items()}


def by(dimension):
    return aggregate(statuses().values(), DIMENSIONS[dimension])


def test_entity_statuses_by_hand():
    s = statuses()
    baseline = {e for e, st in s.items() if st.in_baseline}
    # E7 flagged shadow, E12 never approved; E4's zombie flag was cleared.
    assert baseline == {ent(n) for n in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14)}
    assert s[ent(1)].required_reason and not s[ent(2)].required_reason  # 100 vs 99 employees (R2)
    assert s[ent(3)].member_required_reason and not s[ent(4)].member_required_reason  # 50 vs 49 (R2b)
    assert s[ent(6)].formal_members == 3 and s[ent(6)].r3_violation  # membership: 4 registered, 1 left by transfer
    assert s[ent(8)].formal_members == 1 and s[ent(8)].member_requirement_met
    assert not s[ent(3)].r3_violation and not s[ent(13)].r3_violation  # 1 formal in joint; split out (R3)
    assert s[ent(13)].modes == ("standalone",)
    assert not s[ent(14)].organization_covered  # dissolved
    assert s[ent(2)].work_covered and s[ent(9)].work_covered and not s[ent(1)].work_covered
    assert s[ent(10)].organization_covered and not s[ent(10)].standalone_covered  # functional (R5)
    assert s[ent(1)].task_state == "closed" and s[ent(11)].task_state == "checked"
    assert s[ent(10)].department == "civil-affairs" and s[ent(11)].department == "supervisor-education"
    assert s[ent(9)].department == f"district-{DISTRICT_B}"


def test_city_rates_by_hand():
    city = by("city")["city"]
    # Required (R2): E1 (100 employees), E6 and E13 (3 formal members), E8 (150), E9 (law firm), E10 and
    # E11 (city-level social organizations); covered: E1, E6 (joint), E10 (functional), E11, E13.
    assert city == Counters(baseline=12, organization_covered=8, standalone_covered=3, work_covered=2,
                            two_covered=10, required=7, required_covered=5, member_required=4,
                            member_required_met=3, r3_violations=1, tasks_closed=1, formal_members=18,
                            probationary_members=1, federation_members=2, federation_members_covered=2)
    r = {name: rate.as_dict() for name, rate in rates(city).items()}
    assert r["organization_coverage"] == {"numerator": 8, "denominator": 12, "percent": "66.67"}
    assert r["two_coverage"] == {"numerator": 10, "denominator": 12, "percent": "83.33"}
    assert r["standalone_rate"] == {"numerator": 3, "denominator": 8, "percent": "37.50"}
    assert r["required_coverage"] == {"numerator": 5, "denominator": 7, "percent": "71.43"}
    assert r["member_required_coverage"] == {"numerator": 3, "denominator": 4, "percent": "75.00"}


def test_district_department_and_kind_levels_by_hand():
    districts = by("district")
    # E10 and E11 are registered in district A but answer to civil affairs / education (R8).
    assert districts[DISTRICT_A].baseline == 11 and districts[DISTRICT_B].baseline == 1
    departments = by("department")
    a = departments[f"district-{DISTRICT_A}"]
    assert (a.baseline, a.organization_covered, a.standalone_covered, a.work_covered, a.two_covered,
            a.required, a.required_covered, a.r3_violations) == (9, 6, 2, 1, 7, 4, 3, 1)
    b = departments[f"district-{DISTRICT_B}"]
    assert (b.baseline, b.organization_covered, b.work_covered, b.required, b.required_covered) == (1, 0, 1, 1, 0)
    assert rates(b)["standalone_rate"].percent is None  # no organization: no standalone rate, not 0%
    assert departments["civil-affairs"].organization_covered == 1
    assert departments["civil-affairs"].standalone_covered == 0
    assert departments["supervisor-education"].standalone_covered == 1
    kinds = by("kind")
    assert kinds["non_public_enterprise"].baseline == 8 and kinds["rural_entity"].baseline == 1
    assert kinds["social_organization"].baseline == 3
    assert kinds["non_public_enterprise"].organization_covered == 5  # E1, E3, E4, E6, E13
    assert sum(departments.values(), Counters()) == by("city")["city"]


def test_order_of_streams_does_not_matter():
    """Topics and partitions interleave arbitrarily; per-stream order is all that is kept."""
    events = campaign().events
    streams: dict[str, list] = {}
    for _, envelope in events:
        streams.setdefault(envelope.stream_id, []).append(envelope)
    state = CampaignState()
    for stream in sorted(streams, reverse=True):  # every stream's events together, streams in reverse order
        for envelope in streams[stream]:
            state.apply(envelope.type, envelope.payload, str(envelope.event_id))
    other = {e: derive_status(e, i) for e, i in state.all_inputs().items()}
    assert other == statuses()
