"""The dashboard in headless Chromium: the reporting app (uvicorn, free port) over a scratch schema whose
projections, audit log, checkpoint and bulletin were made by reporting's own code from the hand-computed
scenario of tests/unit/reporting/reporting_scenario.py (events also published to fresh Kafka topics, which
the bulletin's as-of replay reads). The browser signs in through the login form (a server-side session),
then the tests check the DOM's Chinese headings and exact figures, every page at 1400 px and 390 px (no
document wider than the phone's screen, no internal identifiers in the visible text), and that a
screenshot is a real rendering (no golden images: fonts differ per machine)."""

import os
import re
import struct
import subprocess
import sys
import uuid
import zlib
from datetime import date
from functools import partial
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "reporting"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "reporting"))

from platform_core.auth import Principal  # noqa: E402
from platform_core.tokens import issuer_from_settings  # noqa: E402
from platform_core.local_processes import free_port, process_environment, stop_all, wait_ready  # noqa: E402
from reporting_scenario import DISTRICT_A, Scenario, campaign, ent  # noqa: E402
from cdp_browser import Browser  # noqa: E402
from reporting_support import create_topics, delete_topics, drop_schemas_like, make_context, publish  # noqa: E402
from signer_process import reporting_asks, running_signer  # noqa: E402

BIN = Path(sys.executable).parent
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


PARK = f"zone-{uuid.UUID(int=7)}"


def setup_milestones() -> list:
    """DISTRICT_A's setup milestones (docs/milestones.md): the work plan on time, the training a day late, no task
    force; one park with its guidance station (and the file's hash) and no Party committee."""
    s = Scenario()
    s.emit("formation", PARK, "GatheringZoneDeclared", {
        "zone_id": PARK, "district_code": DISTRICT_A, "street_code": None, "name": "汉口北园区", "zone_kind": "park",
        "declared_on": "2016-09-01"})
    for milestone, done_on, zone in (("work_plan", "2016-08-15", None), ("training", "2016-08-18", None),
                                     ("guidance_station", "2016-10-10", PARK)):
        owner = zone.removeprefix("zone-") if zone else DISTRICT_A
        s.emit("formation", f"milestone-{owner}-{milestone}", "SetupMilestoneRecorded", {
            "milestone": milestone, "district_code": DISTRICT_A, "zone_id": zone, "zone_name": "汉口北园区" if zone else None,
            "done_on": done_on, "document_number": f"岸组〔2016〕{len(s.events)}号", "document_title": None,
            "document_sha256": "ab" * 32 if zone else None, "committee_kind": None, "recorded_on": done_on})
    return [e for _, e in s.events]


@pytest.fixture(scope="module")
def seeded(settings_env, tmp_path_factory):
    from platform_core.db_roles import create_role_tables, grant_service_roles
    from platform_core.settings import get_settings
    from reporting.audit.processor import audit_projection
    from reporting.bootstrap import checkpoint_signer
    from reporting.handlers import bulletins
    from reporting.handlers.projection import projection_handler

    settings = get_settings()
    schema = f"dash_{uuid.uuid4().hex[:10]}"
    topics = create_topics(settings.kafka_bootstrap, partitions=1)
    scenario = campaign()
    context = make_context(settings, schema, topics["reporting"])
    try:
        publish(settings.kafka_bootstrap, topics, scenario.events)
        context.migrate()
        envelopes = [e for _, e in scenario.events]
        with context.engine.begin() as conn:  # as `campaign migrate reporting --schema` would
            grant_service_roles(conn, "reporting", schema)
            create_role_tables(conn, "reporting", schema)
        with context.engine.begin() as conn:
            projection_handler(schema)(conn, envelopes)
            projection_handler(schema)(conn, setup_milestones())
            audit_projection(schema).batch_handler(conn, envelopes)
        with running_signer(tmp_path_factory.mktemp("signer"), "campaign.example/test/dashboard") as signer, \
                reporting_asks(signer):
            checkpoint_signer(context).sign_now("manual")
            city = Principal("city_org", "city_org", "e2e")
            bulletins.publish(context, city, date(2016, 9, 10), signer=partial(checkpoint_signer, context),
                              topics=tuple(topics.values()))
            # The as-of projections this process (the owner's role) built for the bulletin: the app (the service's
            # role) builds its own when a page needs one (the survey's day, a previous cutoff).
            drop_schemas_like(context.engine, f"{schema}_asof_")
            # the signer keeps running for the module: the app's dashboard publishes a 通报 too
            yield {"schema": schema, "topics": topics, "context": context, "signer_env": signer.reporting_env()}
    finally:
        context.engine.dispose()
        drop_schemas_like(context.engine, schema)
        delete_topics(settings.kafka_bootstrap, topics)


@pytest.fixture(scope="module")
def settings_env():
    for name in ("CAMPAIGN_DATABASE_URL", "CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE", "CAMPAIGN_TOKEN_ISSUER_KEY_FILE"):
        assert os.environ.get(name), f"{name} is not set: eval \"$(python3 deploy/stack.py env)\" first"


@pytest.fixture(scope="module")
def server(seeded, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("dashboard") / "uvicorn.log"
    # the scratch signer's address and client secret, not the stack's (the app publishes a 通报 in a test)
    env = {**process_environment("reporting"), **seeded["signer_env"], "DASHBOARD_E2E_SCHEMA": seeded["schema"],
           "DASHBOARD_E2E_TOPIC": seeded["topics"]["reporting"], "CAMPAIGN_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [str(BIN / "uvicorn"), "--factory", "dashboard_e2e_app:app", "--app-dir", str(Path(__file__).parent),
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        try:
            wait_ready(port, 60, process, "the reporting app", path="/healthz")
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}: {log.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_all([process])


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """One signed-in Chromium for the module: the login form exchanged an inspector's token for a session."""
    with Browser(tmp_path_factory.mktemp("chromium")) as b:
        token = issuer_from_settings().issue(Principal("inspector", "inspector", "e2e"))
        signed_in = b.sign_in(server, token)
        assert signed_in["url"] == f"{server}/dashboard/", signed_in
        yield b


def dom(browser: Browser, base: str, path: str, width: int = 1400) -> str:
    return browser.load(base + path, width)["html"]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_overview_shows_every_district_against_the_targets(server, browser):
    html = dom(browser, server, "/dashboard/")
    text = text_of(html)
    assert "两新组织“两个覆盖”总览" in html and "组织覆盖率" in text and "两个覆盖率" in text and "工作覆盖率" in text
    # district A (江岸区): baseline 9 (E7 shadow-flagged out); organized E1, E3-E6, E13 -> 6/9; E2 work-covered
    row = re.search(r'districts/420102">江岸区</a></th>(.*?)</tr>', html, re.S).group(1)
    row_text = text_of(row)
    assert "66.67% 6/9" in row_text and "11.11% 1/9" in row_text and "77.78% 7/9" in row_text
    # the city: 12 baseline entities (A 9, B 1, civil affairs 1, education 1); 8 organized, 10 two-covered
    total = text_of(re.search(r'<tr class="total">(.*?)</tr>', html, re.S).group(1))
    assert "66.67% 8/12" in total and "83.33% 10/12" in total and "目标 ≥80%" in text


def test_district_board_lists_tasks_by_state_overdue_first(server, browser):
    html = dom(browser, server, f"/dashboard/districts/{DISTRICT_A}?on=2016-11-25")
    assert "江岸区 挂图作战" in html
    counts = dict(re.findall(r'data-state="(\w+)">(\d+)<', html))
    assert counts == {"open": "3", "declared": "0", "organization_formed": "5", "checked": "0", "closed": "1"}
    # after 11-20 (R9): E8 (required, no organization) and E14 (neither organization nor work coverage); not E2,
    # which is not required and has an instructor
    assert re.search(r'class="num overdue-count">(\d+)<', html).group(1) == "2"
    rows = re.findall(r'<tr class="(overdue|)">', html)
    assert rows[:2] == ["overdue"] * 2 and "overdue" not in rows[2:]
    assert "逾期（集中组建截止）" in html


def test_coverage_chart_renders_in_the_browser(server, browser, tmp_path):
    html = dom(browser, server, "/dashboard/coverage?unit=420102")
    assert "江岸区组织覆盖率（按日）" in html and "<svg" in html and "目标 80%" in html
    assert re.search(r'class="covered-now">6<', html)
    assert "2016-09-10" in html  # the published bulletin's figures beside the series
    shot = browser.screenshot(tmp_path / "coverage.png")
    width, height, pixels = decode_png(shot.read_bytes())
    assert width == 1400 and height >= 900
    colors = set(pixels)
    assert len(colors) > 200, "the screenshot looks blank"
    assert any(close(p, (0x1f, 0x5f, 0xa8)) for p in colors), "the chart's series stroke is not on screen"
    assert any(close(p, (0xc0, 0x39, 0x2b)) for p in colors), "the target line is not on screen"


def test_bulletins_and_accountability(server, browser):
    html = dom(browser, server, "/dashboard/bulletins")
    assert "已发布通报" in html and 'href="/dashboard/bulletins/2016-09-10/pdf"' in html
    trail = text_of(dom(browser, server, f"/dashboard/accountability/district-{DISTRICT_A}"))
    assert "江岸区委组织部 问责记录" in trail
    assert "已建党组织（组织覆盖） 报7 核6" in trail  # the 09-10 report's discrepancy found by the bulletin


def test_entity_search_and_history_with_inclusion_proofs(server, seeded, browser):
    found = dom(browser, server, "/dashboard/entities?q=测试单位1")
    assert f'/dashboard/entities/{ent(1)}"' in found and "测试单位13" in found
    html = dom(browser, server, f"/dashboard/entities/{ent(1)}")
    assert "全部历史（审计日志）" in html and "测试单位1" in html
    from reporting.audit.store import AuditLogStore
    with seeded["context"].engine.connect() as conn:
        size = AuditLogStore(seeded["schema"]).latest_checkpoint(conn).tree_size
    assert re.search(r'class="tree-size">(\d+)<', html).group(1) == str(size)
    # E1: registered, approved, organization formed, checked, closed: each event verified against the checkpoint
    types = re.findall(r'<strong data-type="(\w+)">[^<]+</strong> · 叶序号', html)
    assert types[:2] == ["EntityRegistered", "LedgerApproved"] and "OrganizationClosed" in types
    assert html.count("包含证明已验证") == len(types)
    proof_link = re.search(r'href="(/dashboard/entities/[^"]+/proofs/[0-9a-f-]+)"', html).group(1)
    assert proof_link.startswith(f"/dashboard/entities/{ent(1)}/proofs/")


def test_the_street_view_drills_from_district_to_entity(server, browser):
    district = browser.load(f"{server}/dashboard/districts/{DISTRICT_A}?on=2016-11-25", 1400)
    # the scenario's entities carry street 420102001, a code the territory lacks: named as such, still drilled
    assert f'href="/dashboard/streets/{DISTRICT_A}001"' in district["html"] and "各街道（乡镇、园区）" in district["text"]
    street = browser.load(f"{server}/dashboard/streets/{DISTRICT_A}001?on=2016-11-25", 1400)
    assert "全市 › 江岸区 › " in street["text"] and "挂图作战" in street["title"]
    counts = dict(re.findall(r'data-state="(\w+)">(\d+)<', street["html"]))
    assert counts == {"open": "3", "declared": "0", "organization_formed": "5", "checked": "0", "closed": "1"}
    assert f'/dashboard/entities/{ent(1)}"' in street["html"]
    missing = browser.load(f"{server}/dashboard/streets/999999001", 1400)
    assert "没有代码为 999999001 的街道" in missing["text"]


def test_the_todo_lists_per_district_and_street(server, browser):
    """待办清单: the city's lists per district, a district's per street, one list's entities by name (R3: E6 has 3
    formal members only in a joint organization); the XLSX link of each list."""
    city = browser.load(f"{server}/dashboard/todo", 1400)
    assert "全市 待办清单" in city["title"] and "江岸区" in city["text"] and "有3名及以上正式党员" in city["text"]
    page = browser.load(f"{server}/dashboard/todo?district={DISTRICT_A}&list=standalone", 1400)
    totals = dict(re.findall(r'data-list="(\w+)">(\d+)<', page["html"]))
    assert set(totals) == {"standalone", "member", "uncovered", "plans_overdue", "unlisted", "declared"}
    assert int(totals["standalone"]) >= 1 and "测试单位6" in page["text"]
    assert f'href="/dashboard/todo/standalone.xlsx?district={DISTRICT_A}"' in page["html"]
    assert "各街道（园区）" in page["text"] and f"?street={DISTRICT_A}001" in page["html"]
    missing = browser.load(f"{server}/dashboard/todo?list=nothing", 1400)
    assert "没有名为 nothing 的待办清单" in missing["text"]


def test_the_setup_milestone_checklist_and_its_trail(server, browser):
    """启动节点清单 (R10b) as of 11-25: the district's work plan on time, its training late, no task force; its park's
    guidance station on time, no Party committee; the missing ones in the district's accountability trail."""
    city = browser.load(f"{server}/dashboard/milestones?on=2016-11-25", 1400)
    assert "全市 启动节点清单" in city["title"] and "江岸区" in city["text"] and "截至 2016-11-25" in city["text"]
    page = browser.load(f"{server}/dashboard/milestones?scope={DISTRICT_A}&on=2016-11-25", 1400)
    assert re.findall(r'data-milestone="(\w+)" data-state="(\w+)"', page["html"]) == [
        ("work_plan", "on_time"), ("training", "late"), ("task_force", "missing"),
        ("guidance_station", "on_time"), ("party_committee", "missing")]
    assert "汉口北园区（园区，2016-09-01 确定）" in page["text"] and "岸组〔2016〕" in page["text"]
    assert dict(re.findall(r'data-tally="(\w+)">(\d+)<', page["html"])) == {
        "on_time": "2", "late": "1", "missing": "2", "not_due": "0"}
    trail = text_of(dom(browser, server, f"/dashboard/accountability/district-{DISTRICT_A}"))
    assert "启动节点缺失" in trail and "组建工作专班" in trail and "启动节点逾期" in trail
    assert "没有代码为 999999 的区" in browser.load(f"{server}/dashboard/milestones?scope=999999", 1400)["text"]


def test_segments_drill_from_city_to_district_to_street_to_its_entities(server, browser):
    city = browser.load(f"{server}/dashboard/segments", 1400)
    assert "全市 分类统计" in city["title"] and "按应建理由" in city["text"] and "按行业" in city["text"]
    # E1 (≥100 employees, 3 formal members) counts under both reasons; the total counts each entity once
    reasons = dict(re.findall(r'data-segment="(\w+)"><th>[^<]*</th>\s*<td class="num">(\d+)</td>', city["html"]))
    assert reasons["enterprise_100"] == "2" and reasons["formal_members_3"] == "4"
    assert "在每一项中各计一次，合计只计一次" in city["text"]
    assert f'href="/dashboard/segments?scope={DISTRICT_A}"' in dom(browser, server, "/dashboard/")
    district = browser.load(f"{server}/dashboard/segments?scope={DISTRICT_A}", 1400)
    assert "全市 › 江岸区" in district["text"] and "按街道（乡镇、园区）" in district["text"]
    assert f'href="/dashboard/segments?scope={DISTRICT_A}001"' in district["html"]
    street = browser.load(f"{server}/dashboard/segments?scope={DISTRICT_A}001", 1400)
    assert "全市 › 江岸区 › " in street["text"] and "按街道（乡镇、园区）" not in street["text"]
    assert f'href="/dashboard/streets/{DISTRICT_A}001"' in street["html"]  # the street's board lists its entities
    assert "外资、规上、工商联会员" in street["text"] and "2/2" in street["text"]  # 工商联's two members, both covered
    missing = browser.load(f"{server}/dashboard/segments?scope=999999", 1400)
    assert "scope 应为 city" in missing["text"]


def test_entity_page_names_instead_of_identifiers(server, browser):
    page = browser.load(f"{server}/dashboard/entities/{ent(1)}", 1400)
    text = page["text"]
    assert "单位登记" in text and "台帐审核通过" in text and "江岸区" in text
    # E1: ≥100 employees and 3 formal members, every R2 reason it meets
    assert "R2：职工100人以上的非公企业；R2：有3名及以上正式党员" in text
    assert "EntityRegistered" not in text and "查看证明" in text
    assert "北京时间" in text and not UTC_STAMP.search(text)
    # the hashes are in the page, behind the closed toggles
    assert page["html"].count('<details class="proof">') >= 2 and "叶哈希" not in text
    opened = browser.evaluate("document.querySelectorAll('details.proof').forEach(d => d.open = true);"
                              " document.body.innerText")
    assert "叶哈希" in opened and "根哈希" in opened


def test_the_forms_page_links_the_registry_blank_templates(server, browser):
    html = dom(browser, server, "/dashboard/forms")
    assert 'href="/dashboard/forms">表格下载</a>' in html and "填表说明" in html
    for form in ("form1", "form2"):
        assert re.search(rf'href="http://[^"/]+:\d+/forms/{form}/template\.xlsx"', html), form


def test_city_drafts_edits_and_publishes_a_tongbao(server, browser, tmp_path_factory):
    """The city department's 通报 desk at phone width: the drafted narrative in a textarea, edited and published
    through the form; the list shows the 文号 and the published HTML carries the edited text. An inspector may
    not open the desk."""
    refused = browser.load(f"{server}/dashboard/bulletins/draft", 1400)
    assert "只有市委组织部可以起草和发布通报" in refused["text"]
    with Browser(tmp_path_factory.mktemp("chromium-city")) as city:
        city.sign_in(server, issuer_from_settings().issue(Principal("city_org", "city_org", "e2e")))
        desk = city.load(f"{server}/dashboard/bulletins/draft?cutoff_date=2016-09-25", 390)
        assert desk["scrollWidth"] <= desk["innerWidth"], desk["scrollWidth"]
        drafted = city.evaluate("document.querySelector('textarea[name=narrative]').value")
        assert drafted.startswith("一、进展") and "二、存在问题" in drafted and "三、下步要求" in drafted
        city.evaluate("const t = document.querySelector('textarea[name=narrative]');"
                      " t.value = t.value + '\\n5. 请各区于10月10日前报送整改情况。';"
                      " document.querySelector('form.narrative').submit()", "Page.loadEventFired")
        listed = city.evaluate("({url: location.href, text: document.body.innerText})")
        assert listed["url"] == f"{server}/dashboard/bulletins", listed
        assert re.search(r"武组通〔\d{4}〕2号", listed["text"]), listed["text"]
        published = city.load(f"{server}/dashboard/bulletins/2016-09-25/html", 390)
        assert "5. 请各区于10月10日前报送整改情况。" in published["text"]
        assert "各区委组织部，市直机关工委" in published["text"]
        assert published["scrollWidth"] <= published["innerWidth"], published["scrollWidth"]
        again = city.load(f"{server}/dashboard/bulletins/draft", 390)
        assert "2016-09-25" not in again["html"].split("<select")[1].split("</select>")[0]  # published: not offered


def every_page() -> list[str]:
    return ["/dashboard/", f"/dashboard/districts/{DISTRICT_A}?on=2016-11-25", f"/dashboard/streets/{DISTRICT_A}001",
            "/dashboard/coverage", f"/dashboard/coverage?unit={DISTRICT_A}", "/dashboard/bulletins",
            "/dashboard/accountability", f"/dashboard/accountability/district-{DISTRICT_A}",
            "/dashboard/accountability/civil-affairs", "/dashboard/entities", "/dashboard/entities?q=测试单位",
            f"/dashboard/entities/{ent(1)}", f"/dashboard/entities/{ent(13)}", "/dashboard/login",
            "/dashboard/districts/999999", "/dashboard/forms", "/dashboard/todo",
            f"/dashboard/todo?district={DISTRICT_A}&list=uncovered", f"/dashboard/todo?street={DISTRICT_A}001&list=standalone",
            "/dashboard/bulletins/draft", "/dashboard/segments", f"/dashboard/segments?scope={DISTRICT_A}",
            f"/dashboard/segments?scope={DISTRICT_A}001", "/dashboard/segments?scope=999999",
            "/dashboard/milestones?on=2016-11-25", f"/dashboard/milestones?scope={DISTRICT_A}&on=2016-11-25"]


@pytest.mark.parametrize("width", [1400, 390])
def test_every_page_fits_the_screen_and_shows_no_identifiers(server, browser, width, tmp_path):
    for path in every_page():
        page = browser.load(server + path, width)
        shot = browser.screenshot(tmp_path / f"{width}{re.sub(r'[^a-z0-9]+', '-', path)}.png")
        where = f"{path} at {width} px (screenshot {shot})"
        if width < 600:
            assert page["scrollWidth"] <= page["innerWidth"], f"{where}: document {page['scrollWidth']} px wide"
        assert "district-" not in page["text"], where
        assert not UUID.search(page["text"]), f"{where}: {UUID.search(page['text']).group()}"
        assert not UTC_STAMP.search(page["text"]), f"{where}: a UTC timestamp"
        assert decode_png(shot.read_bytes())[0] == width, where


@pytest.mark.parametrize("path", [f"/dashboard/districts/{DISTRICT_A}?on=2016-11-25", "/dashboard/bulletins",
                                  f"/dashboard/accountability/district-{DISTRICT_A}", "/dashboard/forms",
                                  f"/dashboard/todo?district={DISTRICT_A}&list=standalone",
                                  "/dashboard/segments", f"/dashboard/segments?scope={DISTRICT_A}",
                                  f"/dashboard/milestones?scope={DISTRICT_A}&on=2016-11-25", "/dashboard/milestones"])
def test_at_phone_width_tables_scroll_in_their_box_without_one_character_columns(server, browser, path):
    browser.load(server + path, 390)
    # every table sits in a box that scrolls sideways, and no cell is squeezed narrower than two characters
    found = browser.evaluate(
        "({loose: [...document.querySelectorAll('table')].filter(t => !t.parentElement.matches('div.scroll')).length,"
        " narrow: [...document.querySelectorAll('td, th')].filter(c => { const s = getComputedStyle(c);"
        "   const inner = c.getBoundingClientRect().width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);"
        "   return c.innerText.trim().length > 1 && inner < 2 * parseFloat(s.fontSize); }).map(c => c.innerText),"
        " boxes: [...document.querySelectorAll('div.scroll')].map(d => getComputedStyle(d).overflowX)})")
    assert found["loose"] == 0 and found["narrow"] == [] and set(found["boxes"]) == {"auto"}, found


def close(pixel: tuple, color: tuple, tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color))


def decode_png(data: bytes) -> tuple[int, int, list[tuple]]:
    """Width, height and RGB pixels of an 8-bit RGB/RGBA PNG (Chromium's screenshots)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color_type = header[:4]
    assert depth == 8 and color_type in (2, 6), header
    channels = 3 if color_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    previous, pixels, offset = bytearray(stride), [], 0
    for _ in range(height):
        kind, line = raw[offset], bytearray(raw[offset + 1:offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels.extend(tuple(line[i:i + 3]) for i in range(0, stride, channels * 7))  # every 7th pixel
        previous = line
    return width, height, pixels
