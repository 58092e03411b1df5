"""What ``simulator play`` prints at the end fits an 80-column terminal; the wide table goes to a file;
a log without a terminal gets a progress line per 10%, not per step."""

import io

from hypothesis import given, strategies as st
from rich.console import Console

from simulator import summary


def report(districts: int = 20, failures: int = 3) -> dict:
    units = {f"district-4201{n:02d}": {"registered": 12345, "approved": 12000, "flagged": 45, "in_baseline": 11000}
             for n in range(districts)}
    bulletin = {u: {"organization_covered": 8000, "organization_coverage": 8000 / 11000, "standalone_covered": 6000,
                    "two_covered": 10500, "required_covered": 900, "required": 1000, "closed": 7000} for u in units}
    return {
        "phases_ran": ["registry", "ledgers", "members", "formation", "work_coverage", "checks", "reports",
                       "bulletins", "spot_checks", "look_back", "responsibility_reports"],
        "phases_left_out": {"intake": "the intake service does not answer /intake/events on this platform"},
        "commands": {"sent": 123456, "seconds": 345.67, "per_second": 357.2, "p50_ms": 12.3, "p99_ms": 456.7,
                     "retries": 3, "failed": failures, "fallbacks": 1,
                     "failures": [f"POST /organizations 409 conflict: organization {n} was formed already "
                                  "for this entity by another department's command in the same batch" for n in range(failures)]},
        "spot_check_seed": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "bulletins": [{"cutoff_date": f"2016-{m:02d}-{d:02d}"} for m in (9, 10, 11, 12) for d in (10, 25)],
        "bulletin_units_not_compared": ["district-420102", "district-420103", "civil-affairs", "city-organs"],
        "truth": {"registry_by_district": units, "bulletin": bulletin, "members_by_district": {}},
        "differences": [],
    }


def test_every_summary_line_fits_80_columns_and_names_the_city_figures():
    lines = summary.summary_lines(report())
    assert lines and all(len(line) <= summary.WIDTH for line in lines), [line for line in lines if len(line) > 80]
    text = "\n".join(lines)
    assert "city (ground truth): baseline 220000" in text and "72.7%" in text and "2016-12-25" in text
    assert sum(line.startswith("failed:") for line in lines) == 3


def test_the_district_table_is_wide_and_complete_in_a_file():
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(summary.district_table(report(districts=3)))
    text = out.getvalue()
    assert "district-420102" in text and "72.7%" in text and "900/1000" in text
    assert max(len(line) for line in text.splitlines()) > 80  # hence a file, not the terminal


@given(st.integers(min_value=1, max_value=100_000), st.lists(st.integers(min_value=0, max_value=500), max_size=400))
def test_a_log_gets_at_most_one_progress_line_per_ten_percent(total, batches):
    done, last, logged = 0, -1, []
    for n in batches:
        done = min(total, done + n)
        mark = summary.progress_mark(done, total, last)
        if mark is not None:
            logged.append(mark)
            last = mark
    assert len(logged) <= 11 and logged == sorted(set(logged))
    assert all(m % 10 == 0 and m <= done * 100 // total for m in logged)
