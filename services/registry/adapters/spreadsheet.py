"""Reading an uploaded XLSX or CSV into rows of cell values (with merged ranges), and writing
the error report (cells by platform_core.spreadsheets). The form logic lives in ``domain.forms``; this only
knows file formats."""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from platform_core.errors import SchemaViolation
from platform_core.spreadsheets import append_row, csv_text
from registry.adapters.xlsx_rows import read_rows

MAX_HEADER_SEARCH = 10
# An XLSX is a zip: its parts unpacked may be this large at most (a 20 MiB upload of a real form unpacks to
# well under it; a zip bomb would not).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024


@dataclass
class Sheet:
    rows: list[tuple[int, list[Any]]]  # (1-based row number as the user sees it, cells)
    merged: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # min_row, max_row, min_col, max_col, ref


@dataclass(frozen=True)
class SheetLimits:
    """How large a sheet of this form may be: its columns (and a few blank or ignored ones), and its data
    rows (CAMPAIGN_IMPORT_MAX_ROWS) under a header within the first MAX_HEADER_SEARCH rows."""

    max_columns: int
    max_data_rows: int

    @property
    def max_rows(self) -> int:
        return self.max_data_rows + MAX_HEADER_SEARCH


def read_sheet(filename: str, content: bytes, limits: SheetLimits) -> Sheet:
    """The first worksheet of an XLSX, or a CSV (UTF-8 with or without BOM, or GB18030), refused (422 naming
    ``file``) as soon as it shows more columns or rows than ``limits``: before its cells are read when the
    sheet declares its size, otherwise at the first row beyond them."""
    if not content:
        raise SchemaViolation("file：文件为空", field="file")
    lowered = (filename or "").lower()
    if lowered.endswith(".xlsx") or content[:2] == b"PK":
        return _read_xlsx(content, limits)
    if lowered.endswith(".csv") or lowered.endswith(".txt") or not lowered:
        return _read_csv(content, limits)
    raise SchemaViolation(f"file：不支持的文件类型“{filename}”，请上传 .xlsx 或 .csv", field="file")


def _too_wide(columns: int, limits: SheetLimits) -> SchemaViolation:
    return SchemaViolation(f"file：工作表有{columns}列，超过本表的{limits.max_columns}列，请使用模板，删除多余的列后重传",
                           field="file", rule="sheet_too_wide")


def _too_long(limits: SheetLimits) -> SchemaViolation:
    return SchemaViolation(f"file：工作表超过{limits.max_rows}行（每个文件至多{limits.max_data_rows}行数据），请分批导入",
                           field="file", rule="sheet_too_long")


def _unreadable(exc: Exception) -> SchemaViolation:
    return SchemaViolation(f"file：无法读取XLSX文件（{type(exc).__name__}），请用Excel另存为.xlsx后重传", field="file")


def _read_xlsx(content: bytes, limits: SheetLimits) -> Sheet:
    try:
        return _stream_xlsx(content, limits)
    except SchemaViolation:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read the bytes a user sent is the file's: a 422
        # A damaged zip or XML fails anywhere inside zipfile, zlib, the XML parser or openpyxl, with their own
        # exception classes (zlib.error, BadZipFile, ParseError, IndexError, ...: the property tests found them).
        raise _unreadable(exc) from exc


def _stream_xlsx(content: bytes, limits: SheetLimits) -> Sheet:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        if sum(part.file_size for part in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise SchemaViolation(f"file：XLSX解压后超过{MAX_UNPACKED_BYTES // 1024 // 1024} MiB，不像调查表，"
                                  "请用Excel另存为.xlsx后重传", field="file", rule="sheet_too_large")
    # read_only: the workbook-level parts only (shared strings, styles); the cells are streamed by xlsx_rows
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        if (sheet.max_column or 0) > limits.max_columns:
            raise _too_wide(sheet.max_column, limits)
        if (sheet.max_row or 0) > limits.max_rows:
            raise _too_long(limits)
        # The declared size may be absent or false: read each row as long as its last cell, and stop at
        # the first row wider or further down than the limits.
        rows = []

        def keep(number: int, values: list) -> None:
            if number > limits.max_rows:
                raise _too_long(limits)
            if len(values) > limits.max_columns:
                raise _too_wide(len(values), limits)
            rows.append((number, values))

        with book._archive.open(sheet._worksheet_path) as source:  # noqa: SLF001 (openpyxl keeps the part's path)
            merged = read_rows(source, book, sheet, keep)
        return Sheet(rows, merged)
    finally:
        book.close()


def _read_csv(content: bytes, limits: SheetLimits) -> Sheet:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SchemaViolation("file：CSV文件既不是UTF-8也不是GB18030编码", field="file")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = []
        for number, values in enumerate(reader, start=1):
            if number > limits.max_rows:
                raise _too_long(limits)
            while values and not values[-1].strip():  # a spreadsheet's CSV pads every row to its widest
                values.pop()
            if len(values) > limits.max_columns:
                raise _too_wide(len(values), limits)
            rows.append((number, values))
    except csv.Error as exc:
        raise SchemaViolation(f"file：CSV格式错误：{exc}", field="file") from exc
    return Sheet(rows)


def error_report_csv(errors: list[dict]) -> bytes:
    """The error report as CSV (with a BOM so that Excel opens it in Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["行号", "列", "原因"])
    for error in errors:  # a column header as the file wrote it may start like a formula
        writer.writerow([error["row"], csv_text(error["column"]), csv_text(error["reason"])])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def error_report_xlsx(errors: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "错误报告"
    append_row(sheet, ["行号", "列", "原因"])
    for error in errors:
        append_row(sheet, [error["row"], error["column"], error["reason"]])
    for index, width in enumerate((8, 24, 80), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
