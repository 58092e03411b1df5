"""The simulator's pure parts: the plan is a function of the seed, its data are valid for the platform's
rules, and the ground truth folds facts into the figures the platform should show."""

from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from platform_core.reference import load_departments, load_industries, load_territory
from registry.domain import forms as registry_forms
from registry.domain.facts import Vocabulary, validate_registration
from registry.domain.uscc import is_valid_uscc
from membership.domain.id_number import normalize_id_number
from simulator import identifiers
from simulator.commands import fact
from simulator.forms import form_csv
from simulator.plan import build_campaign
from simulator.truth import GroundTruth

CITY = load_territory()


@pytest.fixture(scope="module")
def campaign():
    return build_campaign(7, 2000, CITY, "unit-test")


def _summary(c):
    return [(s.on, s.phase, s.label, tuple((x.method, x.path, x.key, repr(x.body)) for x in s.commands))
            for s in c.plan.ordered()]


def test_the_same_seed_gives_the_same_campaign_and_another_seed_another():
    first, again = build_campaign(3, 400, CITY, "t"), build_campaign(3, 400, CITY, "t")
    assert _summary(first) == _summary(again)
    assert first.entities == again.entities and first.members == again.members
    assert _summary(build_campaign(4, 400, CITY, "t")) != _summary(first)


def test_the_run_tag_changes_codes_but_no_decision():
    a, b = build_campaign(3, 400, CITY, "one"), build_campaign(3, 400, CITY, "two")
    assert [e.uscc for e in a.entities] != [e.uscc for e in b.entities]
    strip = lambda c: [(e.kind, e.employees, e.formal_members, e.flag, e.district_code) for e in c.entities]
    assert strip(a) == strip(b)
    assert [(s.on, s.phase, len(s.commands)) for s in a.plan.ordered()] == [
        (s.on, s.phase, len(s.commands)) for s in b.plan.ordered()]


def test_mixes_are_realistic(campaign):
    entities = campaign.entities
    kinds = Counter(e.kind for e in entities)
    assert kinds["non_public_enterprise"] > kinds["social_organization"] > kinds["rural_entity"] > 0
    enterprises = [e for e in entities if e.kind == "non_public_enterprise"]
    assert sum(e.employees < 50 for e in enterprises) > 0.7 * len(enterprises)  # most are small
    assert any(e.employees >= 100 for e in enterprises) and any(50 <= e.employees < 100 for e in enterprises)
    assert {"internet", "cultural_creative"} <= {e.industry for e in enterprises}
    social = [e for e in entities if e.kind == "social_organization"]
    assert {"city", "district"} == {e.level for e in social}
    assert any(e.supervising_department for e in social) and any(e.level == "city" and not e.supervising_department
                                                                   for e in social)
    rural_streets = {s.code for s in CITY.streets() if s.kind in ("town", "township")}
    assert all(e.street_code in rural_streets for e in entities if e.kind == "rural_entity")
    flags = Counter(e.flag for e in entities)
    for flag in ("shell", "zombie", "shadow"):
        assert 0.005 * len(entities) < flags[flag] < 0.05 * len(entities)
    members = Counter(min(e.formal_members, 3) for e in entities)
    assert members[0] + members[1] + members[2] > 3 * members[3] > 0  # mostly 0-2, some >= 3


def test_shadows_repeat_a_real_enterprise(campaign):
    by_key = {e.key: e for e in campaign.entities}
    shadows = [e for e in campaign.entities if e.flag == "shadow"]
    assert shadows
    for shadow in shadows:
        original = by_key[shadow.duplicate_of]
        assert original.flag is None and shadow.uscc != original.uscc
        assert shadow.address == original.address and shadow.legal_representative == original.legal_representative
        assert shadow.name != original.name and shadow.name.startswith(original.name.removesuffix("有限公司"))


def test_every_code_and_identity_number_is_valid_and_unique(campaign):
    codes = [e.uscc for e in campaign.entities]
    assert all(is_valid_uscc(code) for code in codes) and len(set(codes)) == len(codes)
    numbers = [m.id_number for m in campaign.members]
    assert [normalize_id_number(n) for n in numbers] == numbers and len(set(numbers)) == len(numbers)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=identifiers.BIRTH_DAYS * 999))
def test_identity_numbers_are_valid_for_any_index(index):
    number = identifiers.id_number("x", index)
    assert normalize_id_number(number) == number
    assert identifiers.birth_date(index).strftime("%Y%m%d") == number[6:14]


def test_members_are_adults_when_admitted_and_confirmed_only_after_a_year(campaign):
    for member in campaign.members:
        assert (member.admitted_on - identifiers.birth_date(member.index)).days >= 18 * 365
    confirms = [(s.on, c) for s in campaign.plan.steps for c in s.commands if c.path.endswith("/confirm")]
    by_key = {m.key: m for m in campaign.members}
    assert confirms
    for on, command in confirms:
        member = by_key[command.path.split("/")[2][1:]]
        assert on >= member.anniversary and on > campaign.added_on[member.key]


def test_the_survey_files_pass_the_registrys_own_form_rules(campaign):
    vocabulary = Vocabulary(CITY, load_departments(), load_industries())
    for form, kinds in (("form1", ("non_public_enterprise", "rural_entity")), ("form2", ("social_organization",))):
        rows = [e for e in campaign.entities if e.kind in kinds][:300]
        lines = form_csv(form, rows).decode("utf-8-sig").splitlines()
        import csv
        table = list(csv.reader(lines))
        headers, errors = registry_forms.map_headers(form, table[1], 2)
        assert errors == []
        for number, cells in enumerate(table[2:], start=3):
            facts, row_errors = registry_forms.row_facts(form, headers, cells, vocabulary, number)
            assert row_errors == [], row_errors
            entity = rows[number - 3]
            assert facts["uscc"] == entity.uscc and facts["employees"] == entity.employees
            assert facts["street_code"] == entity.street_code and facts["level"] == entity.level


def test_single_registrations_pass_the_registrys_validation(campaign):
    vocabulary = Vocabulary(CITY, load_departments(), load_industries())
    for entity in campaign.entities[:500]:
        _, errors = validate_registration(entity.facts(), vocabulary)
        assert errors == []


def test_ledgers_are_submitted_after_their_entities_and_approved_by_the_city(campaign):
    steps = campaign.plan.ordered()
    imports = [s.on for s in steps if s.phase == "survey" and s.commands]
    submits = [s.on for s in steps if s.label.endswith("submitted") and s.on < date(2016, 10, 1)]
    assert max(imports) < min(submits)
    approvals = [c for s in steps for c in s.commands if c.path.endswith("/approve")]
    assert approvals and all(c.department == "city_org" for c in approvals)
    assert any(s.label.endswith("returned") for s in steps)


def test_phases_without_an_api_are_left_out_by_name():
    c = build_campaign(1, 100, CITY, "t")
    assert {"formation", "acceptance", "spot_checks", "reports", "bulletins"} <= set(c.plan.left_out)
    assert not {"formation", "reports"} & set(c.plan.phases)


def test_ground_truth_baseline_and_members():
    c = build_campaign(5, 200, CITY, "t")
    truth = GroundTruth({e.key: e for e in c.entities})
    a, b, z = c.entities[0], c.entities[1], c.entities[2]
    truth.apply(fact("registered", [a.key, b.key, z.key]))
    assert truth.registry_by_district()[a.district_code]["in_baseline"] == 0
    truth.apply(fact("ledger_approved", [a.key, b.key, z.key], unit="u"))
    truth.apply(fact("flagged", [z.key], flag="zombie"))
    total = lambda: sum(r["in_baseline"] for r in truth.registry_by_district().values())
    assert total() == 2
    truth.apply(fact("flag_cleared", [z.key], flag="zombie"))
    assert total() == 3
    assert truth.bulletin()["city"]["baseline"] == 3
    truth.apply(fact("member_added", ["M1", a.key], standing="probationary", way="found"))
    truth.apply(fact("member_added", ["M2", a.key], standing="formal", way="found"))
    truth.apply(fact("member_confirmed", ["M1"]))
    truth.apply(fact("member_left", ["M2"]))
    assert truth.members_by_district()[a.district_code] == {"formal": 1, "probationary": 0, "total": 1}


def test_a_shadow_duplicates_an_entity_registered_in_the_survey(campaign):
    by_key = {e.key: e for e in campaign.entities}
    assert all(not by_key[e.duplicate_of].late_found for e in campaign.entities if e.flag == "shadow")
