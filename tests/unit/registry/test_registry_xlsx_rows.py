"""The import's worksheet reader (registry/adapters/xlsx_rows.py) gives exactly the values openpyxl's read-only
reader gives, whatever the cells hold; a worksheet with a DOCTYPE (an entity-expansion attempt) is refused."""

import io
import zipfile
from datetime import date, datetime, time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from platform_core.errors import SchemaViolation
from registry.adapters.spreadsheet import SheetLimits, read_sheet

ROOMY = SheetLimits(max_columns=30, max_data_rows=200)
TEXT = st.text(st.characters(categories=("L", "N", "P", "Zs", "S")), max_size=20).filter(lambda t: not t.startswith("="))
CELLS = st.one_of(st.none(), TEXT, st.integers(-10**12, 10**12), st.booleans(),
                  st.floats(allow_nan=False, allow_infinity=False, width=32),
                  st.dates(date(1900, 3, 1), date(2100, 1, 1)),
                  st.datetimes(datetime(1900, 3, 1), datetime(2100, 1, 1)).map(lambda t: t.replace(microsecond=0)),
                  st.times().map(lambda t: t.replace(microsecond=0)))


def openpyxl_rows(content: bytes) -> list[tuple[int, list]]:
    """What the import read before: openpyxl's read-only rows, values only, numbered from 1."""
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        return [(number, list(values)) for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 3), st.lists(st.tuples(st.integers(1, 12), CELLS), max_size=8)), max_size=20),
       st.lists(st.tuples(st.integers(1, 30), st.integers(1, 6), st.integers(0, 3), st.integers(0, 2)), max_size=3))
def test_every_value_is_openpyxl_s(rows, merges):
    book = Workbook()
    sheet = book.active
    number = 0
    for gap, cells in rows:  # rows with gaps between them, cells anywhere along a row
        number += gap
        for column, value in cells:
            sheet.cell(number, column, value)
    for row, column, down, across in merges:
        sheet.merge_cells(start_row=row, start_column=column, end_row=row + down, end_column=column + across)
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()
    read = read_sheet("附表1.xlsx", content, ROOMY)
    assert read.rows == openpyxl_rows(content)
    assert sorted(ref for *_, ref in read.merged) == sorted(str(r) for r in sheet.merged_cells.ranges)


def test_a_worksheet_with_a_doctype_is_refused():
    book = Workbook()
    book.active["A1"] = "名称"
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    laughs = io.BytesIO()
    with zipfile.ZipFile(laughs, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
                                    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><worksheet', 1)
            target.writestr(item, data)
    try:
        read_sheet("附表1.xlsx", laughs.getvalue(), ROOMY)
    except SchemaViolation as refusal:
        assert refusal.field == "file"
    else:
        raise AssertionError("a worksheet with a DOCTYPE was read")
