"""R10b setup milestones at their boundaries: done on the due day is on time, the day after late; due today and
not done is not yet missing, the day after it is; the checklist per district and per declared zone, and the
calendar's due dates (docs/rules.md, R10b)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.reference import load_calendar
from platform_core.rules.milestones import milestone_state
from reporting.domain.milestones import GatheringZone, MilestoneRecord, checklist, tally

DAYS = st.dates(min_value=date(2016, 8, 1), max_value=date(2016, 12, 31))


@given(DAYS, st.integers(0, 60))
def test_done_by_the_due_day_is_on_time_after_it_late(due, later):
    today = due + timedelta(days=later)
    assert milestone_state(due, due, today) == "on_time"
    assert milestone_state(due, due - timedelta(days=1 + later), today) == "on_time"
    assert milestone_state(due, due + timedelta(days=1), due + timedelta(days=1 + later)) == "late"


@given(DAYS, st.integers(1, 60))
def test_not_done_is_missing_only_after_the_due_day(due, days):
    assert milestone_state(due, None, due) == "not_due"  # due today, not done: not yet missing
    assert milestone_state(due, None, due - timedelta(days=days)) == "not_due"
    assert milestone_state(due, None, due + timedelta(days=1)) == "missing"
    assert milestone_state(due, None, due + timedelta(days=days)) == "missing"


@given(DAYS, st.integers(1, 60))
def test_a_record_dated_after_the_day_asked_is_not_yet_done(due, days):
    done_on = due + timedelta(days=days)
    assert milestone_state(due, done_on, done_on - timedelta(days=1)) == ("missing" if done_on - timedelta(days=1) > due
                                                                         else "not_due")


def test_the_calendar_gives_the_plans_dates_and_moves_them_with_their_milestone():
    calendar = load_calendar()
    due = {m.key: (m.scope, m.due) for m in calendar.setup_milestones}
    assert due == {"work_plan": ("district", date(2016, 8, 15)), "training": ("district", date(2016, 8, 17)),
                   "task_force": ("district", date(2016, 8, 17)), "guidance_station": ("zone", date(2016, 11, 20)),
                   "party_committee": ("zone", date(2016, 11, 20))}
    moved = load_calendar(overrides={"plan": "2017-08-20"})
    assert moved.setup_milestone("work_plan").due == date(2017, 8, 20)
    assert all(m.basis and m.section for m in calendar.setup_milestones)


def test_a_setup_milestone_needs_one_due_date_and_a_scope(tmp_path):
    import json
    from platform_core.reference._files import read_json
    raw = read_json(None, "campaign-wuhan-2016.json")
    for broken in ({"key": "x", "name": "x", "scope": "street", "due": "2016-08-15"},
                   {"key": "x", "name": "x", "scope": "district"},
                   {"key": "x", "name": "x", "scope": "district", "due_of": "nothing"}):
        path = tmp_path / "c.json"
        path.write_text(json.dumps(raw | {"setup_milestones": [broken]}), encoding="utf-8")
        with pytest.raises(ValueError):
            load_calendar(path)


def test_the_checklist_lists_each_district_and_its_zones_declared_by_the_day():
    setup = load_calendar().setup_milestones
    park = GatheringZone("zone-a", "420102", "江岸经济开发区", "development_zone", date(2016, 9, 1))
    later = GatheringZone("zone-b", "420102", "后来的园区", "park", date(2016, 11, 25))
    records = [MilestoneRecord("work_plan", "420102", None, date(2016, 8, 15)),
               MilestoneRecord("training", "420102", None, date(2016, 8, 18)),
               MilestoneRecord("guidance_station", "420102", "zone-a", date(2016, 10, 1)),
               MilestoneRecord("work_plan", "420103", None, date(2016, 12, 1))]
    items = checklist(setup, ["420102", "420103"], [park, later], records, date(2016, 11, 21))
    states = {(i.district_code, i.zone.zone_id if i.zone else None, i.milestone.key): i.state for i in items}
    assert states == {
        ("420102", None, "work_plan"): "on_time", ("420102", None, "training"): "late",
        ("420102", None, "task_force"): "missing",
        ("420102", "zone-a", "guidance_station"): "on_time", ("420102", "zone-a", "party_committee"): "missing",
        ("420103", None, "work_plan"): "missing", ("420103", None, "training"): "missing",
        ("420103", None, "task_force"): "missing"}
    assert tally(items) == {"on_time": 2, "late": 1, "missing": 5, "not_due": 0}
    early = checklist(setup, ["420102"], [park, later], records, date(2016, 8, 16))
    assert [i.state for i in early if i.zone is None] == ["on_time", "not_due", "not_due"]
