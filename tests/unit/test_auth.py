"""Departments and their scopes (pure); tokens are in test_tokens.py."""

import pytest

from platform_core.auth import Forbidden, Principal, division_prefix, territory_level_problem, territory_shape_problem
from platform_core.reference import load_territory

HONGSHAN = Principal(department="district_org:420111", kind="district_org", user="li", territory="420111")


def test_district_writes_only_in_its_district():
    HONGSHAN.require("entity.register", territory="420111002")
    with pytest.raises(Forbidden, match="only in territory 420111, not in 420102"):
        HONGSHAN.require("entity.register", territory="420102")


def test_a_department_may_do_only_what_it_owns():
    market = Principal(department="market_regulation", kind="market_regulation", user="wang")
    market.require("entity.flag")
    with pytest.raises(Forbidden, match="may not ledger.approve"):
        market.require("ledger.approve")


def test_sector_departments_stay_in_their_sectors():
    education = Principal(department="education", kind="education", user="zhao", sectors=("private_school",))
    education.require("entity.verify", sector="private_school")
    with pytest.raises(Forbidden, match="private_school"):
        education.require("entity.verify", sector="law_firm")


@pytest.mark.parametrize("code, prefix", [
    ("420000", "42"), ("420100", "4201"), ("420110", "420110"), ("420111", "420111"), ("420111002", "420111002"),
])
def test_division_prefix_follows_gb_t_2260_levels(code, prefix):
    assert division_prefix(code) == prefix


@pytest.mark.parametrize("kind, territory, problem", [
    ("district_org", None, "must name its district"),
    ("district_org", "420100", "not a district code"),  # the city
    ("district_org", "420102001", "not a district code"),  # a street
    ("district_org", "42010２", "not a district code"),  # a full-width digit
    ("district_org", "420102\n", "not a district code"),
    ("street_office", None, "must name its street"),
    ("street_office", "420102", "not a street code"),
])
def test_district_kinds_need_a_territory_of_their_level(kind, territory, problem):
    assert problem in territory_shape_problem(kind, territory)


@pytest.mark.parametrize("kind, territory", [("district_org", "420102"), ("district_org", "420191"),
                                             ("street_office", "420102001"), ("city_org", None),
                                             ("inspector", None), ("civil_affairs", None)])
def test_right_levels_and_city_wide_kinds_pass(kind, territory):
    assert territory_shape_problem(kind, territory) is None


def test_the_territory_must_exist_in_the_city():
    city = load_territory()
    district = city.districts[0]
    assert territory_level_problem("district_org", district.code, city) is None
    assert territory_level_problem("street_office", district.streets[0].code, city) is None
    assert "is not a district of" in territory_level_problem("district_org", "420188", city)
    assert "is not a street of" in territory_level_problem("street_office", "420102999", city)
