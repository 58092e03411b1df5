"""Department tokens and scopes (pure)."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.auth import Forbidden, Principal, Unauthenticated, division_prefix, issue_token, verify_token

SECRET = "s" * 32
HONGSHAN = Principal(department="district_org:420111", kind="district_org", user="li", territory="420111")


def test_a_token_round_trips_to_the_same_principal():
    assert verify_token(SECRET, issue_token(SECRET, HONGSHAN)) == HONGSHAN


def test_a_token_signed_with_another_secret_is_refused():
    with pytest.raises(Unauthenticated, match="signature"):
        verify_token(SECRET, issue_token("x" * 32, HONGSHAN))


def test_a_tampered_claim_is_refused():
    body, signature = issue_token(SECRET, HONGSHAN).split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, f"{forged}.{signature}")


def test_an_expired_token_is_refused():
    token = issue_token(SECRET, HONGSHAN, valid_for=timedelta(days=1), now=datetime(2016, 8, 1, tzinfo=timezone.utc))
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(SECRET, token, now=datetime(2016, 8, 3, tzinfo=timezone.utc))


@given(st.text(max_size=60))
def test_garbage_is_unauthenticated_never_a_crash(text):
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, text)


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
