"""Measuring the detectors against planted cases: what counts as found, and as a false alarm."""

from datetime import date

from reporting.domain.signals.measure import measure
from reporting.domain.signals.records import make_signal


def signal(kind, key, districts, entities=(), organizations=(), **detail):
    return make_signal(kind, key, districts, entities, ["e1"], "说明", {}, organizations, date(2016, 11, 1), **detail)


def by_kind(rows):
    return {row.kind: row for row in rows}


def test_found_cases_and_false_alarms_per_kind():
    planted = [
        {"kind": "borrowed_members", "district": "420104", "entity_ids": ["a"], "organization_ids": ["o1"]},
        {"kind": "borrowed_members", "district": "420104", "entity_ids": ["b"], "organization_ids": ["o2"]},
        {"kind": "bulk_checks", "district": "420104", "entity_ids": [], "organization_ids": [], "checker": "d/rush"},
        {"kind": "report_jump", "district": "420104", "entity_ids": [], "organization_ids": [], "deadline": "2016-10-25"},
        {"kind": "shadow_pattern", "district": "420104", "entity_ids": ["x", "y"], "organization_ids": []},
    ]
    signals = [signal("borrowed_members", "1", ["420104"], organizations=["o1"]),
               signal("borrowed_members", "2", ["420102"], organizations=["o9"]),       # honest district
               signal("bulk_checks", "3", ["420104"], checker="d/checker-1"),            # another checker
               signal("report_jump", "4", ["420104"], deadline="2016-10-25"),
               signal("shadow_pattern", "5", ["420104"], entities=["x"])]                # not the whole group
    rows = by_kind(measure(signals, planted, ["420104"]))
    assert (rows["borrowed_members"].found, rows["borrowed_members"].recall) == (1, 0.5)
    assert (rows["borrowed_members"].false_alarms, rows["borrowed_members"].honest_false_alarms) == (1, 1)
    assert rows["borrowed_members"].false_alarm_share == 0.5
    assert (rows["bulk_checks"].found, rows["bulk_checks"].false_alarms, rows["bulk_checks"].honest_false_alarms) \
        == (0, 1, 0)
    assert rows["report_jump"].recall == 1 and rows["report_jump"].false_alarms == 0
    assert rows["shadow_pattern"].found == 0
    assert rows["check_mismatch"].recall is None and rows["check_mismatch"].false_alarm_share is None


def test_the_bulletin_lines_count_signals_per_district_and_leave_out_dismissed_ones():
    from reporting.domain.signals.bulletin_lines import problem_lines

    signals = [signal("borrowed_members", "1", ["420102"]), signal("borrowed_members", "2", ["420102"]),
               signal("bulk_checks", "3", ["420102"]), signal("shadow_pattern", "4", ["420103"]),
               signal("report_jump", "5", ["420104"])]
    marks = {signals[2].signal_id: "confirmed", signals[3].signal_id: "dismissed"}
    lines = problem_lines(signals, {"420102": "江岸区", "420103": "江汉区", "420105": "汉阳区"}, marks)
    assert lines == ["江岸区：数据分析发现疑点3条（借调党员凑数2条、检查验收过快过密1条），其中1条经核实确认。"]
    assert problem_lines(signals[:1], {"420102": "江岸区"}) == ["江岸区：数据分析发现疑点1条（借调党员凑数1条），待核实。"]

