"""一企一策 / 一社一策 plans (pure, R9/R10): the label by kind, the target date inside the calendar, overdue
at the target date's boundary, text that no plan holds, and every event valid against its contract."""

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formation.domain import plans
from formation.domain.model import EntityFacts
from platform_core.contracts import event_types_for
from platform_core.errors import AlreadyExists, RuleViolation
from platform_core.reference import load_calendar
from platform_core.rules.plans import plan_label, plan_overdue

CONTRACT = event_types_for("formation")
CALENDAR = load_calendar()
TODAY = date(2016, 9, 10)


def facts(kind: str = "non_public_enterprise") -> EntityFacts:
    return EntityFacts(f"entity-{uuid.uuid4()}", kind, district_code="420102", street_code="420102001", name="测试单位")


def content(target: date = date(2016, 10, 31), measures=("排查党员",)) -> plans.PlanContent:
    return plans.PlanContent(tuple(measures), target, f"person-{uuid.uuid4()}", "街道党工委副书记")


def valid(event):
    CONTRACT.validate_payload(event.type, event.payload)
    return event


@pytest.mark.parametrize("kind,label", [("non_public_enterprise", "一企一策"), ("social_organization", "一社一策"),
                                        ("rural_entity", "一企一策")])
def test_the_kind_decides_the_label(kind, label):
    event = valid(plans.decide_create(facts(kind), "street-420102001", False, None, content(), CALENDAR, TODAY))
    assert event.payload["label"] == plan_label(kind) == label
    assert event.stream_id == event.payload["plan_id"] == plans.plan_stream(event.payload["entity_id"])


def test_create_refuses_a_covered_entity_and_a_second_plan():
    entity = facts()
    with pytest.raises(RuleViolation) as covered:
        plans.decide_create(entity, None, True, None, content(), CALENDAR, TODAY)
    assert covered.value.rule == "R9" and covered.value.field == "entity_id"
    existing = plans.Plan(plans.plan_stream(entity.entity_id), entity.entity_id, content(), 0, TODAY)
    with pytest.raises(AlreadyExists):
        plans.decide_create(entity, None, False, existing, content(), CALENDAR, TODAY)


@given(st.dates(date(2016, 1, 1), date(2017, 3, 1)))
def test_target_date_inside_the_calendar_and_not_before_today(target):
    ok = CALENDAR.starts <= target <= CALENDAR.ends and target >= TODAY
    if ok:
        valid(plans.decide_create(facts(), None, False, None, content(target), CALENDAR, TODAY))
    else:
        with pytest.raises(RuleViolation) as refused:
            plans.decide_create(facts(), None, False, None, content(target), CALENDAR, TODAY)
        assert (refused.value.field, refused.value.rule) == ("target_date", "R10")


@given(st.dates(date(2016, 8, 14), date(2016, 12, 30)), st.integers(-3, 3), st.booleans())
def test_overdue_only_after_the_target_day_and_only_without_an_organization(target, offset, covered):
    today = target + timedelta(days=offset)
    assert plan_overdue(target, today, covered) is (offset >= 1 and not covered)


def test_revise_counts_revisions_and_refuses_no_change():
    entity = facts("social_organization")
    plan = plans.Plan(plans.plan_stream(entity.entity_id), entity.entity_id, content(), 0, TODAY)
    event = valid(plans.decide_revise(plan, entity, None, replace(plan.content, target_date=date(2016, 11, 20)),
                                      "提前完成", CALENDAR, TODAY))
    assert event.payload["revision"] == 1 and event.payload["label"] == "一社一策"
    with pytest.raises(RuleViolation):
        plans.decide_revise(plan, entity, None, plan.content, "无变化", CALENDAR, TODAY)
    with pytest.raises(RuleViolation) as late:
        plans.decide_revise(plan, entity, None, replace(plan.content, target_date=date(2017, 1, 5)), "x", CALENDAR,
                            TODAY)
    assert late.value.field == "target_date"


def test_notes_are_dated_between_the_plan_and_today():
    entity = facts()
    plan = plans.Plan(plans.plan_stream(entity.entity_id), entity.entity_id, content(), 0, TODAY)
    valid(plans.decide_note(plan, entity, None, "第一行\n第二行", TODAY, TODAY))
    for day in (TODAY + timedelta(days=1), TODAY - timedelta(days=1)):
        with pytest.raises(RuleViolation) as refused:
            plans.decide_note(plan, entity, None, "进展", day, TODAY)
        assert refused.value.field == "noted_on"


@pytest.mark.parametrize("text,newlines,bad", [("措施一", False, False), ("a\nb", True, False), ("a\nb", False, True),
                                               ("a\x07", True, True), ("a\u200bb", False, True), ("\ue000", False, True)])
def test_unprintable_characters(text, newlines, bad):
    assert (plans.unprintable(text, newlines=newlines) is not None) is bad
