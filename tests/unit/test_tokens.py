"""Ed25519 department tokens (pure): issuer, verifier, key sets and the attacker's tokens."""

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_core.auth import Principal, Unauthenticated
from platform_core.tokens import (TokenIssuer, TokenVerifier, key_id, key_set_with, key_set_without, new_issuer_key,
                                  parse_key_set, public_jwk)

AUDIENCE = "campaign-platform"
ISSUER = TokenIssuer(new_issuer_key()[0], AUDIENCE)
VERIFIER = TokenVerifier.from_key_set(key_set_with(None, ISSUER.private_key.public_key()), AUDIENCE)
HONGSHAN = Principal(department="district_org:420111", kind="district_org", user="li", territory="420111")
NOW = datetime(2016, 8, 1, tzinfo=timezone.utc)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict]:
    head, claims, _ = token.split(".")
    return tuple(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (head, claims))


def sign(header: dict, claims: dict, issuer: TokenIssuer = ISSUER) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(issuer.private_key.sign(signing_input.encode()))}"


def test_a_token_round_trips_to_the_same_principal():
    assert VERIFIER.verify(ISSUER.issue(HONGSHAN)) == HONGSHAN


def test_a_token_names_its_key_audience_and_times():
    header, claims = parts(ISSUER.issue(HONGSHAN, valid_for=timedelta(days=2), now=NOW))
    assert header == {"alg": "EdDSA", "kid": ISSUER.kid, "typ": "JWT"}
    assert claims["aud"] == AUDIENCE and claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] == int((NOW + timedelta(days=2)).timestamp())


def test_the_kid_is_the_rfc_7638_thumbprint():
    # RFC 8037 appendix A.3: the thumbprint of its example Ed25519 public key
    assert key_id("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo") == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert public_jwk(ISSUER.private_key.public_key())["kid"] == ISSUER.kid


def test_a_token_of_another_issuer_key_is_refused_as_unknown_kid():
    stranger = TokenIssuer(new_issuer_key()[0], AUDIENCE)
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        VERIFIER.verify(stranger.issue(HONGSHAN))


def test_another_key_claiming_the_platform_kid_fails_the_signature():
    stranger = TokenIssuer(new_issuer_key()[0], AUDIENCE)
    header, claims = parts(ISSUER.issue(HONGSHAN))
    with pytest.raises(Unauthenticated, match="signature is not valid"):
        VERIFIER.verify(sign(header, claims | {"kind": "city_org", "ter": None}, stranger))


def test_a_tampered_claim_is_refused():
    head, claims, signature = ISSUER.issue(HONGSHAN).split(".")
    widened = b64(json.dumps(parts(ISSUER.issue(HONGSHAN))[1] | {"ter": None}).encode())
    with pytest.raises(Unauthenticated, match="signature"):
        VERIFIER.verify(f"{head}.{widened}.{signature}")


def test_a_token_for_another_audience_is_refused():
    other = TokenIssuer(ISSUER.private_key, "another-city-platform")
    with pytest.raises(Unauthenticated, match="audience"):
        VERIFIER.verify(other.issue(HONGSHAN))


def test_an_expired_token_is_refused():
    token = ISSUER.issue(HONGSHAN, valid_for=timedelta(days=1), now=NOW)
    assert VERIFIER.verify(token, now=NOW + timedelta(hours=23)) == HONGSHAN
    with pytest.raises(Unauthenticated, match="expired"):
        VERIFIER.verify(token, now=NOW + timedelta(days=2))


def test_a_token_issued_in_the_future_is_refused():
    token = ISSUER.issue(HONGSHAN, now=NOW + timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="future"):
        VERIFIER.verify(token, now=NOW)


def test_an_hmac_era_token_is_refused():
    body = b64(json.dumps({"dep": "city_org", "kind": "city_org", "user": "u", "ter": None, "sec": [],
                           "exp": 4102444800}).encode())
    token = f"{body}.{b64(hmac.new(b'old-secret-0123456789', body.encode(), hashlib.sha256).digest())}"
    with pytest.raises(Unauthenticated, match="former shared-secret scheme"):
        VERIFIER.verify(token)


@pytest.mark.parametrize("alg", ["HS256", "none", "EdDSA "])
def test_only_eddsa_is_accepted(alg):
    header, claims = parts(ISSUER.issue(HONGSHAN))
    with pytest.raises(Unauthenticated, match="algorithm"):
        VERIFIER.verify(sign(header | {"alg": alg}, claims))


def test_a_district_token_without_territory_is_refused_even_when_signed():
    header, claims = parts(ISSUER.issue(HONGSHAN))
    with pytest.raises(Unauthenticated, match="must name its district"):
        VERIFIER.verify(sign(header, claims | {"ter": None}))
    with pytest.raises(ValueError, match="must name its district"):
        ISSUER.issue(Principal("district_org", "district_org", "li"))


@settings(max_examples=200)
@given(st.text(max_size=120))
def test_garbage_is_unauthenticated_never_a_crash(text):
    with pytest.raises(Unauthenticated):
        VERIFIER.verify(text)


@given(st.integers(min_value=0, max_value=85), st.binary(min_size=1, max_size=1))
def test_any_changed_signature_byte_is_refused(position, byte):
    token = ISSUER.issue(HONGSHAN)
    signing_input, _, signature = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[position % len(raw)] ^= byte[0] or 1
    with pytest.raises(Unauthenticated):
        VERIFIER.verify(f"{signing_input}.{b64(bytes(raw))}")


def test_rotation_keeps_old_tokens_valid_until_the_key_is_retired():
    old_token = ISSUER.issue(HONGSHAN)
    new = TokenIssuer(new_issuer_key()[0], AUDIENCE)
    both = key_set_with(key_set_with(None, ISSUER.private_key.public_key()), new.private_key.public_key())
    rotated = TokenVerifier.from_key_set(both, AUDIENCE)
    assert rotated.verify(old_token) == rotated.verify(new.issue(HONGSHAN)) == HONGSHAN
    retired = TokenVerifier.from_key_set(key_set_without(both, ISSUER.kid), AUDIENCE)
    assert retired.verify(new.issue(HONGSHAN)) == HONGSHAN
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        retired.verify(old_token)
    with pytest.raises(ValueError, match="last key"):
        key_set_without(key_set_without(both, ISSUER.kid), new.kid)


def test_a_key_set_refuses_other_key_types_and_wrong_kids():
    with pytest.raises(ValueError, match="not an Ed25519 key"):
        parse_key_set(json.dumps({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}))
    jwk = public_jwk(ISSUER.private_key.public_key())
    with pytest.raises(ValueError, match="thumbprint"):
        parse_key_set(json.dumps({"keys": [jwk | {"kid": "someone-elses"}]}))
    with pytest.raises(ValueError, match="no key"):
        parse_key_set(json.dumps({"keys": []}))
