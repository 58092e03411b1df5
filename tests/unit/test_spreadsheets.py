"""platform_core.spreadsheets: numbers stay numbers, text stays text (never a formula), in every XLSX."""

import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from platform_core.spreadsheets import FORMULA_STARTS, Percent, Points, append_row, csv_text, formula_like


def reloaded(values: list, read_only: bool = False):
    book = Workbook()
    append_row(book.active, values)
    buffer = io.BytesIO()
    book.save(buffer)
    return list(load_workbook(io.BytesIO(buffer.getvalue()), read_only=read_only).active.iter_rows())[0]


def test_counts_rates_points_and_dates_are_numbers():
    cells = reloaded([173, Percent("73.62"), Percent(None), Points("-0.50"), date(2016, 9, 10), Decimal("1.5")])
    count, rate, no_rate, points, day, decimal = cells
    assert count.data_type == "n" and count.value == 173 and isinstance(count.value, int)
    assert rate.data_type == "n" and rate.value == pytest.approx(0.7362) and rate.number_format == "0.00%"
    assert no_rate.value is None  # no denominator: a blank cell, never 0% or "—"
    assert points.data_type == "n" and points.value == pytest.approx(-0.5) and "百分点" in points.number_format
    assert day.is_date and day.value.date() == date(2016, 9, 10)
    assert decimal.data_type == "n" and decimal.value == 1.5


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example","点我")', "+1", "-1", "@x", "＝1+1", "=1+1"])
def test_a_formula_like_text_is_stored_as_text(text):
    (cell,) = reloaded([text])
    assert cell.data_type == "s" and cell.value == text and cell.quotePrefix
    (streamed,) = reloaded([text], read_only=True)  # the import's reader
    assert streamed.value == text


def test_a_boolean_is_refused_so_forms_say_yes_or_no_in_their_words():
    with pytest.raises(TypeError):
        reloaded([True])


def test_csv_fields_that_look_like_formulas_are_prefixed():
    assert csv_text("=1+1") == "'=1+1" and csv_text("-x") == "'-x" and csv_text("正常") == "正常" and csv_text(3) == 3


# Text an XLSX can hold: no surrogates, none of XML's forbidden controls; \r is normalized by XML readers.
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",)).filter(
    lambda c: not ILLEGAL_CHARACTERS_RE.match(c) and c != "\r"), max_size=40)


@settings(max_examples=150, deadline=None)
@given(prefix=st.sampled_from([*FORMULA_STARTS, ""]), rest=XML_TEXT)
def test_any_text_survives_write_and_read_as_text(prefix, rest):
    text = (prefix + rest) if prefix != "\r" else "\n" + rest
    (cell,) = reloaded([text], read_only=True)
    expected = text or None  # an empty string is an empty cell
    assert cell.value == expected
    if text:
        assert cell.data_type == "s"
        assert formula_like(text) == text.startswith(FORMULA_STARTS)
