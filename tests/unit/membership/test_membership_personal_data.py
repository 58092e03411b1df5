"""The vault: sealed values open only for their member and field; keyed hashes for duplicates."""

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings

from membership_strategies import id_numbers
from membership.adapters.personal_data import PersonalDataVault

VAULT = PersonalDataVault("a-test-personal-data-key-0123456789")


@settings(max_examples=30)
@given(id_numbers())
def test_seal_opens_and_never_contains_the_plaintext(number):
    sealed = VAULT.seal("member-1", "id_number", number)
    assert number.encode() not in sealed
    assert VAULT.open("member-1", "id_number", sealed) == number


def test_a_sealed_value_is_bound_to_its_member_and_field():
    sealed = VAULT.seal("member-1", "name", "张三")
    with pytest.raises(InvalidTag):
        VAULT.open("member-2", "name", sealed)
    with pytest.raises(InvalidTag):
        VAULT.open("member-1", "id_number", sealed)


def test_sealing_twice_gives_different_bytes():
    assert VAULT.seal("m", "name", "张三") != VAULT.seal("m", "name", "张三")


def test_identity_hash_is_deterministic_and_keyed():
    other = PersonalDataVault("another-personal-data-key-9876543210")
    number = "11010519491231002X"
    assert VAULT.identity_hash(number) == VAULT.identity_hash(number)
    assert VAULT.identity_hash(number) != other.identity_hash(number)
    assert VAULT.identity_hash(number) != VAULT.keyed_digest("name", number)


def test_short_keys_are_refused():
    with pytest.raises(ValueError):
        PersonalDataVault("short")
