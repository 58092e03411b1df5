"""The read path's decision and what it tells the caller (platform_core.read_replica): pure parts only; the
standby itself is read in tests/faults/test_fault_pg_failover.py."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.read_replica import ReadSource, standby_is_fresh
from platform_core.settings import PlatformSettings

bounds = st.floats(min_value=0.001, max_value=3600, allow_nan=False)


@given(bound=bounds, over=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))
def test_a_standby_behind_the_bound_never_answers(bound, over):
    assert not standby_is_fresh(bound + over, bound)


@given(bound=bounds, share=st.floats(min_value=0, max_value=1))
def test_a_standby_within_the_bound_answers(bound, share):
    assert standby_is_fresh(bound * share, bound)


def test_a_standby_whose_lag_is_unknown_never_answers():
    assert not standby_is_fresh(None, 3600)


def test_the_header_names_the_server_and_why():
    assert ReadSource("standby", 0.1234).header() == "standby; lag=0.123s"
    assert ReadSource("primary").header() == "primary"
    assert ReadSource("primary", 7.5, "standby behind").header() == "primary; standby behind; standby-lag=7.500s"
    assert ReadSource("primary", None, "standby unreachable").header() == "primary; standby unreachable"


def test_the_read_settings_default_to_the_primary_and_refuse_what_is_not_postgres(monkeypatch):
    monkeypatch.delenv("CAMPAIGN_READ_DATABASE_URL", raising=False)
    settings = PlatformSettings()
    assert settings.read_database_url is None and settings.read_max_lag_s == 5.0
    monkeypatch.setenv("CAMPAIGN_READ_DATABASE_URL", "")
    assert PlatformSettings().read_database_url is None
    monkeypatch.setenv("CAMPAIGN_READ_DATABASE_URL", "mysql://x@y/z")
    with pytest.raises(ValueError, match="CAMPAIGN_READ_DATABASE_URL"):
        PlatformSettings()
    monkeypatch.setenv("CAMPAIGN_READ_DATABASE_URL", "postgresql+psycopg2://r@127.0.0.1:1/campaign")
    monkeypatch.setenv("CAMPAIGN_READ_MAX_LAG_S", "0")
    with pytest.raises(ValueError, match="read_max_lag_s"):
        PlatformSettings()
