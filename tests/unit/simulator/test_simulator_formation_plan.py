"""The simulator's formation phases (pure): deterministic for a seed, on the R10 calendar, and every
organization command valid under R3/R4 for the member counts the plan itself has produced by then
(recounted here by folding the plan's facts in order, independently of the plan's own timeline)."""

from collections import Counter
from datetime import date

import pytest

from platform_core.reference import load_territory
from simulator.commands import fact
from simulator.plan import build_campaign
from simulator.truth import GroundTruth

CITY = load_territory()
ALL = frozenset({"registry", "membership", "formation"})


CHEATING = ("420104", "420111", "420115")


@pytest.fixture(scope="module", params=[(), CHEATING], ids=["honest", "cheating"])
def campaign(request):
    """The honest campaign, and the same city with the cheating mode's planted cases (cheating.py)."""
    return build_campaign(2016, 3000, CITY, "unit-test", available=ALL, cheat_districts=request.param)


def _formation_commands(c):
    return [(s, x) for s in c.plan.ordered() for x in s.commands if x.service == "formation"]


def test_formation_phases_are_deterministic_and_depend_on_the_seed():
    summary = lambda c: [(s.on, s.phase, tuple((x.path, x.key, repr(x.body)) for x in s.commands))
                         for s in c.plan.ordered()]
    first = build_campaign(3, 600, CITY, "t", available=ALL)
    assert summary(first) == summary(build_campaign(3, 600, CITY, "t", available=ALL))
    assert summary(first) != summary(build_campaign(4, 600, CITY, "t", available=ALL))
    assert set(first.plan.left_out) == {"reports", "bulletins"}
    assert {"formation", "work_coverage", "transfers", "acceptance", "spot_checks", "look_back"} <= set(first.plan.phases)


def test_every_phase_has_its_kinds_of_commands(campaign):
    commands = [x for s in campaign.plan.steps for x in s.commands]
    modes = Counter(x.body["mode"] for x in commands if x.path == "/organizations")
    assert modes["standalone"] > 0 and modes["joint"] > modes["functional"] > 0
    functional = [x for x in commands if x.path == "/organizations" and x.body["mode"] == "functional"]
    assert all(campaign.entity(x.body["entity_ids"][0][1:]).public_sector_staffed for x in functional)  # R5
    bases = Counter(x.body.get("grouping_basis") for x in commands if x.path == "/organizations")
    assert bases["industry"] > 0 and bases["region"] > 0
    ends = Counter(x.path.rsplit("/", 1)[-1] for x in commands)
    for kind in ("restructure", "dissolve", "reveal", "developed", "transfer", "instructors", "mass-organizations",
                 "checks", "spot-checks", "close", "investor-education", "joint-member-development", "end"):
        assert ends[kind] > 0, kind
    roles = {x.body["role"] for x in commands if x.path == "/work-coverage/instructors"}
    assert roles == {"instructor", "first_secretary"}
    guiding = [x for x in commands if x.path == "/work-coverage/instructors" and x.body["organization_ids"]]
    assert guiding and max(len(x.body["organization_ids"]) for x in guiding) > 1  # 一对一 and 一对多
    educators = {x.department for x in commands if x.path == "/work-coverage/investor-education"}
    assert educators == {"united_front", "federation_commerce"}
    assert all(x.department == "mass_org" for x in commands if x.path == "/work-coverage/mass-organizations")
    transfers = Counter(x.key for x in commands if x.path.endswith(("/transfer", "/accept")))
    assert max(transfers.values()) == 2  # a few transfers are sent twice at once with the same key
    assert ends["release"] > 0 and ends["accept"] > 0 and ends["workplace"] > 0


def test_transfers_across_districts_are_released_by_the_source_and_accepted_by_the_target(campaign):
    """R13 and scope: each side acts with its own token, the target two days after the source; the member is
    moved in the ground truth only by the acceptance."""
    steps = {x.key: (s.on, x) for s in campaign.plan.steps for x in s.commands}
    releases = [(on, x) for on, x in steps.values() if x.path.endswith("/release")]
    assert releases
    for on, release in releases:
        member = release.path.split("/")[2]
        accepted_on, accept = next((d, x) for d, x in steps.values()
                                   if x.path == f"/members/{member}/accept")
        assert accept.body == {"release_id": f"@{release.produces}"} and release.id_field == "release_id"
        assert accepted_on > on and accept.department != release.department
        assert release.department.startswith("district_org:") and not release.facts
        assert [f.kind for f in accept.facts] in (["member_transferred"], ["member_workplace_changed"])
    for _, single in ((d, x) for d, x in steps.values() if x.path.endswith(("/transfer", "/workplace"))):
        to_entity = (single.body.get("to_entity_id") or single.body["entity_id"])[1:]
        assert single.department in ("city_org", f"district_org:{campaign.entity(to_entity).district_code}")


def test_dates_follow_the_campaign_calendar(campaign):
    for step, command in _formation_commands(campaign):
        if command.path.endswith("/end"):  # an assignment ends after it started, before the look-back's end
            assert step.on <= date(2016, 12, 20) and command.body["ended_on"] == step.on.isoformat()
        elif step.label.startswith("cheating:"):  # a rushed paper organization dissolved after its check
            assert command.path.endswith("/dissolve") and date(2016, 11, 24) <= step.on <= date(2016, 12, 13)
        elif command.path == "/organizations" or command.path.endswith(("/restructure", "/dissolve")) \
                or command.path.startswith("/work-coverage"):
            assert date(2016, 8, 27) <= step.on <= date(2016, 11, 20), (step.on, command.path)
        elif command.path.endswith("/checks"):
            kind = command.body["check_kind"]
            window = {"acceptance": (date(2016, 11, 21), date(2016, 12, 5)),
                      "look_back": (date(2016, 12, 6), date(2016, 12, 30))}[kind]
            assert window[0] <= step.on <= window[1] and command.body["checked_on"] == step.on.isoformat()
            assert command.body["passed"] or command.body["findings"]
    draws = [(s, x) for s, x in _formation_commands(campaign) if x.path == "/spot-checks"]
    assert len(draws) == 1 and date(2016, 11, 21) <= draws[0][0].on <= date(2016, 12, 5)  # R12 window
    draws = [x for _, x in draws]
    assert len(draws) == 1 and draws[0].department == "city_org" and draws[0].body["seed"] == campaign.plan.spot_check_seed
    assert "seed" not in draws[0].fallback_body  # used when a signed checkpoint seeds the draw (R12)


def test_checks_are_sent_by_the_departments_r12_names(campaign):
    from formation.domain.checks import refusal
    from formation.domain.model import EntityFacts

    covered: dict[str, list[str]] = {}
    for _, command in _formation_commands(campaign):
        if command.path == "/organizations":
            covered[command.produces] = [k[1:] for k in command.body["entity_ids"]]
        elif command.path.endswith("/restructure"):
            covered[command.produces] = [command.body["entity_id"][1:]]
    departments = Counter()
    for _, command in _formation_commands(campaign):
        if not command.path.endswith("/checks"):
            continue
        kind = command.department.partition(":")[0]
        departments[kind] += 1
        for key in covered[command.path.split("/")[2][1:]]:
            entity = campaign.entity(key)
            facts = EntityFacts(key, entity.kind, level=entity.level,
                                supervising_department=entity.supervising_department)
            assert refusal(kind, facts, command.body["check_kind"]) is None, (kind, entity.kind, entity.level)
    assert {"district_org", "civil_affairs", "city_org"} <= set(departments)


def test_failed_acceptance_checks_are_checked_again_and_pass(campaign):
    checks: dict[str, list] = {}
    for step, command in _formation_commands(campaign):
        if command.path.endswith("/checks") and command.body["check_kind"] == "acceptance":
            checks.setdefault(command.path, []).append((step.on, command.body["passed"]))
    failed = [path for path, results in checks.items() if not results[0][1]]
    assert failed and len(failed) < 0.3 * len(checks)
    assert all(checks[p][-1][1] and checks[p][-1][0] > checks[p][0][0] for p in failed)


def test_organization_commands_meet_r3_and_r4_for_the_counts_of_their_day(campaign):
    """Replaying the plan's facts in order, each formation sees the counts formation would see."""
    truth = GroundTruth({e.key: e for e in campaign.entities})
    checked = Counter()
    for step in campaign.plan.ordered():
        # a step's facts are applied after all its commands: the counts are the same for each of them
        formal = covering = None
        for command in step.commands:
            if command.path == "/organizations" and command.body["mode"] != "functional":
                if formal is None:
                    formal, covering = truth.formal_members(), truth.covering()
                keys = [k[1:] for k in command.body["entity_ids"]]
                counts = [formal[k] for k in keys]
                assert not any(k in covering for k in keys)
                if command.body["mode"] == "standalone":
                    assert len(keys) == 1 and counts[0] >= 3
                else:
                    assert len(keys) >= 2 and max(counts) < 3 and sum(counts) >= 3, counts
                checked[command.body["mode"]] += 1
            if command.path.endswith("/restructure"):
                if formal is None:
                    formal, covering = truth.formal_members(), truth.covering()
                org = command.path.split("/")[2][1:]
                entity = command.body["entity_id"][1:]
                rest = [k for k in truth.organizations[org]["entities"] if k != entity]
                assert formal[entity] >= 3 and sum(formal[k] for k in rest) >= 3
                checked["restructure"] += 1
        for command in step.commands:
            for item in command.facts:
                truth.apply(item)
    assert checked["standalone"] and checked["joint"] and checked["restructure"]


def test_the_planned_campaign_reaches_realistic_coverage(campaign):
    truth = GroundTruth({e.key: e for e in campaign.entities})
    for step in campaign.plan.ordered():
        for command in step.commands:
            for item in command.facts:
                truth.apply(item)
    city = truth.bulletin()["city"]
    assert 0.6 < city["organization_coverage"] < 0.95 and city["two_coverage"] > city["organization_coverage"]
    assert 0 < city["standalone_covered"] < city["organization_covered"]
    assert 0 < city["required_covered"] < city["required"]  # some R2 entities are still uncovered: a finding
    assert 0 < city["closed"] < city["organization_covered"]  # a few failed look-backs are still being fixed
    assert city["r3_violations"] > 0
    districts = [u for u in truth.bulletin() if u != "city"]
    assert sum(truth.bulletin()[d]["baseline"] for d in districts) == city["baseline"]


def test_ground_truth_folds_organizations_work_coverage_and_checks():
    c = build_campaign(5, 200, CITY, "t")
    truth = GroundTruth({e.key: e for e in c.entities})
    a, b, d, w = [e for e in c.entities if e.flag is None and not e.late_found and
                  e.kind == "non_public_enterprise" and e.employees < 100 and e.formal_members < 3
                  and e.party_organization == "none"][:4]  # no organization declared by the survey
    truth.apply(fact("registered", [a.key, b.key, d.key, w.key]))
    truth.apply(fact("ledger_approved", [a.key, b.key, d.key, w.key], unit="u"))
    for n in range(3):
        truth.apply(fact("member_added", [f"M{n}", a.key], standing="formal", way="found"))
    truth.apply(fact("org_formed", ["O1", a.key, b.key], mode="joint"))
    truth.apply(fact("org_formed", ["O2", d.key], mode="functional"))
    truth.apply(fact("work_assigned", [w.key, a.key]))
    row = lambda: truth.coverage_by_district().get("city")
    # a functional organization covers its entity too (the plan's 二(四)4): a, b (joint) and d (functional)
    assert (row()["organization_covered"], row()["work_covered"], row()["two_covered"]) == (3, 1, 4)
    assert row()["r3_violations"] == 1 and row()["standalone_covered"] == 0
    truth.apply(fact("org_restructured", ["O1", a.key, "O3"]))
    assert (row()["standalone_covered"], row()["r3_violations"]) == (1, 0)
    truth.apply(fact("org_checked", ["O1"], passed=True))
    truth.apply(fact("org_checked", ["O3"], passed=False))
    assert row()["closed"] == 1
    truth.apply(fact("org_dissolved", ["O1"]))
    # b lost its joint organization; a (standalone O3) and d (functional) stay covered, w work-covered
    assert (row()["organization_covered"], row()["closed"], row()["two_covered"]) == (2, 0, 3)


def test_a_task_checked_while_out_of_the_baseline_is_closed_after_the_flag_is_cleared(campaign):
    """R9: a passed check closes only baseline entities; one flagged by mistake stays checked until closed."""
    steps = campaign.plan.ordered()
    closes = [(s.on, x) for s in steps for x in s.commands if x.path.endswith("/close")]
    assert closes
    for on, close in closes:
        entity = close.path.split("/")[2]
        flagged = [s.on for s in steps for x in s.commands if x.path == f"/entities/{entity}/flags"]
        cleared = [s.on for s in steps for x in s.commands if x.path == f"/entities/{entity}/flags/zombie/clear"]
        org_key = next(x.produces for s in steps for x in s.commands
                       if x.path == "/organizations" and x.body["entity_ids"] == [entity])
        checks = [s.on for s in steps for x in s.commands if x.path == f"/organizations/@{org_key}/checks"
                  and x.body["check_kind"] == "acceptance"]
        assert flagged[0] < checks[0] < cleared[0] < on


def test_ground_truth_ends_a_source_of_work_coverage_and_keeps_the_others():
    c = build_campaign(6, 200, CITY, "t")
    truth = GroundTruth({e.key: e for e in c.entities})
    w = next(e for e in c.entities if e.flag is None and not e.late_found and e.formal_members < 3)
    truth.apply(fact("registered", [w.key]))
    truth.apply(fact("ledger_approved", [w.key], unit="u"))
    truth.apply(fact("work_assigned", [w.key], source="A1"))
    truth.apply(fact("work_assigned", [w.key], source="education-1"))
    truth.apply(fact("work_ended", [w.key], source="A1"))
    assert truth.coverage_by_district()["city"]["work_covered"] == 1  # investors' education still covers it
    v = next(e for e in c.entities if e.flag is None and not e.late_found and e.key != w.key)
    truth.apply(fact("registered", [v.key]))
    truth.apply(fact("ledger_approved", [v.key], unit="u"))
    truth.apply(fact("work_assigned", [v.key], source="A2"))
    truth.apply(fact("work_ended", [v.key], source="A2"))
    assert truth.coverage_by_district()["city"]["work_covered"] == 1  # v's only source ended
