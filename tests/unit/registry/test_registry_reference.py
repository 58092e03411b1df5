"""Shared reference data: territory, departments, calendar (platform_core.reference)."""

import json
from datetime import date

import pytest

from platform_core.auth import PERMISSIONS
from platform_core.reference import load_calendar, load_departments, load_industries, load_territory


def test_the_2016_city_has_its_13_districts_and_functional_zones():
    territory = load_territory()
    assert (territory.code, territory.name) == ("420100", "武汉市")
    districts = [d for d in territory.districts if d.kind == "district"]
    assert [d.code for d in districts] == ["420102", "420103", "420104", "420105", "420106", "420107", "420111",
                                           "420112", "420113", "420114", "420115", "420116", "420117"]
    zones = {d.name: d.code for d in territory.districts if d.kind == "functional_zone"}
    assert {"东湖新技术开发区", "武汉经济技术开发区", "东湖生态旅游风景区"} <= set(zones)
    assert all(code.startswith("42019") for code in zones.values())
    assert all(d.note and "平台指定" in d.note for d in territory.districts if d.kind == "functional_zone")


def test_every_street_has_a_9_digit_code_under_its_district_and_parks_exist():
    territory = load_territory()
    streets = list(territory.streets())
    assert len(streets) > 150
    assert all(len(s.code) == 9 and s.code.startswith(s.district_code) for s in streets)
    assert territory.street("420102002").name == "大智街道"
    assert any(s.kind == "development_zone" for s in streets)
    assert all(d.streets for d in territory.districts)
    assert territory.street_by_name("420103", "北湖街道").code != territory.street_by_name("420194", "北湖街道").code


def test_another_city_loads_from_a_file(tmp_path):
    path = tmp_path / "city.json"
    path.write_text(json.dumps({"code": "110100", "name": "北京市", "districts": [
        {"code": "110101", "name": "东城区", "kind": "district",
         "streets": [{"code": "110101001", "name": "东华门街道", "kind": "street"}]}]}, ensure_ascii=False))
    territory = load_territory(path)
    assert territory.name_of("110101001") == "东华门街道"


def test_a_malformed_territory_file_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"code": "110100", "name": "x", "districts": [
        {"code": "110101", "name": "a", "kind": "district",
         "streets": [{"code": "120101001", "name": "b", "kind": "street"}]}]}))
    with pytest.raises(ValueError, match="9 digits under 110101"):
        load_territory(path)


def test_departments_cover_every_permission_kind():
    directory = load_departments()
    assert set(directory.departments) == set(PERMISSIONS)
    assert directory.name_of("civil_affairs") == "市民政局"
    assert "education" in directory.supervising_departments


def test_industries_include_internet_and_cultural_creative():
    assert {"internet", "cultural_creative"} <= set(load_industries())


def test_calendar_2016_defaults_and_overrides():
    calendar = load_calendar()
    assert calendar.milestone("survey").due == date(2016, 8, 26)
    assert calendar.milestone("acceptance").starts == date(2016, 11, 21)
    assert calendar.milestone("look_back").due == date(2016, 12, 30)
    deadlines = calendar.report_deadlines()
    assert deadlines[0] == date(2016, 8, 25) and date(2016, 12, 25) in deadlines and len(deadlines) == 9
    moved = load_calendar(overrides={"survey": "2016-09-01"})
    assert moved.milestone("survey").due == date(2016, 9, 1) and moved.milestone("survey").is_late(date(2016, 9, 2))
    with pytest.raises(ValueError, match="unknown milestone"):
        load_calendar(overrides={"party": "2016-01-01"})
