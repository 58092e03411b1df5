"""Render a bulletin's figures as HTML (jinja2), XLSX (openpyxl) and PDF (reportlab, CJK font); the
chart is matplotlib's.

The data file (figures.json) is the bulletin's truth; these files are views of it with
the signed audit checkpoint printed on them.
"""

import io
from datetime import date
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
import jinja2  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Alignment, Font  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4, landscape  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFError, TTFont  # noqa: E402
from reportlab.platypus import (Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,  # noqa: E402
                                TableStyle, XPreformatted)
from xml.sax.saxutils import escape  # noqa: E402

from platform_core.spreadsheets import Percent, Points, append_row  # noqa: E402
from reporting.domain.reports import FIGURE_NAMES_ZH  # noqa: E402

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
STATUS_ZH = {"on_time": "按时", "late": "逾期报送", "missing": "未报送", "pending": "待报（宽限期内）"}
TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                               autoescape=True)
COLUMNS = ("名次", "单位", "党建基数", "已建党组织", "组织覆盖率", "单独组建率", "两个覆盖率", "应建尽建覆盖率",
           "正式党员", "预备党员", "覆盖率较上期")


class FontMissing(RuntimeError):
    """No CJK font: install fonts-noto-cjk or fonts-wqy-zenhei, or set CAMPAIGN_REPORTING_CJK_FONT."""


@lru_cache(maxsize=1)
def cjk_font() -> font_manager.FontProperties:
    """The CJK font matplotlib draws the chart with."""
    for path in font_files():
        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path)
    raise FontMissing(FontMissing.__doc__)


def font_files() -> list[str]:
    """Existing CJK font files in preference order: CAMPAIGN_REPORTING_CJK_FONT first, then the known ones."""
    from platform_core.settings import get_settings

    configured = get_settings().reporting_cjk_font
    return [path for path in ((str(configured),) if configured else ()) + CJK_FONT_CANDIDATES if Path(path).is_file()]


def _rate(row: dict, name: str) -> str:
    rate = row["rates"][name]
    if rate["percent"] is None:
        return "—"
    return f"{rate['percent']}%（{rate['numerator']}/{rate['denominator']}）"


def table_rows(rows: list[dict]) -> list[list[str]]:
    found = []
    for row in rows:
        c, change = row["counters"], row["change"]
        points = change["organization_coverage_points"]
        found.append([str(row["rank"] or ""), row["name"], str(c["baseline"]), str(c["organization_covered"]),
                      _rate(row, "organization_coverage"), _rate(row, "standalone_rate"), _rate(row, "two_coverage"),
                      _rate(row, "required_coverage"), str(c["formal_members"]), str(c["probationary_members"]),
                      "—" if points is None else f"{'+' if not points.startswith('-') else ''}{points}个百分点"])
    return found


def title(data: dict) -> str:
    return f"{data['city_name']}两新组织党组织集中组建工作情况通报（截至{_date_zh(data['cutoff_date'])}）"


def _date_zh(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{int(year)}年{int(month)}月{int(day)}日"


def chart_png(data: dict) -> bytes:
    """Organization coverage by district, with the 80% target line."""
    font = cjk_font()
    rows = data["districts"]
    names = [row["name"] for row in rows]
    values = [float(row["rates"]["organization_coverage"]["percent"] or 0) for row in rows]
    figure, axis = plt.subplots(figsize=(10, 4.2), dpi=100)
    axis.bar(range(len(rows)), values, color="#c0392b")
    axis.axhline(80, color="#2c3e50", linestyle="--", linewidth=1)
    axis.text(1.005, 80, "目标80%", transform=axis.get_yaxis_transform(), fontproperties=font, ha="left",
              va="center", fontsize=9)
    axis.set_xticks(range(len(rows)))
    axis.set_xticklabels(names, fontproperties=font, rotation=45, ha="right", fontsize=8)
    axis.set_ylim(0, 100)
    axis.set_ylabel("组织覆盖率（%）", fontproperties=font)
    axis.set_title("各区组织覆盖率", fontproperties=font)
    # Fixed margins: tight_layout measured every label and took half of the chart's 0.3 s.
    figure.subplots_adjust(left=0.07, right=0.92, top=0.9, bottom=0.32)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    plt.close(figure)
    return out.getvalue()


def render_html(data: dict, checkpoint_note: str, figures_sha256: str, chart: bytes | None = None) -> bytes:
    import base64
    chart = chart if chart is not None else chart_png(data)
    html = TEMPLATES.get_template("bulletin.html.j2").render(
        data=data, title=title(data), columns=COLUMNS, districts=table_rows(data["districts"]),
        departments=table_rows(data["departments"]), total=table_rows([data["total"]])[0],
        status_zh=STATUS_ZH, figure_names=FIGURE_NAMES_ZH, checkpoint=checkpoint_note,
        figures_sha256=figures_sha256, chart=base64.b64encode(chart).decode(),
        date_zh=_date_zh)
    return html.encode("utf-8")


# The XLSX's figure columns: every rate a percent-formatted number followed by its numerator and denominator
# (R7), every count an integer, the change in percentage points a number (platform_core.spreadsheets).
XLSX_RATES = (("organization_coverage", "组织覆盖率"), ("standalone_rate", "单独组建率"), ("two_coverage", "两个覆盖率"),
              ("required_coverage", "应建尽建覆盖率"))
XLSX_COLUMNS = ("名次", "单位", "党建基数", "已建党组织",
                *(f"{name}{part}" for _, name in XLSX_RATES for part in ("", "（分子）", "（分母）")),
                "正式党员", "预备党员", "覆盖率较上期")


def xlsx_row(row: dict) -> list:
    """A bulletin row as cells: numbers as numbers (a rate without a denominator is a blank cell)."""
    c = row["counters"]
    rates = [cell for key, _ in XLSX_RATES for cell in (Percent(row["rates"][key]["percent"]),
                                                        row["rates"][key]["numerator"],
                                                        row["rates"][key]["denominator"])]
    return [row["rank"], row["name"], c["baseline"], c["organization_covered"], *rates, c["formal_members"],
            c["probationary_members"], Points(row["change"]["organization_coverage_points"])]


def render_xlsx(data: dict, checkpoint_note: str, figures_sha256: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "各区"
    append_row(sheet, [title(data)])
    sheet["A1"].font = Font(bold=True, size=14)
    append_row(sheet, list(XLSX_COLUMNS))
    for row in data["districts"]:
        append_row(sheet, xlsx_row(row))
    append_row(sheet, ["", "全市合计", *xlsx_row(data["total"])[2:]])
    departments = book.create_sheet("市直部门")
    append_row(departments, list(XLSX_COLUMNS))
    for row in data["departments"]:
        append_row(departments, xlsx_row(row))
    reports = book.create_sheet("半月报送")
    append_row(reports, ["单位", "截止日期", "状态", "报送日期", "数据差异"])
    for entry in data["reports"]:
        submitted = entry["submitted_on"]
        append_row(reports, [entry["unit_name"], date.fromisoformat(entry["deadline"]), STATUS_ZH[entry["status"]],
                             date.fromisoformat(submitted) if submitted else None,
                             "；".join(f"{FIGURE_NAMES_ZH.get(d['figure'], d['figure'])}：报{d['reported']}，核{d['derived']}"
                                      for d in entry["discrepancies"])])
    lists = book.create_sheet("问题清单")
    append_row(lists, ["类别", "单位", "两新组织", "正式党员", "说明"])
    for item in data["r3_violations"]:
        append_row(lists, ["应单独组建未单独组建（R3）", item["department"], item["name"], item["formal_members"],
                           "正式党员3名以上，未单独组建党组织"])
    for item in data["overdue_tasks"]:
        append_row(lists, ["逾期未销号", item["department"], item["name"], None, item["task_state"]])
    for item in data["failed_checks"]:
        append_row(lists, ["检查未通过", item["unit"] or "", item["organization_id"], None, "；".join(item["findings"])])
    proof = book.create_sheet("审计检查点")
    append_row(proof, ["数据文件SHA-256", figures_sha256])
    for line in checkpoint_note.splitlines():
        append_row(proof, [line])
    for ws in (sheet, departments):
        for index in range(3, len(XLSX_COLUMNS) + 1):
            ws.column_dimensions[get_column_letter(index)].width = 14
        ws.column_dimensions["B"].width = 20
        for cells in ws.iter_rows(min_row=2):
            for cell in cells:
                cell.alignment = Alignment(horizontal="center")
    for ws, widths in ((reports, (24, 12, 14, 12, 40)), (lists, (26, 20, 30, 10, 40)), (proof, (70, 70))):
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
    book.properties.creator = "campaign reporting"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render_pdf(data: dict, checkpoint_note: str, figures_sha256: str, chart: bytes | None = None) -> bytes:
    """Page 1: title, the district table, the city total; then the chart, departments, reports, checkpoint.

    reportlab lays the table out in milliseconds (matplotlib's table took 0.8 s of the 2 s budget at
    200,000 entities); text stays text, in the embedded CJK font subset."""
    font = pdf_cjk_font()
    styles = {name: ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.35, alignment=align,
                                   wordWrap="CJK")
              for name, size, align in (("title", 16, 1), ("subtitle", 11, 1), ("body", 8, 0), ("small", 7, 0))}
    rows = [list(COLUMNS)] + table_rows(data["districts"]) + [["", "全市合计", *table_rows([data["total"]])[0][2:]]]
    table = Table(rows, colWidths=[26, 92, 50, 52, 82, 82, 82, 82, 46, 46, 80], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 7), ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f4f4f4"))]))
    late = [e for e in data["reports"] if e["status"] in ("late", "missing")]
    flagged = [e for e in data["reports"] if e["discrepancies"]]
    lines = (["市直部门："] + [f"{r[1]}：组织覆盖率 {r[4]}，应建尽建 {r[7]}" for r in table_rows(data["departments"])]
             + ["", "半月报送逾期、未报送："]
             + ([f"{e['unit_name']}（{e['deadline']}）：{STATUS_ZH[e['status']]}" for e in late] or ["无"])
             + ["", "报送数据与核实数据不符："]
             + ([f"{e['unit_name']}（{e['deadline']}）：" + "；".join(
                 f"{FIGURE_NAMES_ZH.get(d['figure'], d['figure'])}报{d['reported']}核{d['derived']}"
                 for d in e["discrepancies"]) for e in flagged] or ["无"])
             + ["", f"应单独组建未单独组建（R3）：{len(data['r3_violations'])}个；逾期未完成任务："
                    f"{len(data['overdue_tasks'])}个；检查未通过：{len(data['failed_checks'])}次"])
    chart = chart if chart is not None else chart_png(data)
    chart_width = 520
    story = [Paragraph(escape(title(data)), styles["title"]), Spacer(0, 4),
             Paragraph("市委组织部", styles["subtitle"]), Spacer(0, 12), table, Spacer(0, 10),
             Paragraph(f"数据文件SHA-256：{figures_sha256}", styles["small"]), PageBreak(),
             Image(io.BytesIO(chart), width=chart_width, height=chart_width * 0.42), Spacer(0, 8)]
    story += [Paragraph(escape(line) or "&nbsp;", styles["body"]) for line in lines]
    story += [Spacer(0, 10), Paragraph("审计检查点（签名）：", styles["small"]),
              XPreformatted(escape(checkpoint_note), styles["small"])]
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=28, rightMargin=28, topMargin=28,
                                 bottomMargin=28, title=title(data), creator="campaign reporting",
                                 author="市委组织部", invariant=1)
    document.build(story)
    return out.getvalue()


@lru_cache(maxsize=1)
def pdf_cjk_font() -> str:
    """The CJK font registered with reportlab (TrueType outlines; a CFF-outline OpenType font is skipped)."""
    refused = []
    for path in font_files():
        try:
            pdfmetrics.registerFont(TTFont("CampaignCJK", path, subfontIndex=0))
        except TTFError as exc:
            refused.append(f"{path}: {exc}")
            continue
        return "CampaignCJK"
    raise FontMissing(FontMissing.__doc__ + (" Refused: " + "; ".join(refused) if refused else ""))


def render_files(data: dict, checkpoint_note: str, figures_sha256: str) -> dict[str, bytes]:
    """The bulletin's three files; the chart is drawn once for the HTML and the PDF."""
    chart = chart_png(data)
    return {"html": render_html(data, checkpoint_note, figures_sha256, chart),
            "pdf": render_pdf(data, checkpoint_note, figures_sha256, chart),
            "xlsx": render_xlsx(data, checkpoint_note, figures_sha256)}
