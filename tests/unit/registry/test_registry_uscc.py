"""GB 32100-2015 unified social credit codes (pure, property-based)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.domain.uscc import ALPHABET, InvalidUscc, check_character, is_valid_uscc, validate_uscc

bodies = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


def test_published_example_codes_are_valid():
    # The standard's own example and a code printed on a real licence.
    for code in ("91350100M000100Y43", "91110000600037341L"):
        assert validate_uscc(code) == code


def test_alphabet_has_31_characters_without_i_o_s_v_z():
    assert len(ALPHABET) == 31 and not set("IOSVZ") & set(ALPHABET)


@given(bodies)
def test_the_computed_check_character_makes_a_valid_code(body):
    assert validate_uscc(body + check_character(body)) == body + check_character(body)


@given(bodies, st.sampled_from(ALPHABET))
def test_any_other_check_character_is_refused_naming_the_expected_one(body, wrong):
    expected = check_character(body)
    if wrong == expected:
        return
    with pytest.raises(InvalidUscc) as caught:
        validate_uscc(body + wrong)
    assert caught.value.expected_check == expected
    assert f"应为“{expected}”" in caught.value.message
    assert caught.value.field == "uscc" and caught.value.rule == "GB 32100-2015"


@given(bodies, st.integers(0, 16), st.sampled_from(ALPHABET))
def test_a_single_substitution_is_always_detected(body, position, char):
    code = body + check_character(body)
    changed = code[:position] + char + code[position + 1:]
    assert is_valid_uscc(changed) == (changed == code)


@given(st.text(max_size=30))
def test_arbitrary_text_is_valid_or_a_clear_error_never_a_crash(text):
    try:
        code = validate_uscc(text)
    except InvalidUscc as exc:
        assert "统一社会信用代码" in exc.message
    else:
        assert len(code) == 18 and set(code) <= set(ALPHABET)


@given(bodies, st.integers(0, 16), st.sampled_from("IOSVZ"))
def test_letters_outside_the_alphabet_are_named_by_position(body, position, letter):
    code = body[:position] + letter + body[position + 1:] + "0"
    with pytest.raises(InvalidUscc, match=f"第{position + 1}位“{letter}”"):
        validate_uscc(code)


def test_full_width_spaces_and_lower_case_are_normalized():
    assert validate_uscc(" ９１３５０１００ｍ０００１００ｙ４３ ") == "91350100M000100Y43"


@pytest.mark.parametrize("text,reason", [("", "不能为空"), ("9135010", "应为18位，实为7位"),
                                         ("91350100M000100Y431", "应为18位，实为19位")])
def test_length_errors(text, reason):
    with pytest.raises(InvalidUscc, match=reason):
        validate_uscc(text)
