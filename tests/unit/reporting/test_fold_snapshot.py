"""As-of snapshots in memory: a snapshot taken at any point of the scenario and folded on is the whole fold."""

from hypothesis import given, settings, strategies as st

from reporting.domain import fold_snapshot
from reporting.domain.dimensions import DIMENSIONS
from reporting.domain.fold import CampaignState
from reporting.domain.rates import aggregate
from reporting.domain.status import derive_status
from reporting_scenario import campaign

EVENTS = campaign().events
LEVELS = ("city", "district", "street", "kind", "department")


def folded(events, state=None) -> CampaignState:
    state = state or CampaignState()
    for _, envelope in events:
        state.apply(envelope.type, envelope.payload, str(envelope.event_id), envelope.recorded_at)
    return state


def through_a_snapshot(cut: int) -> tuple[CampaignState, dict, dict]:
    """Fold the first ``cut`` events, encode and decode them, fold the rest onto it and derive only what changed
    (as reporting.adapters.as_of_snapshots does: facts and contributions stay text until touched)."""
    before = folded(EVENTS[:cut])
    contributions = fold_snapshot.contributions_of(before)
    data = fold_snapshot.loads(fold_snapshot.dumps({
        "state": fold_snapshot.encode_state(before),
        "contributions": {e: fold_snapshot.as_text(contributions, e) for e in contributions},
        "totals": fold_snapshot.encode_totals(fold_snapshot.totals_of(contributions))}))
    state = fold_snapshot.decode_state(data["state"])
    contributions = fold_snapshot.Deferred(data["contributions"])
    totals = fold_snapshot.decode_totals(data["totals"])
    folded(EVENTS[cut:], state)
    for entity in state.touched:
        old = contributions.pop(entity, None)
        if old is not None:
            fold_snapshot.adjust(totals, old, -1)
    derived = fold_snapshot.contributions_of(state, set(state.touched))
    for row in derived.values():
        fold_snapshot.adjust(totals, row, 1)
    contributions.update(derived)
    return state, contributions, totals


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=len(EVENTS)))
def test_a_snapshot_anywhere_then_the_rest_is_the_whole_fold(cut):
    whole = folded(EVENTS)
    state, contributions, totals = through_a_snapshot(cut)

    assert fold_snapshot.encode_state(state) == fold_snapshot.encode_state(whole)
    statuses = [derive_status(e, inputs) for e, inputs in whole.all_inputs().items()]
    for level in LEVELS:
        expected = dict(sorted(aggregate(statuses, DIMENSIONS[level]).items()))
        assert fold_snapshot.counters_from(totals, level) == expected
        assert fold_snapshot.counters_by(contributions, level) == expected


def test_the_encoding_is_canonical_and_the_digest_order_free():
    forward, backward = folded(EVENTS), CampaignState()
    # The same events by stream, streams in the opposite order: another interleaving, the same bytes.
    streams: dict[str, list] = {}
    for event in EVENTS:
        streams.setdefault(event[1].stream_id, []).append(event)
    for stream in reversed(list(streams)):
        folded(streams[stream], backward)
    assert fold_snapshot.dumps(fold_snapshot.encode_state(forward)) == \
        fold_snapshot.dumps(fold_snapshot.encode_state(backward))
    ids = [str(e.event_id) for _, e in EVENTS]
    assert fold_snapshot.event_digest(ids) == fold_snapshot.event_digest(ids[::-1])
    assert fold_snapshot.event_digest(ids[5:], fold_snapshot.event_digest(ids[:5])) == fold_snapshot.event_digest(ids)
    assert fold_snapshot.event_digest(ids[1:]) != fold_snapshot.event_digest(ids)
