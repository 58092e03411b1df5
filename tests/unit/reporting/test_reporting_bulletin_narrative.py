"""The 通报's narrative: drafted from the figures, lagging districts named at the documented thresholds
(boundaries by hypothesis), and the checks on the text the city department publishes."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.errors import SchemaViolation
from reporting.domain import bulletin_narrative as narrative
from reporting.domain.bulletin import BulletinData, BulletinRow
from reporting.domain.rates import Counters


def district(code: str, name: str, baseline: int, covered: int, standalone: int = 0,
             start: Counters | None = None) -> BulletinRow:
    now = Counters(baseline=baseline, organization_covered=covered, standalone_covered=standalone)
    return BulletinRow(f"district-{code}", name, now, now, start)


def figures(*districts: BulletinRow, reports: list[dict] | None = None) -> dict:
    total_now = sum((row.counters for row in districts), Counters())
    starts = [row.start for row in districts if row.start is not None]
    total = BulletinRow("city", "全市", total_now, total_now, sum(starts, Counters()) if starts else None)
    return BulletinData("420100", "武汉市", date(2016, 11, 25), date(2016, 11, 10), list(districts), [], total,
                        reports=reports or [], start_date=date(2016, 8, 26)).as_dict()


@given(st.integers(0, 100), st.integers(0, 100))
def test_a_district_lags_from_ten_points_below_the_city(a_covered, b_covered):
    """Two districts of 100: the city's rate is their mean, so A is (b - a) / 2 points below it; named from 10."""
    data = figures(district("420102", "江岸区", 100, a_covered), district("420103", "江汉区", 100, b_covered))
    named = {item.name for item in narrative.lagging_districts(data)}
    assert ("江岸区" in named) == (b_covered - a_covered >= 20)
    assert ("江汉区" in named) == (a_covered - b_covered >= 20)
    text = narrative.draft(data)
    problems = text.split("二、存在问题")[1].split("三、下步要求")[0]
    assert ("江岸区：组织覆盖率" in problems) == (b_covered - a_covered >= 20)


def test_coverage_gap_boundary_by_hand():
    at_boundary = figures(district("420102", "江岸区", 100, 40), district("420103", "江汉区", 100, 60))
    assert [item.name for item in narrative.lagging_districts(at_boundary)] == ["江岸区"]  # 50 - 40 = 10 points
    assert narrative.lagging_districts(at_boundary)[0].reasons == ("组织覆盖率40.00%，低于全市10.00个百分点",)
    just_above = figures(district("420102", "江岸区", 100, 41), district("420103", "江汉区", 100, 59))
    assert narrative.lagging_districts(just_above) == []  # 9 points
    empty = figures(district("420102", "江岸区", 0, 0), district("420103", "江汉区", 100, 60))
    assert narrative.lagging_districts(empty) == []  # no baseline, no rate: not named


@given(st.integers(0, 100), st.integers(0, 100))
def test_a_district_whose_standalone_rate_rose_less_than_five_points_is_named(at_start, now):
    """100 organizations at the survey and now: the rate's change is (now - at_start) points; named below 5."""
    start = Counters(baseline=100, organization_covered=100, standalone_covered=at_start)
    data = figures(district("420102", "江岸区", 100, 100, now, start))
    named = narrative.lagging_districts(data)
    assert bool(named) == (now - at_start < 5)
    if named:
        assert "未明显提升" in named[0].reasons[-1]


def test_no_standalone_rate_at_the_start_names_no_one():
    start = Counters(baseline=100)  # no organization at the survey: no rate to compare with
    data = figures(district("420102", "江岸区", 100, 100, 0, start))
    assert data["districts"][0]["since_start"] == {"standalone_rate": {"numerator": 0, "denominator": 0,
                                                                       "percent": None},
                                                   "standalone_rate_points": None}
    assert narrative.lagging_districts(data) == []
    assert "摸底排查时无可比的单独组建率" in narrative.draft(data)


def test_draft_has_three_parts_and_names_late_units():
    reports = [{"unit": "district-420102", "unit_name": "江岸区委组织部", "deadline": "2016-11-10", "status": "missing",
                "discrepancies": []},
               {"unit": "civil-affairs", "unit_name": "市民政局", "deadline": "2016-11-10", "status": "on_time",
                "discrepancies": [{"figure": "baseline", "reported": 3, "derived": 2, "difference": 1}]},
               {"unit": "city-organs", "unit_name": "市直机关工委", "deadline": "2016-11-25", "status": "pending",
                "discrepancies": []}]
    start = Counters(baseline=100, organization_covered=50, standalone_covered=10)
    data = figures(district("420102", "江岸区", 100, 80, 40, start), reports=reports)
    text = narrative.draft(data)
    lines = text.splitlines()
    assert lines[0] == "一、进展" and "二、存在问题" in lines and "三、下步要求" in lines
    assert "截至2016年11月25日" in text and "组织覆盖率80.00%" in text
    assert "单独组建率50.00%（较摸底排查时提高30.00个百分点）" in text  # 40/80 now, 10/50 at the survey
    assert "11月10日半月报未报送的有江岸区委组织部" in text and "市民政局" in text
    assert "市直机关工委" not in text  # a report in its grace period is not named
    assert narrative.check_text(text) == text


def test_check_text_limits():
    assert narrative.check_text("一、进展\r\n好") == "一、进展\n好"
    assert narrative.check_text("字" * narrative.NARRATIVE_MAX_CHARS)
    with pytest.raises(SchemaViolation) as long:
        narrative.check_text("字" * (narrative.NARRATIVE_MAX_CHARS + 1))
    assert (long.value.field, long.value.rule) == ("narrative", "narrative_max_chars")
    with pytest.raises(SchemaViolation) as blank:
        narrative.check_text(" \n ")
    assert blank.value.rule == "narrative_not_blank"


@given(st.characters(categories=["Cc", "Cf", "Co", "Zl", "Zp"]).filter(lambda c: c not in "\n\r"))
def test_control_and_invisible_characters_are_refused(char):
    with pytest.raises(SchemaViolation) as refused:
        narrative.check_text(f"一、进展{char}好")
    assert (refused.value.field, refused.value.rule) == ("narrative", "narrative_characters")


def test_the_signals_are_named_in_the_problems_only_when_the_city_chooses():
    """The detectors' lines (reporting.domain.signals.bulletin_lines) go into 二、存在问题 when given; the plain
    draft says nothing of signals."""
    data = figures(district("420102", "江岸区", 100, 60), district("420103", "江汉区", 100, 62))
    plain = narrative.draft(data)
    cited = narrative.draft(data, ["江岸区：数据分析发现疑点1条（借调党员凑数1条），待核实。"])
    assert "疑点" not in plain
    problems = cited.split("二、存在问题")[1].split("三、下步要求")[0]
    assert "数据分析发现的疑点（尚待核实的不作结论）：江岸区：数据分析发现疑点1条（借调党员凑数1条），待核实。" in problems
