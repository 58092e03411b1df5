"""The dashboard's names for internal identifiers (reporting.dashboard.labels): every event type, the units
and ledger units, accountability subjects, and Beijing time."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from platform_core.contracts import every_event_type
from platform_core.reference import load_territory
from reporting.dashboard import labels
from reporting.handlers.bulletin_figures import unit_name


def test_every_event_type_has_a_chinese_name():
    known = set(every_event_type()._latest)
    assert known - set(labels.EVENT_TYPES_ZH) == set()
    assert all(not name.isascii() for name in labels.EVENT_TYPES_ZH.values())
    assert labels.event_type("EntityRegistered") == "单位登记"


def test_units_and_ledger_units_by_name():
    assert unit_name("district-420102") == "江岸区委组织部"
    assert unit_name("district-420102-social") == "江岸区社会组织台帐"
    assert unit_name("district-420102-enterprise") == "江岸区非公企业汇总台帐"
    street = load_territory().street("420102002")
    assert unit_name("street-420102002") == "江岸区" + street.name
    assert unit_name("civil-affairs") == "市民政局"


def test_streets_by_name_and_codes_the_territory_lacks_marked():
    assert labels.street("420102002") == load_territory().street("420102002").name
    assert labels.street("420102001") == "420102001（区划表中无此街道）"
    assert labels.district("420102") == "江岸区"


def test_accountability_subjects():
    assert labels.accountability_subject("formation") == "抓好集中组建"
    assert labels.accountability_subject("survey:district-420102-social").endswith("（江岸区社会组织台帐）")
    assert labels.accountability_subject("2016-09-10") == "2016-09-10"
    assert labels.accountability_subject("0f8fad5b-d9cb-469f-a165-70867728950e") == "检查"
    assert labels.accountability_subject("check-4b7e688c-c352-461e-8871-24c240143b4b") == "检查"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_city_time_is_utc_plus_eight(moment):
    utc = moment.replace(tzinfo=timezone.utc)
    expected = (moment + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert labels.city_time(utc) == expected
    assert labels.city_time(utc.isoformat().replace("+00:00", "Z")) == expected
    assert labels.city_time(moment) == expected  # naive: the platform stores UTC


def test_city_time_leaves_what_it_cannot_read():
    assert labels.city_time(None) == "" and labels.city_time("") == ""
    assert labels.city_time("gestern") == "gestern"
