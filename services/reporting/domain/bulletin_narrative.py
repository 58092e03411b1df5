"""The 通报's narrative, drafted from its figures (一、进展 二、存在问题 三、下步要求), and the checks on the
text the city department publishes after editing it.

Pure: works on the data file's dict (``BulletinData.as_dict``, format 2). Which districts and units are named
as lagging follows the thresholds below (docs/reporting.md, "The narrative"); the plan names no figures for
them, so they are this platform's defaults, kept in one place.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from platform_core.errors import SchemaViolation

# A district lags on coverage when its organization coverage is this many points or more below the city's.
COVERAGE_GAP_POINTS = Decimal("10")
# 二(四)2 asks the standalone rate to rise clearly (明显提升) by year end: a district whose rate rose by fewer
# points than this since the campaign's starting point (the survey, 8-26) is named.
STANDALONE_RISE_POINTS = Decimal("5")
NARRATIVE_MAX_CHARS = 6000
ALLOWED_CONTROLS = {"\n"}
# control, invisible format, surrogate, private-use and unassigned characters, and the Unicode line and paragraph
# separators (a newline is the only line break the 通报 knows)
REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
STATUS_ZH = {"late": "逾期报送", "missing": "未报送"}


@dataclass(frozen=True)
class Lagging:
    """A district named under 存在问题, with each reason it is named for."""

    unit: str
    name: str
    reasons: tuple[str, ...]


def date_zh(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{int(year)}年{int(month)}月{int(day)}日"


def _percent(rate: dict | None) -> Decimal | None:
    return None if rate is None or rate["percent"] is None else Decimal(rate["percent"])


def _rate_text(rate: dict | None) -> str:
    return "—" if _percent(rate) is None else f"{rate['percent']}%"


def _points_text(points: str | None) -> str:
    if points is None:
        return "—"
    change = Decimal(points)
    if change == 0:
        return "持平"
    return f"{'提高' if change > 0 else '下降'}{abs(change)}个百分点"


def lagging_districts(data: dict) -> list[Lagging]:
    """Districts with a baseline whose organization coverage is ``COVERAGE_GAP_POINTS`` or more below the city's,
    or whose standalone rate rose fewer than ``STANDALONE_RISE_POINTS`` since the starting point (when both rates
    exist); in the data file's district order."""
    city = _percent(data["total"]["rates"]["organization_coverage"])
    found = []
    for row in data["districts"]:
        if row["counters"]["baseline"] == 0:
            continue
        reasons = []
        coverage = _percent(row["rates"]["organization_coverage"])
        if city is not None and coverage is not None and city - coverage >= COVERAGE_GAP_POINTS:
            reasons.append(f"组织覆盖率{coverage}%，低于全市{city - coverage}个百分点")
        rise = (row.get("since_start") or {}).get("standalone_rate_points")
        if rise is not None and Decimal(rise) < STANDALONE_RISE_POINTS:
            reasons.append(f"单独组建率较摸底排查时{_points_text(rise)}，未明显提升")
        if reasons:
            found.append(Lagging(row["unit"], row["name"], tuple(reasons)))
    return found


def lagging_units(data: dict) -> list[tuple[str, str]]:
    """Reporting (ledger) units whose report for a deadline the bulletin covers (the previous and this one) is
    late or missing, or whose reported figures differ from the derived ones: (unit name, what), in the data
    file's order. A report still in its grace period (pending) is not named."""
    found = []
    for entry in data["reports"]:
        deadline = date_zh(entry["deadline"]).partition("年")[2]
        if entry["status"] in STATUS_ZH:
            found.append((entry["unit_name"], f"{deadline}半月报{STATUS_ZH[entry['status']]}"))
        if entry["discrepancies"]:
            found.append((entry["unit_name"], f"{deadline}报送数据与核实数据不符（{len(entry['discrepancies'])}项）"))
    return found


def draft(data: dict, signal_lines: Sequence[str] = ()) -> str:
    """The narrative's three parts from the figures; the city department may edit it before publishing.
    ``signal_lines``: the detectors' signals per district (reporting.domain.signals.bulletin_lines), in
    存在问题 when the city chooses to show them."""
    total = data["total"]
    rates, counters = total["rates"], total["counters"]
    since = total.get("since_start") or {}
    progress = ((
        f"截至{date_zh(data['cutoff_date'])}，全市两新组织党建基数{counters['baseline']}个，已建党组织覆盖"
        f"{counters['organization_covered']}个，组织覆盖率{_rate_text(rates['organization_coverage'])}"
        f"（较上期{_points_text(total['change']['organization_coverage_points'])}），两个覆盖率"
        f"{_rate_text(rates['two_coverage'])}，应建尽建覆盖率{_rate_text(rates['required_coverage'])}，"
        f"职工50人以上企业有党员率{_rate_text(rates['member_required_coverage'])}，未建党组织的两新组织工作覆盖率"
        f"{_rate_text(rates.get('work_coverage'))}；单独组建率{_rate_text(rates['standalone_rate'])}")
        + (f"（较摸底排查时{_points_text(since['standalone_rate_points'])}）。"
           if since.get("standalone_rate_points") is not None else "（摸底排查时无可比的单独组建率）。"))
    city = _percent(rates["organization_coverage"])
    ranked = sorted((r for r in data["districts"] if r["rank"] is not None and city is not None
                     and _percent(r["rates"]["organization_coverage"]) is not None
                     and _percent(r["rates"]["organization_coverage"]) >= city), key=lambda r: r["rank"])
    if ranked:  # the first three at or above the city's rate
        leaders = "、".join(f"{r['name']}（{_rate_text(r['rates']['organization_coverage'])}）" for r in ranked[:3])
        progress += f"组织覆盖率居前的是{leaders}。"
    problems = []
    for number, item in enumerate(lagging_districts(data), start=1):
        problems.append(f"{number}. {item.name}：{'；'.join(item.reasons)}。")
    units = lagging_units(data)
    by_what: dict[str, list[str]] = {}
    for name, what in units:
        by_what.setdefault(what, []).append(name)
    if units:
        problems.append("半月报送方面：" + "；".join(f"{what}的有{'、'.join(names)}" for what, names in by_what.items())
                        + "。")
    if data["r3_violations"]:
        problems.append(f"有{len(data['r3_violations'])}个两新组织正式党员3名以上仍未单独组建党组织。")
    if data["overdue_tasks"]:
        problems.append(f"有{len(data['overdue_tasks'])}个组建任务逾期未完成。")
    if signal_lines:
        problems.append("数据分析发现的疑点（尚待核实的不作结论）：" + "".join(signal_lines))
    if not problems:
        problems.append(f"各区组织覆盖率均不低于全市{COVERAGE_GAP_POINTS}个百分点以上，半月报送按时。")
    requirements = ["各区、各有关单位要对照通报查找差距，组织覆盖率排名靠后的区要制定针对性措施，确保年底组织覆盖率"
                    "达到80%以上，符合条件的两新组织应建尽建。",
                    "凡有3名及以上正式党员的两新组织，必须单独建立党组织；年底前单独组建率要有明显提升。",
                    "按时报送半月报，确保报送数据与核实数据一致。"]
    named = [item.name for item in lagging_districts(data)]
    if named or units:
        who = "、".join(named) + ("以及" if named and units else "") + ("半月报送存在问题的单位" if units else "")
        requirements.insert(0, f"请{who}认真分析原因，于下期通报前整改到位。")
    return "\n".join(["一、进展", progress, "二、存在问题", *problems, "三、下步要求",
                      *(f"{n}. {text}" for n, text in enumerate(requirements, start=1))])


def check_text(text: str) -> str:
    """The narrative as published: at most ``NARRATIVE_MAX_CHARS`` characters, not blank, no control characters
    other than newline (a carriage return is taken as a newline)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise SchemaViolation("narrative 不能为空", field="narrative", rule="narrative_not_blank")
    if len(text) > NARRATIVE_MAX_CHARS:
        raise SchemaViolation(f"narrative 超过{NARRATIVE_MAX_CHARS}字（{len(text)}字）", field="narrative",
                              rule="narrative_max_chars")
    for position, char in enumerate(text):
        if char not in ALLOWED_CONTROLS and unicodedata.category(char) in REFUSED_CATEGORIES:
            raise SchemaViolation(f"narrative 第{position + 1}个字符是控制或不可见字符 U+{ord(char):04X}",
                                  field="narrative", rule="narrative_characters")
    return text
