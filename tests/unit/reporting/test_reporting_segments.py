"""Segments (docs/reporting.md): every breakdown's total is the scope's un-broken-down counters and rates;
an entity counts in each of its segments and once in the total."""

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.rates import Counters, count, rates
from reporting.domain.segments import (ATTRIBUTES, BREAKDOWNS, NOT_REQUIRED, UNSPECIFIED, as_dict, breakdown,
                                       cells_of, segments_of)
from reporting.domain.status import Inputs, derive_status

SUBTYPES = {"non_public_enterprise": ["private", "foreign_invested", "hmt_invested", "other"],
            "social_organization": ["social_group", "private_school", "law_firm", "other"],
            "rural_entity": ["farmers_cooperative", "other"]}


@st.composite
def statuses(draw):
    kind = draw(st.sampled_from(sorted(SUBTYPES)))
    facts = {"name": "x", "kind": kind, "subtype": draw(st.sampled_from(SUBTYPES[kind])),
             "level": draw(st.sampled_from(["city", "district"])), "district_code": "420102",
             "street_code": draw(st.sampled_from(["420102001", "420102002", "420103001"])),
             "employees": draw(st.integers(0, 150)), "formal_members": draw(st.integers(0, 4)),
             "probationary_members": 0, "above_scale": draw(st.booleans()),
             "industry": draw(st.sampled_from(["internet", "manufacturing", None]))}
    modes = draw(st.lists(st.sampled_from(["standalone", "joint"]), max_size=2))
    inputs = Inputs(facts, approved=True, flags=draw(st.sampled_from([frozenset(),
                    frozenset({"shell"})])), organizations=tuple((f"o{i}", m) for i, m in enumerate(modes)),
                    formation_named=bool(modes), work_sources=draw(st.integers(0, 1)),
                    federation_member=draw(st.booleans()))
    return derive_status(draw(st.uuids()).hex, inputs)


@given(st.lists(statuses(), max_size=30), st.sampled_from(BREAKDOWNS))
def test_total_is_the_unbroken_rate_and_each_entity_counts_in_each_of_its_segments(found, by):
    result = breakdown(cells_of(found), by)
    scope = sum((count(s) for s in found), Counters())
    assert result.total == scope
    assert {k: r.as_dict() for k, r in rates(result.total).items()} == \
        {k: r.as_dict() for k, r in rates(scope).items()}
    for segment, counters in result.segments.items():
        members = [s for s in found if s.in_baseline and segment in segments_of(cells_of([s])[0][0], by)]
        assert counters == sum((count(s) for s in members), Counters())
    if by in ("industry", "street"):  # a partition: the rows add up to the total
        assert sum(result.segments.values(), Counters()) == result.total


@given(st.lists(statuses(), max_size=30))
def test_reasons_count_every_reason_and_the_required_set_once(found):
    result = breakdown(cells_of(found), "reason")
    baseline = [s for s in found if s.in_baseline]
    assert result.total.required == sum(1 for s in baseline if s.required_reasons)
    assert sum(c.baseline for k, c in result.segments.items() if k != NOT_REQUIRED) == \
        sum(len(s.required_reasons) for s in baseline)
    assert result.segments.get(NOT_REQUIRED, Counters()).required == 0


def test_an_entity_with_two_reasons_counts_in_both_and_once_in_the_total():
    facts = {"name": "大厂", "kind": "non_public_enterprise", "subtype": "foreign_invested", "district_code": "420102",
             "street_code": "420102001", "employees": 120, "formal_members": 3, "probationary_members": 0,
             "above_scale": True, "industry": None}
    two = derive_status("e1", Inputs(facts, approved=True, organizations=(("o1", "standalone"),),
                                     formation_named=True, federation_member=True))
    small = derive_status("e2", Inputs({**facts, "employees": 5, "formal_members": 0, "subtype": "private",
                                        "above_scale": False, "industry": "manufacturing"}, approved=True))
    assert two.required_reasons == ("enterprise_100", "formal_members_3")
    result = breakdown(cells_of([two, small]), "reason")
    assert result.segments["enterprise_100"].required_covered == 1
    assert result.segments["formal_members_3"].required_covered == 1
    assert (result.total.required, result.total.required_covered, result.total.baseline) == (1, 1, 2)
    assert result.segments[NOT_REQUIRED].baseline == 1
    shown = as_dict(result, {})
    assert shown["total"]["rates"]["required_coverage"] == {"numerator": 1, "denominator": 1, "percent": "100.00"}
    attributes = breakdown(cells_of([two, small]), "attribute")
    assert list(attributes.segments) == list(ATTRIBUTES) and all(c.baseline == 1 for c in attributes.segments.values())
    assert list(breakdown(cells_of([two, small]), "industry").segments) == ["manufacturing", UNSPECIFIED]
