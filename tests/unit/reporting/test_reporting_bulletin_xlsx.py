"""The bulletin's XLSX holds its figures as numbers: counts as integers, rates as percent-formatted numbers
with their numerator and denominator beside them, never text like '66.67%（6/9）'."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from reporting.adapters import bulletin_render
from reporting.domain.rederive import fold_events
from reporting.domain.reports import end_of_day
from reporting.handlers.bulletin_figures import assemble, previous_cutoff
from reporting_scenario import campaign

NOTE = "campaign.example/wuhan-2016/audit\n41\nB4yCcH2ZvQGpfsGutL/4+AKEE0xuVxi5bGbVbCzgjrU=\n"


def workbook(cutoff=date(2016, 9, 25)):
    events = [e for _, e in campaign().events]
    previous = previous_cutoff(cutoff)
    before = fold_events(events, end_of_day(previous)) if previous else None
    data = assemble(fold_events(events, end_of_day(cutoff)), before, cutoff, previous).as_dict()
    return data, load_workbook(io.BytesIO(bulletin_render.render_xlsx(data, NOTE, "0" * 64)))


def test_district_figures_are_numbers_and_rates_percent_formatted():
    data, book = workbook()
    sheet = book["各区"]
    headers = [c.value for c in sheet[2]]
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=3)}
    jiangan = dict(zip(headers, rows["江岸区"]))
    assert jiangan["党建基数"].value == 9 and jiangan["党建基数"].data_type == "n"
    rate = jiangan["组织覆盖率"]
    assert rate.data_type == "n" and rate.value == pytest.approx(0.6667) and rate.number_format == "0.00%"
    assert jiangan["组织覆盖率（分子）"].value == 6 and jiangan["组织覆盖率（分母）"].value == 9
    assert jiangan["名次"].value == 1 and jiangan["名次"].data_type == "n"
    total = dict(zip(headers, rows["全市合计"]))
    assert total["党建基数"].value == data["total"]["counters"]["baseline"]
    for row in sheet.iter_rows(min_row=3):
        for header, cell in zip(headers, row):
            if header != "单位" and cell.value is not None:
                assert cell.data_type == "n", (header, cell.value)  # no figure as text, no "—"
                assert not (isinstance(cell.value, str) and "%" in cell.value)


def test_other_sheets_keep_dates_and_counts_as_numbers():
    _, book = workbook(date(2016, 12, 10))
    deadlines = [row[1] for row in book["半月报送"].iter_rows(min_row=2)]
    assert deadlines and all(cell.is_date for cell in deadlines)
    violations = [row for row in book["问题清单"].iter_rows(min_row=2) if "R3" in row[0].value]
    assert violations and all(row[3].data_type == "n" and row[3].value >= 3 for row in violations)
    departments = book["市直部门"]
    assert all(cell.data_type == "n" for row in departments.iter_rows(min_row=2) for cell in row[2:]
               if cell.value is not None)


def test_the_tongbao_figures_are_numbers_too():
    """The R2b rate, the work coverage and the standalone rate's changes (since the last cutoff and since the
    campaign's starting point) are cells of their own, numeric, as the data file states them."""
    data, book = workbook()
    sheet = book["各区"]
    headers = [c.value for c in sheet[2]]
    row = next(r for r in sheet.iter_rows(min_row=3) if r[1].value == "江岸区")
    cells = dict(zip(headers, row))
    stated = next(d for d in data["districts"] if d["name"] == "江岸区")
    for key, name in (("member_required_coverage", "50人以上企业有党员率"), ("work_coverage", "工作覆盖率")):
        rate = stated["rates"][key]
        assert cells[f"{name}（分子）"].value == rate["numerator"] and cells[f"{name}（分母）"].data_type == "n"
        assert cells[f"{name}（分母）"].value == rate["denominator"]
        if rate["percent"] is not None:
            assert cells[name].data_type == "n" and cells[name].number_format == "0.00%"
    change = stated["change"]["standalone_rate_points"]
    assert (cells["单独组建率较上期"].value is None) == (change is None)
    if change is not None:
        assert cells["单独组建率较上期"].value == pytest.approx(float(change))
