"""Render a bulletin's figures as HTML (jinja2), XLSX (openpyxl) and PDF (reportlab, CJK font); the
chart is matplotlib's.

The data file (figures.json) is the bulletin's truth; these files are views of it with
the signed audit checkpoint printed on them.
"""

import base64
import io
from datetime import date, datetime, time, timezone
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
from reportlab.lib.utils import TimeStamp  # noqa: E402
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, Image, NextPageTemplate, PageBreak,  # noqa: E402
                                PageTemplate, Paragraph, Spacer, Table, TableStyle, XPreformatted)
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

# The 通报's extra columns (format 2): R2b, work coverage, the standalone rate's changes (HTML and PDF).
EXTRA_COLUMNS = ("50人以上企业有党员率", "工作覆盖率", "单独组建率较上期", "单独组建率较摸底排查时")
RED = "#c00000"
VERIFY_COMMAND = "python -m reporting.audit.verify --keys audit-keys.vkey --checkpoints CHECKPOINTS --events EVENTS --bulletin DIR"


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


def _points(points: str | None) -> str:
    return "—" if points is None else f"{'+' if not points.startswith('-') else ''}{points}个百分点"


def extra_rows(rows: list[dict]) -> list[list[str]]:
    """EXTRA_COLUMNS of each row ("—" where the data file has no such figure: format 1)."""
    found = []
    for row in rows:
        since = row.get("since_start") or {}
        found.append([_rate(row, "member_required_coverage"),
                      _rate(row, "work_coverage") if "work_coverage" in row["rates"] else "—",
                      _points(row["change"].get("standalone_rate_points")),
                      _points(since.get("standalone_rate_points"))])
    return found


def full_rows(rows: list[dict]) -> list[list[str]]:
    return [a + b for a, b in zip(table_rows(rows), extra_rows(rows))]


def verification(data: dict, checkpoint_note: str, figures_sha256: str) -> dict:
    """The short verification footer: the log position the figures rest on and how to check them."""
    lines = checkpoint_note.splitlines()
    root_hex = base64.b64decode(lines[2]).hex() if len(lines) > 2 else ""
    cutoff = data["cutoff_date"]
    return {"tree_size": lines[1] if len(lines) > 1 else "", "root_prefix": root_hex[:16],
            "figures_prefix": figures_sha256[:16], "origin": lines[0] if lines else "",
            "text": (f"核验：审计日志树规模 {lines[1] if len(lines) > 1 else ''}，根哈希前8字节 {root_hex[:16]}，"
                     f"数据文件SHA-256前8字节 {figures_sha256[:16]}。取得 GET /bulletins/{cutoff}/json 与 "
                     f"GET /audit/checkpoints、GET /audit/export/events，离线运行 {VERIFY_COMMAND}。")}


def document_of(data: dict) -> dict:
    """The published document (文号, 主送, narrative); a data file without one (format 1) has empty fields."""
    return data.get("document") or {"issuer": "市委组织部", "number": "", "recipients": [], "narrative": "",
                                    "published_on": data["cutoff_date"]}


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
    chart = chart if chart is not None else chart_png(data)
    document = document_of(data)
    html = TEMPLATES.get_template("bulletin.html.j2").render(
        data=data, title=title(data), columns=COLUMNS + EXTRA_COLUMNS, districts=full_rows(data["districts"]),
        departments=full_rows(data["departments"]), total=full_rows([data["total"]])[0],
        status_zh=STATUS_ZH, figure_names=FIGURE_NAMES_ZH, checkpoint=checkpoint_note,
        figures_sha256=figures_sha256, chart=base64.b64encode(chart).decode(), date_zh=_date_zh,
        document=document, paragraphs=narrative_paragraphs(document["narrative"]),
        verification=verification(data, checkpoint_note, figures_sha256))
    return html.encode("utf-8")


# The XLSX's figure columns: every rate a percent-formatted number followed by its numerator and denominator
# (R7), every count an integer, the change in percentage points a number (platform_core.spreadsheets).
XLSX_RATES = (("organization_coverage", "组织覆盖率"), ("standalone_rate", "单独组建率"), ("two_coverage", "两个覆盖率"),
              ("required_coverage", "应建尽建覆盖率"), ("member_required_coverage", "50人以上企业有党员率"),
              ("work_coverage", "工作覆盖率"))
XLSX_COLUMNS = ("名次", "单位", "党建基数", "已建党组织",
                *(f"{name}{part}" for _, name in XLSX_RATES for part in ("", "（分子）", "（分母）")),
                "正式党员", "预备党员", "覆盖率较上期", "单独组建率较上期", "单独组建率较摸底排查时")


def xlsx_row(row: dict) -> list:
    """A bulletin row as cells: numbers as numbers (a rate without a denominator is a blank cell; a figure the
    bulletin's data format does not hold, e.g. the work coverage of a format-1 bulletin, three blank cells)."""
    c = row["counters"]
    rates = []
    for key, _ in XLSX_RATES:
        rate = row["rates"].get(key)
        rates += [None, None, None] if rate is None else [Percent(rate["percent"]), rate["numerator"],
                                                          rate["denominator"]]
    since = row.get("since_start") or {}
    return [row["rank"], row["name"], c["baseline"], c["organization_covered"], *rates, c["formal_members"],
            c["probationary_members"], Points(row["change"]["organization_coverage_points"]),
            Points(row["change"].get("standalone_rate_points")), Points(since.get("standalone_rate_points"))]


def narrative_paragraphs(text: str) -> list[tuple[str, str]]:
    """(kind, text) per line: "heading" for 一、二、三、 lines, "para" otherwise; blank lines dropped."""
    found = []
    for line in text.splitlines():
        if line.strip():
            found.append(("heading" if line.strip()[:2] in ("一、", "二、", "三、", "四、", "五、") else "para",
                          line.strip()))
    return found


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


def _pdf_cells(rows: list[list[str]]) -> list[list[str]]:
    """A rate's fraction on its own line, so the wide tables fit the page."""
    return [[cell.replace("%（", "%\n（") for cell in row] for row in rows]


def _two_lines(header: str) -> str:
    """A long column header broken in the middle, so it stays inside its narrow column."""
    return header if len(header) <= 5 else header[:(len(header) + 1) // 2] + "\n" + header[(len(header) + 1) // 2:]


def publication_stamp(published_on: str) -> TimeStamp:
    """reportlab's document time stamp at 00:00 city time (UTC+8) of the publication date: the PDF's
    CreationDate and ModDate say when it was published, and the same data still gives the same bytes."""
    stamp = TimeStamp(invariant=1)
    day = date.fromisoformat(published_on)
    moment = datetime.combine(day, time(0), timezone.utc)
    stamp.t = moment.timestamp() - 8 * 3600
    stamp.YMDhms = (day.year, day.month, day.day, 0, 0, 0)
    stamp.dhh, stamp.dmm, stamp.tzname = 8, 0, "CST"
    return stamp


def render_pdf(data: dict, checkpoint_note: str, figures_sha256: str, chart: bytes | None = None) -> bytes:
    """The 通报: A4 portrait pages with the red header (issuer, 文号, red rule), title, 主送, narrative and the
    issuer's signature and date; A4 landscape pages with the figures tables, the chart and the lists; an
    appendix with the raw signed checkpoint. Every page carries the short verification footer.

    reportlab lays the tables out in milliseconds; text stays text, in the embedded CJK font subset."""
    font = pdf_cjk_font()
    document = document_of(data)
    check = verification(data, checkpoint_note, figures_sha256)
    styles = {name: ParagraphStyle(name, fontName=font, fontSize=size, leading=size * leading, alignment=align,
                                   wordWrap="CJK", textColor=colors.HexColor(color), firstLineIndent=indent)
              for name, size, leading, align, color, indent in (
                  ("issuer", 26, 1.3, 1, RED, 0), ("number", 11, 1.4, 1, "#000000", 0),
                  ("title", 16, 1.4, 1, "#000000", 0), ("recipients", 11, 1.6, 0, "#000000", 0),
                  ("heading", 11.5, 1.7, 0, "#000000", 23), ("para", 11, 1.7, 0, "#000000", 22),
                  ("signature", 11, 1.6, 2, "#000000", 0), ("section", 12, 1.5, 0, "#000000", 0),
                  ("body", 8, 1.35, 0, "#000000", 0), ("small", 7, 1.35, 0, "#000000", 0))}
    story = [Paragraph(escape(document["issuer"]), styles["issuer"]), Spacer(0, 8),
             Paragraph(escape(document["number"]) or "&nbsp;", styles["number"]), Spacer(0, 4),
             RedRule(), Spacer(0, 14), Paragraph(escape(title(data)), styles["title"]), Spacer(0, 12)]
    if document["recipients"]:
        story.append(Paragraph(escape("，".join(document["recipients"])) + "：", styles["recipients"]))
    story += [Paragraph(escape(text), styles[kind]) for kind, text in narrative_paragraphs(document["narrative"])]
    story += [Spacer(0, 18), Paragraph(escape(document["issuer"]), styles["signature"]),
              Paragraph(escape(_date_zh(document["published_on"])), styles["signature"]), Spacer(0, 18),
              Paragraph("本通报数字可由审计日志独立核验：" + escape(check["text"].removeprefix("核验："))
                        + "签名检查点原文见附件。", styles["small"]),
              NextPageTemplate("landscape"), PageBreak()]
    columns = [_two_lines(c) for c in COLUMNS + EXTRA_COLUMNS]
    widths = [22, 76, 38, 40, 58, 58, 58, 58, 34, 34, 54, 58, 58, 54, 54]
    rows = [columns] + _pdf_cells(full_rows(data["districts"])) + [
        ["", "全市合计", *_pdf_cells(full_rows([data["total"]]))[0][2:]]]
    story += [Paragraph("附表：各区两新组织党组织覆盖情况（截至" + _date_zh(data["cutoff_date"]) + "）", styles["section"]),
              Spacer(0, 6), _figures_table(rows, widths, font, total_row=True), Spacer(0, 10),
              Paragraph("市直部门", styles["section"]), Spacer(0, 6),
              _figures_table([columns] + _pdf_cells(full_rows(data["departments"])), widths, font), PageBreak()]
    late = [e for e in data["reports"] if e["status"] in ("late", "missing")]
    flagged = [e for e in data["reports"] if e["discrepancies"]]
    lines = (["半月报送逾期、未报送："]
             + ([f"{e['unit_name']}（{e['deadline']}）：{STATUS_ZH[e['status']]}" for e in late] or ["无"])
             + ["", "报送数据与核实数据不符："]
             + ([f"{e['unit_name']}（{e['deadline']}）：" + "；".join(
                 f"{FIGURE_NAMES_ZH.get(d['figure'], d['figure'])}报{d['reported']}核{d['derived']}"
                 for d in e["discrepancies"]) for e in flagged] or ["无"])
             + ["", f"应单独组建未单独组建（R3）：{len(data['r3_violations'])}个；逾期未完成任务："
                    f"{len(data['overdue_tasks'])}个；检查未通过：{len(data['failed_checks'])}次"])
    chart = chart if chart is not None else chart_png(data)
    chart_width = 520
    story += [Image(io.BytesIO(chart), width=chart_width, height=chart_width * 0.42), Spacer(0, 8)]
    story += [Paragraph(escape(line) or "&nbsp;", styles["body"]) for line in lines]
    story += [PageBreak(), Paragraph("附件：审计检查点（签名原文）与数据文件", styles["section"]), Spacer(0, 6),
              Paragraph(f"数据文件 figures.json 的 SHA-256：{figures_sha256}", styles["small"]), Spacer(0, 4),
              XPreformatted(escape(checkpoint_note), styles["small"]), Spacer(0, 8),
              Paragraph(escape(check["text"]), styles["small"])]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas._doc._timeStamp = stamp  # the info dictionary's dates, written when the file is finished
        canvas.setFont(font, 6.5)
        canvas.setFillColor(colors.HexColor("#444444"))
        width = canvas._pagesize[0]  # this page's template (portrait or landscape), not the document's default
        short = (f"核验：日志树规模 {check['tree_size']} · 根哈希 {check['root_prefix']}… · "
                 f"数据文件 {check['figures_prefix']}… · 方法见附件；python -m reporting.audit.verify")
        canvas.drawString(28, 16, short)
        canvas.drawRightString(width - 28, 16, f"第{doc.page}页")
        canvas.restoreState()

    stamp = publication_stamp(document["published_on"])
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=A4, title=title(data), author=document["issuer"],
                          subject=document["number"], creator="campaign reporting", invariant=1)
    portrait, wide = A4, landscape(A4)
    doc.addPageTemplates([
        PageTemplate("portrait", [Frame(56, 40, portrait[0] - 112, portrait[1] - 96, id="portrait")],
                     onPage=footer, pagesize=portrait),
        PageTemplate("landscape", [Frame(28, 30, wide[0] - 56, wide[1] - 58, id="landscape")],
                     onPage=footer, pagesize=wide)])
    doc.build(story)
    return out.getvalue()


def _figures_table(rows: list[list[str]], widths: list[int], font: str, total_row: bool = False) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [("FONT", (0, 0), (-1, -1), font, 6.5), ("LEADING", (0, 0), (-1, -1), 8),
             ("ALIGN", (0, 0), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8"))]
    if total_row:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f4f4f4")))
    table.setStyle(TableStyle(style))
    return table


class RedRule(Flowable):
    """The red rule under a red-header document's 文号 (a thick line over a thin one)."""

    def wrap(self, available_width, available_height):
        self.width = available_width
        return available_width, 6

    def draw(self):
        self.canv.setStrokeColor(colors.HexColor(RED))
        self.canv.setLineWidth(2.2)
        self.canv.line(0, 4, self.width, 4)
        self.canv.setLineWidth(0.6)
        self.canv.line(0, 0.5, self.width, 0.5)


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
