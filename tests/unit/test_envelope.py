"""Canonical bytes, hashes and the envelope's validation (pure, no I/O)."""

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.envelope import Actor, EventEnvelope, canonical_json, utc_timestamp
from platform_core.errors import SchemaViolation

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)
aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]))


def envelope(payload, occurred_at, recorded_at=None) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.UUID(int=7), type="EntityRegistered", schema_version=1, stream_id="entity-1",
        stream_version=1, occurred_at=occurred_at, recorded_at=recorded_at or occurred_at,
        actor=Actor(department="district:420102", user="clerk-1"), payload=payload)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6), aware_times)
def test_canonical_bytes_survive_a_round_trip(payload, moment):
    original = envelope(payload, moment)
    again = EventEnvelope.from_bytes(original.canonical_bytes())
    assert again.canonical_bytes() == original.canonical_bytes()
    assert again.sha256() == original.sha256()


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_canonical_json_ignores_key_order(mapping):
    reordered = dict(reversed(list(mapping.items())))
    assert canonical_json(mapping) == canonical_json(reordered)


def test_timestamps_are_rendered_in_utc_with_microseconds():
    beijing = datetime(2016, 8, 26, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    data = json.loads(envelope({}, beijing).canonical_bytes())
    assert data["occurred_at"] == "2016-08-26T10:00:00.000000Z"


def test_same_instant_in_other_zones_hashes_the_same():
    utc = datetime(2016, 11, 21, 2, 0, tzinfo=timezone.utc)
    assert envelope({}, utc).sha256() == envelope({}, utc.astimezone(timezone(timedelta(hours=8)))).sha256()


def test_chinese_text_is_kept_as_utf8_not_escaped():
    assert "武汉".encode() in envelope({"name": "武汉"}, datetime.now(timezone.utc)).canonical_bytes()


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="time zone"):
        envelope({}, datetime(2016, 8, 15))


def test_nan_is_not_canonical_json():
    with pytest.raises(ValueError):
        canonical_json({"rate": float("nan")})


@pytest.mark.parametrize("data, field", [
    (b"not json", "envelope"),
    (b'{"event_id": "x"}', "event_id"),
])
def test_malformed_bytes_name_the_field(data, field):
    with pytest.raises(SchemaViolation) as caught:
        EventEnvelope.from_bytes(data)
    assert caught.value.field == field


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-959, 959))))
def test_canonical_timestamps_are_the_strftime_text_for_every_year(moment):
    # utc_timestamp takes isoformat's faster path from year 1000 on; the canonical text (and so every
    # audit hash) must stay exactly what strftime gave, early years (no zero padding) included.
    assert utc_timestamp(moment) == moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_canonical_timestamps_of_utc_and_other_offsets():
    at = datetime(2016, 8, 25, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8)))
    assert utc_timestamp(at) == "2016-08-25T15:59:59.999999Z"
    assert utc_timestamp(datetime(2016, 8, 25, tzinfo=timezone.utc)) == "2016-08-25T00:00:00.000000Z"
