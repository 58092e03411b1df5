"""Property tests of the spreadsheet reader (registry.adapters.spreadsheet): what any CSV or XLSX, well formed
or not, becomes. Written cells read back as written; a sheet beyond its limits is refused; any bytes at
all give a Sheet or a 422 naming ``file``, never another exception."""

import csv
import io
import zipfile

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from platform_core.errors import SchemaViolation
from registry.adapters.spreadsheet import SheetLimits, read_sheet

ROOMY = SheetLimits(max_columns=30, max_data_rows=200)
# Text a survey cell may hold: letters (Chinese among them), digits, punctuation, spaces. No control
# characters (XLSX cannot hold them), no leading "=" (a formula to a spreadsheet).
TEXT = st.text(st.characters(categories=("L", "N", "P", "Zs"), exclude_characters="\ufeff"), max_size=30)
CELL_TEXT = TEXT.filter(lambda t: not t.startswith("="))


def trimmed(rows: list[list]) -> list[list]:
    """Rows without trailing blank cells, without trailing blank rows: what a reader cannot tell apart."""
    def blank(value) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    out = []
    for row in rows:
        row = list(row)
        while row and blank(row[-1]):
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def as_xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(TEXT, max_size=12), max_size=40))
def test_a_csv_reads_back_as_written(rows):
    assume(any(any(cell for cell in row) for row in rows))
    sheet = read_sheet("附表1.csv", as_csv(rows), ROOMY)
    assert [number for number, _ in sheet.rows] == list(range(1, len(sheet.rows) + 1))
    assert trimmed([cells for _, cells in sheet.rows]) == trimmed(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(st.none(), CELL_TEXT, st.integers(-10**9, 10**9)), max_size=10), max_size=25))
def test_an_xlsx_reads_back_as_written(rows):
    sheet = read_sheet("附表1.xlsx", as_xlsx(rows), ROOMY)
    empty_as_none = [[None if cell == "" else cell for cell in row] for row in rows]  # XLSX keeps no empty text
    assert trimmed([cells for _, cells in sheet.rows]) == trimmed(empty_as_none)


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 40), height=st.integers(1, 40), xlsx=st.booleans())
def test_a_sheet_beyond_its_limits_is_refused_whatever_its_format(width, height, xlsx):
    limits = SheetLimits(max_columns=20, max_data_rows=15)
    rows = [[f"c{i}" for i in range(width)] for _ in range(height)]
    content = as_xlsx(rows) if xlsx else as_csv(rows)
    try:
        sheet = read_sheet("f.xlsx" if xlsx else "f.csv", content, limits)
    except SchemaViolation as refusal:
        assert refusal.field == "file"
        assert refusal.rule == ("sheet_too_wide" if width > 20 else "sheet_too_long"), refusal.message
        assert width > limits.max_columns or height > limits.max_rows
    else:
        assert width <= limits.max_columns and height <= limits.max_rows
        assert len(sheet.rows) == height


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["a.csv", "a.xlsx", "a.txt", ""]))
def test_any_bytes_give_a_sheet_or_a_refusal_naming_the_file(content, filename):
    try:
        read_sheet(filename, content, ROOMY)
    except SchemaViolation as refusal:
        assert refusal.field == "file"


SMALL_FORM = as_xlsx([["企业名称", "统一社会信用代码"], ["某公司", 1]])  # once: an XLSX holds its creation time


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_damaged_xlsx_is_a_refusal_naming_the_file(data):
    content = bytearray(SMALL_FORM)
    for _ in range(data.draw(st.integers(1, 8))):  # flip some bytes anywhere in the zip
        position = data.draw(st.integers(0, len(content) - 1))
        content[position] = data.draw(st.integers(0, 255))
    try:
        read_sheet("附表1.xlsx", bytes(content), ROOMY)
    except SchemaViolation as refusal:
        assert refusal.field == "file"


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
        for _ in range(300):  # 300 MiB of spaces, a few hundred KB packed
            part.write(b" " * (1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    try:
        read_sheet("附表1.xlsx", buffer.getvalue(), ROOMY)
    except SchemaViolation as refusal:
        assert refusal.rule == "sheet_too_large"
    else:
        raise AssertionError("a 300 MiB part was read")
