"""The vault (platform_core.vault): per-subject data keys, wrapping by a master key ring, keyed hashes."""

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_core.vault import DataKey, MasterKeyRing, PersonalDataVault, UnknownMasterKey, ring_secrets

OLD, NEW = "an-old-master-key-0123456789abcdef", "a-new-master-key-fedcba9876543210"
VAULT = PersonalDataVault(OLD)
subjects = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40).map(lambda s: f"member-{s}")
texts = st.text(min_size=4, max_size=80)


@settings(max_examples=50)
@given(subjects, st.sampled_from(["name", "id_number", "persons"]), texts)
def test_a_sealed_value_opens_with_its_key_subject_and_field_and_never_shows_the_plaintext(subject, field, text):
    key, _ = VAULT.new_data_key(subject)
    sealed = key.seal(subject, field, text)
    assert text.encode() not in sealed
    assert key.open(subject, field, sealed) == text


@settings(max_examples=30)
@given(subjects, subjects, texts)
def test_a_sealed_value_does_not_open_for_another_subject_field_or_key(subject, other, text):
    key, _ = VAULT.new_data_key(subject)
    sealed = key.seal(subject, "name", text)
    with pytest.raises(InvalidTag):
        key.open(subject, "id_number", sealed)
    if other != subject:
        with pytest.raises(InvalidTag):
            key.open(other, "name", sealed)
    someone_else, _ = VAULT.new_data_key(subject)  # every subject gets a fresh random key
    with pytest.raises(InvalidTag):
        someone_else.open(subject, "name", sealed)


@settings(max_examples=30)
@given(subjects, texts)
def test_a_wrapped_key_unwraps_only_for_its_subject_and_only_with_its_master_key(subject, text):
    key, wrapped = VAULT.new_data_key(subject)
    assert wrapped.master_key_id == VAULT.ring.current.key_id
    sealed = key.seal(subject, "name", text)
    assert VAULT.unwrap(subject, wrapped).open(subject, "name", sealed) == text
    with pytest.raises(InvalidTag):
        VAULT.unwrap(subject + "x", wrapped)
    with pytest.raises(UnknownMasterKey):
        PersonalDataVault(NEW).unwrap(subject, wrapped)


def test_rotation_rewraps_under_the_new_master_key_and_the_old_one_can_then_be_retired():
    key, wrapped = VAULT.new_data_key("member-1")
    sealed = key.seal("member-1", "name", "欧阳测甲")
    ring = PersonalDataVault(f"{NEW}\n{OLD}")  # newest first
    assert ring.unwrap("member-1", wrapped).open("member-1", "name", sealed) == "欧阳测甲"
    fresh = ring.rewrap("member-1", wrapped)
    assert fresh.master_key_id == ring.ring.current.key_id != wrapped.master_key_id
    retired = PersonalDataVault(NEW)
    assert retired.unwrap("member-1", fresh).open("member-1", "name", sealed) == "欧阳测甲"


@settings(max_examples=30)
@given(st.text(max_size=40), st.text(max_size=40))
def test_keyed_hashes_are_equal_exactly_for_equal_texts_under_one_label(a, b):
    assert (VAULT.keyed_hash("person", a) == VAULT.keyed_hash("person", b)) == (a == b)
    assert VAULT.keyed_hash("person", a) != VAULT.keyed_hash("address", a)


def test_keyed_hashes_depend_on_the_master_key_and_follow_rotation():
    number = "11010519491231002X"
    assert VAULT.keyed_hash("id_number", number) != PersonalDataVault(NEW).keyed_hash("id_number", number)
    assert PersonalDataVault(f"{NEW} {OLD}").keyed_hash("id_number", number) == \
        PersonalDataVault(NEW).keyed_hash("id_number", number)
    assert PersonalDataVault(f"{NEW} {OLD}").hash_key_id == PersonalDataVault(NEW).hash_key_id != VAULT.hash_key_id


def test_the_ring_reads_one_secret_per_line_newest_first_and_refuses_bad_rings():
    assert ring_secrets(f"# rotated 2026-12-03\n{NEW}\n\n  {OLD}  \n") == [NEW, OLD]
    assert MasterKeyRing.parse(f"{NEW}\n{OLD}").current.key_id == MasterKeyRing([NEW]).current.key_id
    for bad in ("short", "", "# only a comment", f"{OLD}\n{OLD}"):
        with pytest.raises(ValueError):
            MasterKeyRing.parse(bad)


def test_keys_never_show_in_their_repr():
    key, _ = VAULT.new_data_key("member-1")
    assert repr(key) == "DataKey(<secret>)" and OLD not in repr(VAULT.ring.current)
    assert isinstance(key, DataKey)
