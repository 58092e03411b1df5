"""ce_type names of commands and events, and which service answers for a message."""

from hypothesis import given
from hypothesis import strategies as st

from platform_core.intake.command_types import (CommandType, event_ce_type, parse_command_type,
                                                responsible_service)

SERVICES = ("registry", "membership", "formation")


@given(st.sampled_from(SERVICES), st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True),
       st.integers(min_value=1, max_value=99))
def test_a_command_type_round_trips(service, command, version):
    named = CommandType(service, command, version)
    assert parse_command_type(named.ce_type) == named
    assert responsible_service(named.ce_type, SERVICES) == service


def test_the_issue_s_example():
    assert parse_command_type("cn.gov.wuhan.campaign.registry.register-entity.v1") == CommandType(
        "registry", "register-entity", 1)


def test_shapes_that_name_no_command():
    for ce_type in ("register-entity", "cn.gov.wuhan.campaign.registry.register-entity",
                    "cn.gov.wuhan.campaign.registry.register-entity.v0", "org.example.registry.register-entity.v1",
                    "cn.gov.wuhan.campaign.registry.EntityRegistered.v2"):
        assert parse_command_type(ce_type) is None, ce_type


def test_what_names_no_known_service_is_the_first_service_s_to_dead_letter():
    assert responsible_service(None, SERVICES) == "registry"
    assert responsible_service("cn.gov.wuhan.campaign.payroll.pay.v1", SERVICES) == "registry"
    assert responsible_service("cn.gov.wuhan.campaign.formation.form-organization.v1", SERVICES) == "formation"


def test_events_are_named_by_type_and_schema_version():
    assert event_ce_type("registry", "EntityRegistered", 2) == "cn.gov.wuhan.campaign.registry.EntityRegistered.v2"
