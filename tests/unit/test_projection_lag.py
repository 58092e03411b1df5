"""How far a projection is behind its topics: stored offsets against end offsets (pure part)."""

from hypothesis import given
from hypothesis import strategies as st

from platform_core.errors import ProjectionBehind
from platform_core.projection_lag import ProjectionLag

PARTITIONS = st.tuples(st.sampled_from(["registry.events", "membership.events"]), st.integers(0, 3))
OFFSETS = st.dictionaries(PARTITIONS, st.integers(0, 1000), max_size=8)


def lag() -> ProjectionLag:
    return ProjectionLag(None, "formation", "formation.upstream", ("registry.events", "membership.events"),
                         "127.0.0.1:1", end_offsets=lambda topics: {})


@given(OFFSETS, OFFSETS)
def test_behind_counts_what_the_topics_held_and_the_projection_has_not_applied(ends, stored):
    missing = lag().behind(ends, stored)
    for topic in {t for t, _ in ends}:
        expected = sum(max(0, end - stored.get((t, p), 0)) for (t, p), end in ends.items() if t == topic)
        assert missing.get(topic, 0) == expected
    assert all(count > 0 for count in missing.values())
    assert (not missing) == all(stored.get(key, 0) >= end for key, end in ends.items())


def test_a_partition_never_consumed_counts_from_zero_and_an_empty_topic_is_never_behind():
    assert lag().behind({("membership.events", 2): 5}, {}) == {"membership.events": 5}
    assert lag().behind({("membership.events", 2): 0}, {}) == {}
    assert lag().behind({}, {("registry.events", 0): 9}) == {}


def test_projection_behind_is_a_409_with_its_own_code_and_the_topics_behind():
    error = ProjectionBehind("retry", field="entity_ids", behind={"membership.events": 3})
    assert error.status == 409 and error.retry_after == 1
    assert error.to_dict() == {"error": "projection_behind", "message": "retry", "field": "entity_ids",
                               "details": [{"topic": "membership.events", "events_behind": 3}]}
