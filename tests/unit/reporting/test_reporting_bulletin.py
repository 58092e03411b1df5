"""The bulletin's figures for the scenario (by hand), its data file's stability, and its PDF page as an image."""

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import date


from reporting.adapters import bulletin_render
from reporting.domain.rederive import fold_events
from reporting.domain.reports import end_of_day
from reporting.handlers.bulletin_figures import assemble, previous_cutoff, standalone_start
from reporting_scenario import DISTRICT_A, DISTRICT_B, campaign, ent

NOTE = ("campaign.example/wuhan-2016/audit\n41\nB4yCcH2ZvQGpfsGutL/4+AKEE0xuVxi5bGbVbCzgjrU=\n"
        "time 2016-11-20T08:00:00.000000Z\n\n— campaign.example/wuhan-2016/audit cUBQQk37JOpZPNy2Mfei=\n")


def bulletin(cutoff=date(2016, 9, 25), events=None):
    events = events or [e for _, e in campaign().events]
    previous = previous_cutoff(cutoff)
    now = fold_events(events, end_of_day(cutoff))
    before = fold_events(events, end_of_day(previous)) if previous else None
    start = standalone_start(cutoff)
    return assemble(now, before, cutoff, previous, fold_events(events, end_of_day(start)) if start else None, start)


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


DOCUMENT = {"issuer": "中共武汉市委组织部", "number": "武组通〔2016〕7号", "recipients": ["各区委组织部", "市民政局"],
            "published_on": "2016-09-26", "narrative": "一、进展\n全市进展顺利。\n二、存在问题\n江汉区滞后。\n三、下步要求\n抓紧。",
            "narrative_edited": True}


def published_data(cutoff=date(2016, 9, 25)) -> dict:
    return json.loads(replace(bulletin(cutoff), document=DOCUMENT).data_bytes())


def _dark_ratio(image, box) -> float:
    band = image.crop(box)
    return sum(1 for p in band.getdata() if p < 128) / (band.width * band.height)


def test_pdf_pages_render_as_images(tmp_path):
    """Page 1 is the 通报 (portrait, red header, 文号, 主送, narrative), page 2 the figures table (landscape);
    the text is text, and the PDF's dates are the publication date."""
    from PIL import Image

    assert shutil.which("pdftoppm"), "poppler-utils (pdftoppm) is not installed; scripts/test.sh installs it"
    data = published_data()
    pdf = bulletin_render.render_pdf(data, NOTE, "0" * 64)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "bulletin.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(tmp_path / "bulletin.pdf"),
                    str(tmp_path / "page")], check=True)
    first, second = (Image.open(path).convert("RGB") for path in sorted(tmp_path.glob("page*.png")))
    width, height = first.size
    assert height > width > 400  # A4 portrait at 60 dpi: about 496 x 702
    header = first.crop((0, 0, width, int(height * 0.2)))
    red = sum(1 for r, g, b in header.getdata() if r > 150 and g < 90 and b < 90) / (header.width * header.height)
    assert red > 0.01, f"the red header (issuer, rule) should be drawn, red ratio {red:.4f}"
    wide, tall = second.size
    assert wide > tall > 400  # the figures table on a landscape page
    assert _dark_ratio(second.convert("L"), (0, int(tall * 0.1), wide, int(tall * 0.6))) > 0.02
    text = subprocess.run(["pdftotext", str(tmp_path / "bulletin.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout  # text, not pictures of text: searchable and copyable
    for expected in ("武组通〔2016〕7号", "各区委组织部，市民政局：", "江汉区滞后。", "全市进展顺利。", "江岸区", "全市合计",
                     "工作覆盖率", NOTE.splitlines()[2]):
        assert expected in text, expected
    info = subprocess.run(["pdfinfo", "-isodates", str(tmp_path / "bulletin.pdf")], check=True, capture_output=True,
                          text=True).stdout
    dates = dict(line.split(":", 1) for line in info.splitlines() if "Date" in line)
    assert dates["CreationDate"].strip() == dates["ModDate"].strip() == "2016-09-26T00:00:00+08"
    assert "Author:          中共武汉市委组织部" in info and bulletin_render.title(data) in info
    assert bulletin_render.render_pdf(data, NOTE, "0" * 64) == pdf  # same data, same bytes
    html = bulletin_render.render_html(data, NOTE, "0" * 64).decode()
    for expected in ("组织覆盖率", "江岸区", NOTE.splitlines()[2], "武组通〔2016〕7号", "江汉区滞后。", "各区委组织部，市民政局："):
        assert expected in html, expected
    assert bulletin_render.render_xlsx(data, NOTE, "0" * 64).startswith(b"PK")


def test_new_figures_by_hand():
    """R2b, work coverage and the standalone rate's changes (docs/rules.md, R7) for the scenario at 11-25."""
    data = bulletin(date(2016, 11, 25)).as_dict()
    assert data["figures_format"] == 2 and data["start_date"] == "2016-08-26"
    total = data["total"]
    assert total["rates"]["work_coverage"] == {"numerator": 2, "denominator": 4, "percent": "50.00"}
    assert total["rates"]["member_required_coverage"]["percent"] == "75.00"
    assert total["rates"]["standalone_rate"] == {"numerator": 3, "denominator": 8, "percent": "37.50"}
    assert total["change"]["standalone_rate_points"] == "0.00"
    # At the survey (8-26) the scenario had no organization yet: no rate to compare with.
    assert total["since_start"] == {"standalone_rate": {"numerator": 0, "denominator": 0, "percent": None},
                                    "standalone_rate_points": None}
    # Format 1 (bulletins published before the 通报) keeps its bytes: no new keys.
    old = replace(bulletin(date(2016, 11, 25)), figures_format=1).as_dict()
    assert "figures_format" not in old and "work_coverage" not in old["total"]["rates"]
    assert "since_start" not in old["total"] and "standalone_rate_points" not in old["total"]["change"]
