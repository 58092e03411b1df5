"""The dashboard's pure parts: SVG charts, rate cells against targets, overdue order, daily coverage."""

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from platform_core.reference import load_calendar
from reporting.dashboard import board, charts
from reporting.dashboard.auth import BadNext, safe_next
from reporting.domain.rates import Counters
from reporting.domain.reports import end_of_day

SVG = "{http://www.w3.org/2000/svg}"
DAYS = tuple(date(2016, 9, 1) + timedelta(days=n) for n in range(3))


def test_line_chart_is_valid_svg_with_series_target_milestone_and_points():
    chart = charts.Chart("全市组织覆盖率<按日>", date(2016, 9, 1), date(2016, 9, 3),
                         series=(charts.Series("组织覆盖率", DAYS, (0.0, 50.0, None)),),
                         targets=(("目标 80%", 80.0),), milestones=(("集中组建", date(2016, 9, 2)),),
                         points=(("通报", date(2016, 9, 3), 66.67),))
    root = ET.fromstring(charts.line_chart(chart))
    assert root.find(f"{SVG}title").text == "全市组织覆盖率<按日>"  # escaped in the text, intact when parsed
    line = root.find(f"{SVG}polyline")
    assert line.get("stroke") == charts.SERIES_COLORS[0]
    # 0% at the bottom of the plot, 50% half way up; the day without a rate is left out
    assert line.get("points") == f"{charts.LEFT:.1f},{charts.y_of(0):.1f} {charts.x_of(DAYS[1], DAYS[0], DAYS[2]):.1f},{charts.y_of(50):.1f}"
    assert charts.y_of(0) == charts.HEIGHT - charts.BOTTOM and charts.y_of(100) == charts.TOP
    target = [l for l in root.iter(f"{SVG}line") if l.get("stroke") == charts.TARGET_COLOR]
    assert target and float(target[0].get("y1")) == pytest.approx(charts.y_of(80))
    circle = root.find(f"{SVG}circle[@fill='{charts.POINT_COLOR}']")
    assert float(circle.get("cx")) == charts.WIDTH - charts.RIGHT
    assert "66.67%" in circle.find(f"{SVG}title").text


def test_chart_rejects_an_end_before_its_start():
    with pytest.raises(ValueError):
        charts.line_chart(charts.Chart("x", date(2016, 9, 2), date(2016, 9, 1)))


def test_daily_values_have_no_rate_without_a_baseline():
    assert charts.daily_values(DAYS, (0, 1, 2), 0) == (None, None, None)
    assert charts.daily_values(DAYS, (0, 1, 2), 4) == (0.0, 25.0, 50.0)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_y_stays_inside_the_plot(percent):
    assert charts.TOP <= charts.y_of(percent) <= charts.HEIGHT - charts.BOTTOM


def test_rate_cells_show_numerator_denominator_and_target():
    cells = {c.name: c for c in board.rate_cells(Counters(baseline=9, organization_covered=6, work_covered=1,
                                                          two_covered=7, required=2, required_covered=2))}
    assert (cells["组织覆盖率"].rate.text(), cells["组织覆盖率"].met) == ("66.67%", False)
    assert (cells["工作覆盖率"].rate.numerator, cells["工作覆盖率"].rate.denominator) == (1, 9)
    assert cells["工作覆盖率"].met is None
    assert cells["应建尽建覆盖率"].met is True
    at_target = {c.name: c for c in board.rate_cells(Counters(baseline=5, organization_covered=4, two_covered=5))}
    assert at_target["组织覆盖率"].met is True  # 80.00% meets ≥80% (boundary)
    assert board.rate_cells(Counters())[0].met is None  # no baseline: no rate, not a failure


def task(state: str, covered: bool, required: bool = True, work: bool = False) -> dict:
    return {"task_state": state, "organization_covered": covered, "required_reason": "R2" if required else None,
            "work_covered": work}


def test_overdue_follows_the_r9_rule_on_the_r10_deadlines():
    calendar = load_calendar()
    formation, acceptance = calendar.milestone("formation").due, calendar.milestone("acceptance").due
    after = formation + timedelta(days=1)
    assert board.overdue_milestone(task("open", False), formation, calendar) is None  # the due day is in time
    assert board.overdue_milestone(task("open", False), after, calendar) == "formation"
    assert board.overdue_milestone(task("open", False, required=False, work=True), after, calendar) is None
    assert board.overdue_milestone(task("open", False, required=False), after, calendar) == "formation"
    assert board.overdue_milestone(task("organization_formed", True), after, calendar) is None
    assert board.overdue_milestone(task("organization_formed", True), acceptance + timedelta(days=1),
                                   calendar) == "acceptance"
    assert board.overdue_milestone(task("closed", True), acceptance + timedelta(days=30), calendar) is None


def test_board_puts_overdue_tasks_first():
    calendar = load_calendar()
    tasks = [{"entity_id": "e1", "name": "甲", **task("closed", True)},
             {"entity_id": "e2", "name": "乙", **task("organization_formed", True)},
             {"entity_id": "e3", "name": "丙", **task("open", False)}]
    ordered = board.board_order(tasks, date(2016, 11, 25), calendar)
    assert [t["entity_id"] for t in ordered] == ["e3", "e2", "e1"]
    assert [t["overdue"] for t in ordered] == ["formation", None, None]


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone(timedelta(hours=8))).astimezone(timezone.utc)


def test_covered_per_day_counts_entities_once_at_the_end_of_each_city_day():
    spans = [("a", _at(DAYS[0], 10), None),  # covered from day 0
             ("a", _at(DAYS[1], 9), None),  # a second organization: still one entity
             ("b", _at(DAYS[1], 23), _at(DAYS[2], 8)),  # covered at the end of day 1 only
             ("c", _at(DAYS[0], 1), _at(DAYS[0], 5)),  # covered within day 0 only: never at a day's end
             ("d", end_of_day(DAYS[2]), None)]  # formed at the last instant of day 2: counts
    assert board.covered_per_day(spans, DAYS) == [1, 2, 2]


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 96), st.one_of(st.none(), st.integers(1, 96))),
                max_size=12))
def test_covered_per_day_equals_a_direct_count(raw):
    base = end_of_day(DAYS[0]) - timedelta(hours=30)
    spans = [(e, base + timedelta(hours=s), None if u is None else base + timedelta(hours=s + u)) for e, s, u in raw]
    direct = [len({e for e, start, until in spans if start <= end_of_day(d) and (until is None or until > end_of_day(d))})
              for d in DAYS]
    assert board.covered_per_day(spans, DAYS) == direct


@pytest.mark.parametrize("raw", ["http://evil.example/dashboard", "//evil.example/dashboard", "/audit/events",
                                 "/dashboard/../audit", "/dashboardx", "dashboard/", "/dashboard\\..\\x",
                                 "/dashboard/login?next=/x", "javascript:alert(1)"])
def test_login_next_must_be_a_relative_path_under_the_dashboard(raw):
    with pytest.raises(BadNext):
        safe_next(raw)


def test_login_next_accepts_dashboard_paths():
    assert safe_next(None) == "/dashboard/"
    assert safe_next("/dashboard") == "/dashboard"
    assert safe_next("/dashboard/districts/420102?state=open") == "/dashboard/districts/420102?state=open"
