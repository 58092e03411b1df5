"""A small campaign (300 entities) played by the simulator against the real services (uvicorn on free
ports for registry, membership and formation, their relays and the membership and formation consumers,
the running Kafka and PostgreSQL), then the APIs' figures checked against the simulator's ground truth.

The services' schemas are shared with other runs, so the campaign plays a city of its own: the 2016
city's districts and streets under a fresh random city code (registry: CAMPAIGN_TERRITORY_FILE).
Every figure per district is then this run's alone.
"""

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from platform_core.auth import Principal, issue_token
from platform_core.reference._files import DATA

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def own_city(path: Path) -> dict:
    """The 2016 territory under a random city code nobody else uses (districts and streets renumbered)."""
    raw = json.loads((DATA / "territory-420100-2016.json").read_text(encoding="utf-8"))
    prefix = f"{random.randint(50, 89)}{random.randint(10, 99)}"
    raw["code"], raw["name"] = f"{prefix}00", "模拟市"
    for district in raw["districts"]:
        old = district["code"]
        district["code"] = prefix + old[4:]
        for street in district["streets"]:
            street["code"] = district["code"] + street["code"][6:]
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return raw


def get(url: str, token: str):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulator")
    city = own_city(folder / "territory.json")
    env = {**os.environ, "CAMPAIGN_TERRITORY_FILE": str(folder / "territory.json"), "CAMPAIGN_LOG_LEVEL": "WARNING"}
    ports = {"registry": free_port(), "membership": free_port(), "formation": free_port()}
    commands = []
    for name, port in ports.items():
        commands.append([str(BIN / "uvicorn"), f"{name}.entrypoints.http:app", "--host", "127.0.0.1", "--port",
                         str(port), "--no-access-log"])
        commands.append([str(BIN / "campaign"), "relay", name])
    commands.append([str(BIN / "campaign"), "consume", "membership"])
    commands.append([str(BIN / "campaign"), "consume", "formation"])
    processes = [subprocess.Popen(c, env=env, cwd=ROOT, stdout=(folder / f"{i}.log").open("wb"),
                                  stderr=subprocess.STDOUT) for i, c in enumerate(commands)]
    try:
        for port in ports.values():
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "a service did not become ready"
                    time.sleep(0.5)
        yield {"ports": ports, "env": env, "city": city, "folder": folder}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def played(services):
    ports, folder = services["ports"], services["folder"]
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "play", "--entities", "300", "--seed", "11",
         "--registry-url", f"http://127.0.0.1:{ports['registry']}",
         "--membership-url", f"http://127.0.0.1:{ports['membership']}",
         "--formation-url", f"http://127.0.0.1:{ports['formation']}", "--reporting-url", "http://127.0.0.1:9",
         "--territory", str(folder / "territory.json"), "--export", str(folder / "truth.json"),
         "--settle-seconds", "60"],
        env=services["env"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    return result, json.loads((folder / "truth.json").read_text(encoding="utf-8")), time.monotonic() - started


def test_the_campaign_runs_every_available_phase_without_a_failed_command(played):
    result, report, seconds = played
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert report["commands"]["failed"] == 0
    assert report["commands"]["ok"] == report["commands"]["planned"] + report["commands"]["decided_during_run"]
    assert {"survey", "ledgers", "verification", "members", "supplements", "member_growth", "formation",
            "work_coverage", "transfers", "acceptance", "spot_checks", "look_back"} <= set(report["phases_ran"])
    assert set(report["phases_left_out"]) == {"reports", "bulletins"}  # reporting is not started here
    assert report["differences"] == []
    assert seconds < 150


def test_registry_baseline_per_district_is_the_ground_truth(services, played):
    _, report, _ = played
    token = issue_token(os.environ["CAMPAIGN_AUTH_SECRET"], Principal("inspector", "inspector", "e2e"))
    rows = get(f"http://127.0.0.1:{services['ports']['registry']}/baseline/counts?by=district", token)
    mine = {r["unit"]: r for r in rows if r["unit"].startswith(services["city"]["code"][:4])}
    truth = report["truth"]["registry_by_district"]
    assert set(mine) == set(truth)
    for unit, expected in truth.items():
        assert {k: mine[unit][k] for k in expected} == expected, unit
    total = sum(t["registered"] for t in truth.values())
    assert total == 300  # every planned entity, shadows and late-found ones included
    assert 0 < sum(t["flagged"] for t in truth.values()) < 30  # a few percent shell/zombie/shadow


def test_membership_counts_per_district_are_the_ground_truth(services, played):
    _, report, _ = played
    token = issue_token(os.environ["CAMPAIGN_AUTH_SECRET"], Principal("inspector", "inspector", "e2e"))
    rows = get(f"http://127.0.0.1:{services['ports']['membership']}/counts/districts", token)
    mine = {r["district_code"]: r for r in rows if r["district_code"].startswith(services["city"]["code"][:4])}
    truth = report["truth"]["members_by_district"]
    assert set(mine) == set(truth)
    for unit, expected in truth.items():
        assert {k: mine[unit][k] for k in expected} == expected, unit


def test_formation_coverage_per_district_is_the_ground_truth(services, played):
    """Organization, standalone, work, two-coverage, required set, closed tasks and R3 violations per district,
    as formation's reads show them, equal the ground truth folded from the commands that succeeded."""
    _, report, _ = played
    truth, platform = report["truth"]["coverage_by_district"], report["formation_platform"]
    assert truth and set(truth) <= set(platform) | {"city"}
    for unit, expected in truth.items():
        assert platform[unit] == expected, unit
    city = truth["city"]
    assert 0 < city["standalone_covered"] < city["organization_covered"] < city["two_covered"] <= city["baseline"]
    assert 0 < city["closed"] <= city["organization_covered"] and city["required"] > 0
    # the simulator's figures are its own, not copied: recount one district straight from the board
    token = issue_token(os.environ["CAMPAIGN_AUTH_SECRET"], Principal("inspector", "inspector", "e2e"))
    district = max((u for u in truth if u != "city"), key=lambda u: truth[u]["baseline"])
    board = get(f"http://127.0.0.1:{services['ports']['formation']}/tasks?district={district}&limit=5000", token)
    assert board["total"] == truth[district]["baseline"]
    assert sum(t["state"] != "open" for t in board["tasks"]) == truth[district]["organization_covered"]
    assert sum(t["state"] == "closed" for t in board["tasks"]) == truth[district]["closed"]
