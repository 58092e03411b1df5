"""Identity numbers: GB 11643 check character (ISO 7064 MOD 11-2), and errors that never echo them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from membership_strategies import id_numbers
from membership.domain.id_number import InvalidIdNumber, normalize_id_number


def test_published_example_is_valid():
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"


@given(id_numbers())
def test_valid_numbers_pass(number):
    assert normalize_id_number(number) == number
    assert normalize_id_number(f" {number.lower()} ") == number


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_substitution_is_rejected_without_echo(number, position, replacement):
    changed = number[:position] + replacement + number[position + 1:]
    if changed == number:
        return
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(changed)
    assert changed not in caught.value.message and changed[:17] not in caught.value.message
    assert caught.value.field == "id_number" and caught.value.status == 422


@given(st.text(min_size=0, max_size=30))
def test_arbitrary_text_is_rejected_or_valid_never_echoed(text):
    try:
        normalize_id_number(text)
    except InvalidIdNumber as exc:
        if len(text.strip()) >= 4:
            assert text.strip() not in exc.message


@pytest.mark.parametrize("text, problem", [
    ("42010219850612455", "18 characters"),
    ("4201021985061245570", "18 characters"),
    ("42010219850612A557", "17 characters must be digits"),
    ("420102198506124550", "check character"),
    ("420102198513124557", "birth date"),
])
def test_each_problem_is_named(text, problem):
    with pytest.raises(InvalidIdNumber, match=problem):
        normalize_id_number(text)
