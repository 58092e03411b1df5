"""Reading an uploaded XLSX or CSV into rows of cell values (with merged ranges), and writing
the error report. The form logic lives in ``domain.forms``; this only knows file formats."""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from platform_core.errors import SchemaViolation

MAX_HEADER_SEARCH = 10


@dataclass
class Sheet:
    rows: list[tuple[int, list[Any]]]  # (1-based row number as the user sees it, cells)
    merged: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # min_row, max_row, min_col, max_col, ref


def read_sheet(filename: str, content: bytes) -> Sheet:
    """The first worksheet of an XLSX, or a CSV (UTF-8 with or without BOM, or GB18030)."""
    if not content:
        raise SchemaViolation("file：文件为空", field="file")
    lowered = (filename or "").lower()
    if lowered.endswith(".xlsx") or content[:2] == b"PK":
        return _read_xlsx(content)
    if lowered.endswith(".csv") or lowered.endswith(".txt") or not lowered:
        return _read_csv(content)
    raise SchemaViolation(f"file：不支持的文件类型“{filename}”，请上传 .xlsx 或 .csv", field="file")


def _read_xlsx(content: bytes) -> Sheet:
    try:
        book = load_workbook(io.BytesIO(content), data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SchemaViolation(f"file：无法读取XLSX文件（{type(exc).__name__}），请用Excel另存为.xlsx后重传",
                              field="file") from exc
    sheet = book.worksheets[0]
    rows = [(number, list(values)) for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    merged = [(r.min_row, r.max_row, r.min_col, r.max_col, r.coord) for r in sheet.merged_cells.ranges]
    book.close()
    return Sheet(rows, merged)


def _read_csv(content: bytes) -> Sheet:
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
        rows = [(number, list(values)) for number, values in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise SchemaViolation(f"file：CSV格式错误：{exc}", field="file") from exc
    return Sheet(rows)


def error_report_csv(errors: list[dict]) -> bytes:
    """The error report as CSV (with a BOM so that Excel opens it in Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["行号", "列", "原因"])
    for error in errors:
        writer.writerow([error["row"], error["column"], error["reason"]])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def error_report_xlsx(errors: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "错误报告"
    sheet.append(["行号", "列", "原因"])
    for error in errors:
        sheet.append([error["row"], error["column"], error["reason"]])
    for index, width in enumerate((8, 24, 80), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
