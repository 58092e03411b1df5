"""The live projection derives the touched entities' statuses from the batch's state (``inputs_of``), the
replay every entity's (``all_inputs``): for any set of entities the two must agree."""

from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.domain.fold import CampaignState
from reporting_scenario import bulk, campaign

SCENARIOS = {"campaign": campaign(), "bulk": bulk(60, seed=11)}


def folded(name: str) -> CampaignState:
    state = CampaignState()
    for _, envelope in SCENARIOS[name].events:
        state.apply(envelope.type, envelope.payload, str(envelope.event_id), envelope.recorded_at)
    return state


STATES = {name: folded(name) for name in SCENARIOS}


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(STATES)), data=st.data())
def test_inputs_of_any_entities_equal_the_whole_campaigns(name, data):
    state = STATES[name]
    every = state.all_inputs()
    known = sorted(every)
    wanted = data.draw(st.sets(st.sampled_from(known + ["entity-never-registered"])))
    assert state.inputs_of(wanted) == {entity: every[entity] for entity in wanted if entity in every}
