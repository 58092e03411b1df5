"""The rows of an XLSX worksheet as openpyxl's ``iter_rows(values_only=True)`` gives them, read by expat.

openpyxl's read-only reader builds an element tree and a dict per cell (and objects per inline string): about
90% of a 10,000-row import's parse time (docs/performance.md, "Figures behind the code"). Here the worksheet's XML is
streamed once through expat's C parser with handlers only for the few elements a value needs (row, c, v,
is/t) and the merged ranges, which openpyxl's read-only sheet does not list. The workbook-level parts
(shared strings, which styles are dates, the 1900/1904 epoch) still come from openpyxl's loader, so a
value is exactly openpyxl's: numbers int or float as written, dates by their style, booleans, shared and
inline strings (phonetic runs left out), errors as their text, a formula's cached value.
"""

from collections.abc import Callable
from typing import IO, Any
from xml.parsers import expat

from openpyxl.utils import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._reader import _cast_number

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_ROW, _CELL, _VALUE, _INLINE, _TEXT, _PHONETIC, _MERGE = (
    _NS + name for name in ("row", "c", "v", "is", "t", "rPh", "mergeCell"))
_CHUNK = 64 * 1024


class RowLimitReached(Exception):
    """Raised from the parse when ``on_row`` refuses a row: the rest of the sheet is not read."""


class _Cells:
    """expat handlers collecting each row's values; ``on_row(number, values)`` sees every row in order (rows
    the file leaves out as ``[]``, as openpyxl yields them)."""

    def __init__(self, shared_strings, date_styles, timedelta_styles, epoch,
                 on_row: Callable[[int, list[Any]], None]):
        self.strings, self.dates, self.timedeltas, self.epoch = shared_strings, date_styles, timedelta_styles, epoch
        self.on_row = on_row
        self.merged: list[tuple[int, int, int, int, str]] = []
        self.next_row, self.row_number, self.column = 1, 0, 0
        self.cells: dict[int, Any] | None = None
        self.cell_type, self.style, self.text = "n", 0, []
        self.collecting = self.in_inline = self.in_phonetic = False

    def start(self, name: str, attrs: dict) -> None:
        if name == _CELL:
            self.cell_type, style = attrs.get("t", "n"), attrs.get("s")
            self.style = int(style) if style else 0
            reference = attrs.get("r")
            self.column = _column(reference) if reference else self.column + 1
            self.text, self.in_inline = [], False
        elif name == _VALUE:
            self.collecting = self.cell_type != "inlineStr"
        elif name == _TEXT:
            self.collecting = self.in_inline and not self.in_phonetic
        elif name == _INLINE:
            self.in_inline = True
        elif name == _PHONETIC:
            self.in_phonetic = True
        elif name == _ROW:
            given = attrs.get("r")
            self.row_number = _row_number(given) if given else self.row_number + 1
            self.column, self.cells = 0, {}
        elif name == _MERGE:
            ref = attrs.get("ref", "")
            min_col, min_row, max_col, max_row = range_boundaries(ref)
            self.merged.append((min_row, max_row, min_col, max_col, ref))

    def end(self, name: str) -> None:
        if name == _CELL:
            if self.cells is not None:
                self.cells[self.column] = self._value()
        elif name in (_VALUE, _TEXT):
            self.collecting = False
        elif name == _PHONETIC:
            self.in_phonetic = False
        elif name == _ROW:
            self._row_done()

    def characters(self, data: str) -> None:
        if self.collecting:
            self.text.append(data)

    def _value(self) -> Any:
        kind, text = self.cell_type, "".join(self.text)
        if kind == "inlineStr":
            return text if self.in_inline else None
        if not text:
            return None
        if kind == "n":
            value = _cast_number(text)
            if self.style in self.dates:
                try:
                    return from_excel(value, self.epoch, timedelta=self.style in self.timedeltas)
                except (OverflowError, ValueError):
                    return "#VALUE!"  # openpyxl's value for a date serial out of range
            return value
        if kind == "s":
            return self.strings[int(text)]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
        return text  # "str" (a formula's text result), "e" (an error such as #N/A)

    def _row_done(self) -> None:
        number, cells = self.row_number, self.cells
        self.cells = None
        if number < self.next_row:
            return  # a row number going back: openpyxl skips it too
        while self.next_row < number:
            self.on_row(self.next_row, [])
            self.next_row += 1
        values = [None] * max(cells, default=0)
        for column, value in cells.items():
            if column >= 1:
                values[column - 1] = value
        self.on_row(number, values)
        self.next_row = number + 1


def _column(reference: str) -> int:
    letters = reference.rstrip("0123456789")
    return column_index_from_string(letters)


def _row_number(given: str) -> int:
    try:
        return int(given)
    except ValueError:
        value = float(given)
        if value.is_integer():
            return int(value)
        raise


def _no_doctype(*_) -> None:
    raise ValueError("a DOCTYPE in a worksheet")


def read_rows(source: IO[bytes], book, sheet,
              on_row: Callable[[int, list[Any]], None]) -> list[tuple[int, int, int, int, str]]:
    """Stream the worksheet XML ``source`` of the read-only openpyxl ``book`` (``sheet``: its worksheet this
    XML is): ``on_row`` gets each row's number and values; returns the merged ranges (min_row, max_row,
    min_col, max_col, ref)."""
    cells = _Cells(sheet._shared_strings, book._date_formats, book._timedelta_formats, book.epoch,  # noqa: SLF001
                   on_row)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _no_doctype  # a worksheet has no DTD; one is only an entity-expansion attempt
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = cells.start, cells.end
    parser.CharacterDataHandler = cells.characters
    while chunk := source.read(_CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return cells.merged
