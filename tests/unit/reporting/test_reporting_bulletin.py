"""The bulletin's figures for the scenario (by hand), its data file's stability, and its PDF page as an image."""

import shutil
import subprocess
from datetime import date


from reporting.adapters import bulletin_render
from reporting.domain.rederive import fold_events
from reporting.domain.reports import end_of_day
from reporting.handlers.bulletin_figures import assemble, previous_cutoff
from reporting_scenario import DISTRICT_A, DISTRICT_B, campaign, ent

NOTE = ("campaign.example/wuhan-2016/audit\n41\nB4yCcH2ZvQGpfsGutL/4+AKEE0xuVxi5bGbVbCzgjrU=\n"
        "time 2016-11-20T08:00:00.000000Z\n\n— campaign.example/wuhan-2016/audit cUBQQk37JOpZPNy2Mfei=\n")


def bulletin(cutoff=date(2016, 9, 25), events=None):
    events = events or [e for _, e in campaign().events]
    previous = previous_cutoff(cutoff)
    now = fold_events(events, end_of_day(cutoff))
    before = fold_events(events, end_of_day(previous)) if previous else None
    return assemble(now, before, cutoff, previous)


def test_bulletin_rows_reports_and_lists_by_hand():
    data = bulletin().as_dict()
    assert data["previous_cutoff_date"] == "2016-09-10"
    a = next(r for r in data["districts"] if r["unit"] == f"district-{DISTRICT_A}")
    assert a["name"] == "江岸区" and a["counters"]["baseline"] == 9
    assert a["rates"]["organization_coverage"] == {"numerator": 6, "denominator": 9, "percent": "66.67"}
    assert a["change"]["baseline"] == 0  # nothing happened between the 10th and the 25th
    assert a["rank"] == 1  # 66.67% beats district B's 0% and the districts without entities
    assert data["total"]["counters"]["baseline"] == 12
    reports = {(r["unit"], r["deadline"]): r for r in data["reports"]}
    on_time = reports[(f"district-{DISTRICT_A}", "2016-09-10")]
    assert on_time["status"] == "on_time"
    # The entities behind the derived figure: district A's six organization-covered baseline entities.
    assert on_time["discrepancies"] == [{"figure": "organization_covered", "reported": 7, "derived": 6,
                                         "difference": 1, "derived_entity_ids": sorted(
                                             ent(n) for n in (1, 3, 4, 5, 6, 13))}]
    assert reports[(f"district-{DISTRICT_B}", "2016-09-10")]["status"] == "late"
    assert reports[(f"district-{DISTRICT_B}", "2016-09-10")]["discrepancies"] == []
    assert reports[("civil-affairs", "2016-09-10")]["status"] == "missing"
    assert reports[("city-organs", "2016-09-25")]["status"] == "pending"  # grace not over at the cutoff
    assert [v["entity_id"] for v in data["r3_violations"]] == [ent(6)]
    assert data["overdue_tasks"] == []  # before the formation deadline (11-20)
    assert data["failed_checks"] == []  # the spot check of 11-28 comes after this cutoff


def test_data_file_is_stable_bytes_and_later_cutoffs():
    events = [e for _, e in campaign().events]
    by_stream: dict[str, list] = {}
    for e in events:
        by_stream.setdefault(e.stream_id, []).append(e)
    interleaved = [e for stream in sorted(by_stream, reverse=True) for e in by_stream[stream]]
    assert bulletin(events=events).data_bytes() == bulletin(events=interleaved).data_bytes()
    # Formation due 11-20 (R9): E8 and E9 are required and uncovered (E9's mass organization does not spare
    # it), E14 has neither an organization nor work coverage; E2 is not required and has an instructor.
    after_formation = bulletin(date(2016, 11, 25), events).as_dict()
    assert {t["entity_id"] for t in after_formation["overdue_tasks"]} == {ent(8), ent(9), ent(14)}
    assert {t["milestone"] for t in after_formation["overdue_tasks"]} == {"formation"}
    # Acceptance due 12-05: also every covered task not closed (E3-E6 in joint O2, E10, E11 reopened, E13).
    after_acceptance = bulletin(date(2016, 12, 10), events).as_dict()
    milestones = {t["entity_id"]: t["milestone"] for t in after_acceptance["overdue_tasks"]}
    assert milestones == {**{ent(n): "acceptance" for n in (3, 4, 5, 6, 10, 11, 13)},
                          **{ent(n): "formation" for n in (8, 9, 14)}}
    assert [(c["unit"], c["check_kind"]) for c in after_acceptance["failed_checks"]] == [
        ("supervisor-education", "spot_check")]


def test_pdf_page_renders_as_an_image(tmp_path):
    from PIL import Image

    assert shutil.which("pdftoppm"), "poppler-utils (pdftoppm) is not installed; scripts/test.sh installs it"
    data = bulletin().as_dict()
    pdf = bulletin_render.render_pdf(data, NOTE, "0" * 64)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "bulletin.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "bulletin.pdf"),
                    str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    width, height = page.size
    assert width > height > 400  # A4 landscape at 60 dpi: about 701 x 496
    title_band = page.crop((0, 0, width, int(height * 0.1)))
    dark = sum(1 for p in title_band.getdata() if p < 128) / (title_band.width * title_band.height)
    assert 0.005 < dark < 0.3, f"the title band should carry text, dark ratio {dark:.4f}"
    table_band = page.crop((0, int(height * 0.15), width, int(height * 0.6)))
    dark_table = sum(1 for p in table_band.getdata() if p < 128) / (table_band.width * table_band.height)
    assert dark_table > 0.02, f"the district table should be drawn, dark ratio {dark_table:.4f}"
    text = subprocess.run(["pdftotext", str(tmp_path / "bulletin.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout  # text, not pictures of text: searchable and copyable
    assert bulletin_render.title(data) in text and "江岸区" in text and "全市合计" in text and NOTE.splitlines()[2] in text
    html = bulletin_render.render_html(data, NOTE, "0" * 64).decode()
    assert "组织覆盖率" in html and "江岸区" in html and NOTE.splitlines()[2] in html
    assert bulletin_render.render_xlsx(data, NOTE, "0" * 64).startswith(b"PK")
