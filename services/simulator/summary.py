"""What ``simulator play`` prints at the end, for an 80-column terminal: a few short lines, the city's
figures, and where the wide per-district table was written (``district_table`` renders it for the file).

Pure (no I/O): ``cli`` prints the lines and writes the table.
"""

import textwrap

from rich.table import Table

WIDTH = 80
TABLE_COLUMNS = ("单位", "登记", "已审核", "已标记", "党建基数", "组织覆盖", "覆盖率", "单独组建", "两个覆盖",
                 "应建(R2)覆盖", "已销号", "正式党员", "预备党员")


def wrapped(text: str, indent: str = "  ") -> list[str]:
    """``text`` as lines of at most WIDTH columns (continuations indented)."""
    return textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False) or [""]


def summary_lines(report: dict) -> list[str]:
    """The run in short lines: phases, throughput, bulletins, the city's figures, failures."""
    c = report["commands"]
    lines = wrapped(f"phases ran: {', '.join(report['phases_ran'])}")
    for phase, why in report["phases_left_out"].items():
        lines += wrapped(f"phase left out: {phase} ({why})")
    lines += wrapped(f"{c['sent']} commands in {c['seconds']} s = {c['per_second']} commands/s")
    lines += wrapped(f"  p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, {c['retries']} retries, {c['failed']} failed")
    if report.get("spot_check_seed"):
        used = "refused: a signed checkpoint seeds the draw" if c["fallbacks"] else "used"
        lines += wrapped(f"spot-check seed fixed in advance: {report['spot_check_seed']} ({used})")
    if report.get("bulletins"):
        cutoffs = [b["cutoff_date"] for b in report["bulletins"]]
        lines += wrapped(f"bulletins published ({len(cutoffs)}): {', '.join(cutoffs)}")
        if report.get("bulletin_units_not_compared"):
            lines += wrapped("not compared (held entities before the run): "
                             + ", ".join(report["bulletin_units_not_compared"]))
    total = city_total(report)
    if total["in_baseline"]:
        rate = total["organization_covered"] / total["in_baseline"]
        lines += wrapped(f"city (ground truth): baseline {total['in_baseline']}, organization-covered "
                         f"{total['organization_covered']} ({rate:.1%}), two-covered {total['two_covered']}, "
                         f"closed {total['closed']}")
    for failure in c["failures"][:10]:
        lines += wrapped(f"failed: {failure}")
    return lines


def city_total(report: dict) -> dict[str, int]:
    """The ground truth's figures summed over the units of the per-district table."""
    total = {"in_baseline": 0, "organization_covered": 0, "two_covered": 0, "closed": 0}
    for unit, row in report["truth"]["registry_by_district"].items():
        bulletin = report["truth"]["bulletin"].get(unit, {})
        total["in_baseline"] += row["in_baseline"]
        for key in ("organization_covered", "two_covered", "closed"):
            total[key] += bulletin.get(key, 0)
    return total


def district_table(report: dict) -> Table:
    """The wide per-district table of the ground truth (for a file, or a wide terminal)."""
    table = Table(title="基数与覆盖（模拟真值） ground truth per district")
    for column in TABLE_COLUMNS:
        table.add_column(column, justify="right")
    members = report["truth"]["members_by_district"]
    for unit, row in report["truth"]["registry_by_district"].items():
        bulletin = report["truth"]["bulletin"].get(unit, {})
        rate = bulletin.get("organization_coverage")
        table.add_row(unit, str(row["registered"]), str(row["approved"]), str(row["flagged"]), str(row["in_baseline"]),
                      str(bulletin.get("organization_covered", 0)), f"{rate:.1%}" if rate is not None else "-",
                      str(bulletin.get("standalone_covered", 0)), str(bulletin.get("two_covered", 0)),
                      f"{bulletin.get('required_covered', 0)}/{bulletin.get('required', 0)}", str(bulletin.get("closed", 0)),
                      str(members.get(unit, {}).get("formal", 0)), str(members.get(unit, {}).get("probationary", 0)))
    return table


def progress_mark(done: int, total: int, last_mark: int, step_percent: int = 10) -> int | None:
    """For a log file (no terminal, so no updating bar): the percentage to log now, at most one line per
    ``step_percent`` of the commands, or None."""
    if total <= 0:
        return None
    mark = min(100, done * 100 // total) // step_percent * step_percent
    return mark if mark > last_mark else None
