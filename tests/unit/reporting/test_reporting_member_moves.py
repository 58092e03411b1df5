"""Reporting's fold counts members where they work: transfers and changes of workplace move them, releases
awaiting acceptance and withdrawals do not (R13: one registration, counted at the source until accepted)."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.fold import CampaignState

ENTITIES = [f"entity-{n}" for n in range(4)]
M = "member-1"

moves = st.lists(st.tuples(st.sampled_from(["MemberTransferred", "MemberWorkplaceChanged", "MemberReleased",
                                            "MemberReleaseWithdrawn"]), st.sampled_from(ENTITIES)), max_size=20)


@given(moves)
def test_a_member_is_counted_once_at_the_entity_of_the_last_accepted_move(sequence):
    state = CampaignState()
    for entity in ENTITIES:
        state.apply("EntityRegistered", {"entity_id": entity, "kind": "non_public_enterprise"})
    state.apply("MemberRegistered", {"member_id": M, "standing": "formal", "entity_id": ENTITIES[0]})
    works_at = ENTITIES[0]
    for event_type, entity in sequence:
        payload = {"member_id": M, "from_entity_id": works_at, "to_entity_id": entity, "release_id": "release-1"}
        state.apply(event_type, payload)
        if event_type in ("MemberTransferred", "MemberWorkplaceChanged"):
            works_at = entity
    inputs = state.all_inputs()
    counted = Counter({entity: i.formal_members for entity, i in inputs.items() if i.formal_members})
    assert counted == Counter({works_at: 1})
    assert works_at in state.touched
