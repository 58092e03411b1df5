"""The dashboard in headless Chromium: the reporting app (uvicorn, free port) over a scratch schema whose
projections, audit log, checkpoint and bulletin were made by reporting's own code from the hand-computed
scenario of tests/unit/reporting/reporting_scenario.py (events also published to fresh Kafka topics, which
the bulletin's as-of replay reads). Checks the DOM's Chinese headings and exact figures, and that a
screenshot is a real rendering (no golden images: fonts differ per machine)."""

import os
import re
import shutil
import struct
import subprocess
import sys
import urllib.request
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
from reporting_scenario import DISTRICT_A, campaign, ent  # noqa: E402
from reporting_support import create_topics, delete_topics, drop_schemas_like, make_context, publish  # noqa: E402
from signer_process import reporting_asks, running_signer  # noqa: E402

BIN = Path(sys.executable).parent
WINDOW = (1280, 2000)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("headless Chromium is missing: install it with `scripts/os-packages.sh chromium`")


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
            audit_projection(schema).batch_handler(conn, envelopes)
        with running_signer(tmp_path_factory.mktemp("signer"), "campaign.example/test/dashboard") as signer, \
                reporting_asks(signer):
            checkpoint_signer(context).sign_now("manual")
            city = Principal("city_org", "city_org", "e2e")
            bulletins.publish(context, city, date(2016, 9, 10), signer=partial(checkpoint_signer, context),
                              topics=tuple(topics.values()))
        yield {"schema": schema, "topics": topics, "context": context}
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
    env = {**process_environment("reporting"), "DASHBOARD_E2E_SCHEMA": seeded["schema"],
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


def login_link(base: str, next_path: str) -> str:
    token = issuer_from_settings().issue(Principal("inspector", "inspector", "e2e"))
    return f"{base}/dashboard/login?token={token}&next={urllib.request.quote(next_path, safe='')}"


def browse(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{uuid.uuid4().hex[:6]}"
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}",
         f"--user-data-dir={profile}", *extra, url],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)


def dom(base: str, path: str, tmp_path: Path) -> str:
    result = browse(login_link(base, path), tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_overview_shows_every_district_against_the_targets(server, tmp_path):
    html = dom(server, "/dashboard/", tmp_path)
    text = text_of(html)
    assert "两新组织“两个覆盖”总览" in html and "组织覆盖率" in text and "两个覆盖率" in text and "工作覆盖率" in text
    # district A (江岸区): baseline 9 (E7 shadow-flagged out); organized E1, E3-E6, E13 -> 6/9; E2 work-covered
    row = re.search(r'districts/420102">江岸区</a></th>(.*?)</tr>', html, re.S).group(1)
    row_text = text_of(row)
    assert "66.67% 6/9" in row_text and "11.11% 1/9" in row_text and "77.78% 7/9" in row_text
    # the city: 12 baseline entities (A 9, B 1, civil affairs 1, education 1); 8 organized, 10 two-covered
    total = text_of(re.search(r'<tr class="total">(.*?)</tr>', html, re.S).group(1))
    assert "66.67% 8/12" in total and "83.33% 10/12" in total and "目标 ≥80%" in text


def test_district_board_lists_tasks_by_state_overdue_first(server, tmp_path):
    html = dom(server, f"/dashboard/districts/{DISTRICT_A}?on=2016-11-25", tmp_path)
    assert "江岸区 挂图作战" in html
    counts = dict(re.findall(r'data-state="(\w+)">(\d+)<', html))
    assert counts == {"open": "3", "declared": "0", "organization_formed": "5", "checked": "0", "closed": "1"}
    # after 11-20 (R9): E8 (required, no organization) and E14 (neither organization nor work coverage); not E2,
    # which is not required and has an instructor
    assert re.search(r'class="num overdue-count">(\d+)<', html).group(1) == "2"
    rows = re.findall(r'<tr class="(overdue|)">', html)
    assert rows[:2] == ["overdue"] * 2 and "overdue" not in rows[2:]
    assert "逾期（集中组建截止）" in html


def test_coverage_chart_renders_in_the_browser(server, tmp_path):
    html = dom(server, "/dashboard/coverage?unit=420102", tmp_path)
    assert "江岸区组织覆盖率（按日）" in html and "<svg" in html and "目标 80%" in html
    assert re.search(r'class="covered-now">6<', html)
    assert "2016-09-10" in html  # the published bulletin's figures beside the series
    shot = tmp_path / "coverage.png"
    result = browse(login_link(server, "/dashboard/coverage?unit=420102"), tmp_path, f"--screenshot={shot}")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == WINDOW
    colors = set(pixels)
    assert len(colors) > 200, "the screenshot looks blank"
    assert any(close(p, (0x1f, 0x5f, 0xa8)) for p in colors), "the chart's series stroke is not on screen"
    assert any(close(p, (0xc0, 0x39, 0x2b)) for p in colors), "the target line is not on screen"


def test_bulletins_and_accountability(server, tmp_path):
    html = dom(server, "/dashboard/bulletins", tmp_path)
    assert "已发布通报" in html and 'href="/dashboard/bulletins/2016-09-10/pdf"' in html
    trail = text_of(dom(server, f"/dashboard/accountability/district-{DISTRICT_A}", tmp_path))
    assert "江岸区委组织部 问责记录" in trail
    assert "organization_covered 报7 核6" in trail  # the 09-10 report's discrepancy found by the bulletin


def test_entity_search_and_history_with_inclusion_proofs(server, seeded, tmp_path):
    found = dom(server, "/dashboard/entities?q=测试单位1", tmp_path)
    assert f'/dashboard/entities/{ent(1)}"' in found and "测试单位13" in found
    html = dom(server, f"/dashboard/entities/{ent(1)}", tmp_path)
    assert "全部历史（审计日志）" in html and "测试单位1" in html
    from reporting.audit.store import AuditLogStore
    with seeded["context"].engine.connect() as conn:
        size = AuditLogStore(seeded["schema"]).latest_checkpoint(conn).tree_size
    assert re.search(r'class="tree-size">(\d+)<', html).group(1) == str(size)
    # E1: registered, approved, organization formed, checked, closed: each event verified against the checkpoint
    types = re.findall(r"<strong>(\w+)</strong> · 叶序号", html)
    assert types[:2] == ["EntityRegistered", "LedgerApproved"] and "OrganizationClosed" in types
    assert html.count("包含证明已验证") == len(types)
    proof_link = re.search(r'href="(/dashboard/entities/[^"]+/proofs/[0-9a-f-]+)"', html).group(1)
    assert proof_link.startswith(f"/dashboard/entities/{ent(1)}/proofs/")


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
