"""The spot-check draw (reproducible, order-independent) and the joint-formation suggestions."""

import hashlib
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from formation.domain import spotcheck
from formation.domain.board import effective_state
from formation.domain.model import EntityFacts
from formation.domain.suggestions import suggest

ids = st.lists(st.uuids().map(lambda u: f"entity-{u}"), min_size=0, max_size=60, unique=True)


@given(ids, st.integers(min_value=1, max_value=10), st.text(min_size=1, max_size=20), st.randoms())
@settings(max_examples=50)
def test_draw_is_independent_of_input_order_and_matches_the_documented_formula(population, n, seed, rnd):
    shuffled = list(population)
    rnd.shuffle(shuffled)
    sample = spotcheck.draw(seed, "420102", shuffled, n)
    assert sample == spotcheck.draw(seed, "420102", sorted(population), n)
    assert len(sample) == min(n, len(population)) and set(sample) <= set(population)
    key = lambda e: hashlib.sha256(f"{seed}\x1f420102\x1f{e}".encode()).hexdigest()  # noqa: E731
    assert sample == sorted(population, key=lambda e: (key(e), e))[:n]


def test_different_seeds_or_districts_draw_differently():
    population = [f"entity-{uuid.UUID(int=i)}" for i in range(200)]
    assert spotcheck.draw("a", "420102", population, 5) != spotcheck.draw("b", "420102", population, 5)
    assert spotcheck.draw("a", "420102", population, 5) != spotcheck.draw("a", "420103", population, 5)


def _facts(formal, street="420102001", industry="retail"):
    return EntityFacts(f"entity-{uuid.uuid4()}", "non_public_enterprise", district_code="420102",
                       street_code=street, industry=industry, formal_members=formal)


def test_suggestions_group_by_street_and_industry_then_region():
    retail = [_facts(1), _facts(1), _facts(1)]
    mixed = [_facts(2, industry="it"), _facts(1, industry="food")]
    alone = [_facts(1, street="420102009")]
    result = suggest(retail + mixed + alone + [_facts(3)])
    bases = {g["grouping_basis"]: g for g in result["groups"]}
    assert set(bases["industry"]["entity_ids"]) == {e.entity_id for e in retail}
    assert set(bases["region"]["entity_ids"]) == {e.entity_id for e in mixed}
    assert [u["entity_id"] for u in result["uncovered"]] == [alone[0].entity_id]
    assert all(g["formal_members"] >= 3 and g["reason"] for g in result["groups"])


@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["420102001", "420102002"]),
                          st.sampled_from(["retail", "it"])), max_size=25))
def test_suggestions_are_deterministic_and_every_group_reaches_three(specs):
    entities = [_facts(n, street, industry) for n, street, industry in specs]
    first, second = suggest(entities), suggest(list(reversed(entities)))
    assert first == second
    placed = [e for g in first["groups"] for e in g["entity_ids"]]
    assert len(placed) == len(set(placed))
    assert all(g["formal_members"] >= 3 for g in first["groups"])
    by_street = {}
    for e in entities:
        by_street.setdefault(e.street_code, []).append(e.formal_members)
    for street, counts in by_street.items():  # a street whose entities reach 3 together has nobody uncovered
        if sum(counts) >= 3 and len(counts) >= 2:
            assert not [u for u in first["uncovered"] if u["street_code"] == street]


def test_task_state_combines_persisted_state_and_coverage():
    assert effective_state(None, False) == "open"
    assert effective_state(None, True) == "organization_formed"
    assert effective_state("organization_formed", False) == "open"  # organization dissolved since
    assert effective_state("closed", True) == "closed"


def test_board_states_and_overdue_on_the_business_date():
    from datetime import date

    from formation.domain.board import overdue
    from platform_core.reference import load_calendar

    calendar = load_calendar()
    assert effective_state(None, False, declared=True) == "declared"
    assert effective_state(None, True, declared=True) == "organization_formed"  # formation's record wins
    before, after, checks_over = date(2016, 11, 20), date(2016, 11, 21), date(2016, 12, 6)
    assert overdue(calendar, "open", before, required=True, work_covered=False) is None
    assert overdue(calendar, "open", after, required=True, work_covered=True) == "formation"
    assert overdue(calendar, "open", after, required=False, work_covered=True) is None  # R6 work coverage
    assert overdue(calendar, "open", after, required=False, work_covered=False) == "formation"
    assert overdue(calendar, "declared", after, required=True, work_covered=False) is None
    assert overdue(calendar, "declared", checks_over, required=True, work_covered=False) == "acceptance"
    assert overdue(calendar, "closed", checks_over, required=True, work_covered=False) is None
