"""CloudEvents 1.0 in the Kafka binding: both content modes decode to the same event; what is no CloudEvent
is refused with the reason the dead letters carry."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.intake.cloudevents import (STRUCTURED, CloudEvent, MalformedCloudEvent, decode, encode_binary,
                                              encode_structured)

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)
events = st.builds(
    CloudEvent, id=text, source=text, type=text, data=st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    subject=st.none() | text,
    time=st.none() | st.datetimes(timezones=st.just(timezone.utc)).map(lambda t: t.replace(microsecond=0)))


@given(events)
def test_binary_mode_round_trips(event):
    headers, value = encode_binary(event)
    assert decode(headers, value) == event


@given(events)
def test_structured_mode_round_trips(event):
    headers, value = encode_structured(event)
    assert decode(headers, value) == event


def test_binary_headers_are_the_bindings_names():
    event = CloudEvent("c-1", "/departments/market-regulation", "cn.gov.wuhan.campaign.registry.flag-entity.v1",
                       {"entity_id": "e"}, subject="e", time=datetime(2016, 8, 20, 8, tzinfo=timezone.utc))
    headers, value = encode_binary(event)
    assert dict(headers) == {"ce_specversion": b"1.0", "ce_id": b"c-1", "ce_source": b"/departments/market-regulation",
                             "ce_type": b"cn.gov.wuhan.campaign.registry.flag-entity.v1", "ce_subject": b"e",
                             "ce_time": b"2016-08-20T08:00:00Z", "content-type": b"application/json"}
    assert json.loads(value) == {"entity_id": "e"}


def _binary(**override):
    headers = {"ce_specversion": "1.0", "ce_id": "1", "ce_source": "/s", "ce_type": "t", **override}
    return [(k, v.encode()) for k, v in headers.items() if v is not None]


@pytest.mark.parametrize("headers, value, reason", [
    ([], b"{}", "not a CloudEvent"),
    (_binary(ce_specversion="0.3"), b"{}", "specversion must be 1.0"),
    (_binary(ce_id=None), b"{}", "required attribute id"),
    (_binary(ce_type=""), b"{}", "required attribute type"),
    (_binary(ce_time="yesterday"), b"{}", "not an RFC 3339 timestamp"),
    (_binary(ce_time="2016-08-20T08:00:00"), b"{}", "not an RFC 3339 timestamp"),  # no offset
    (_binary(ce_time="2016-08-20"), b"{}", "not an RFC 3339 timestamp"),  # a date alone
    (_binary(ce_time="2016-08-20T08:00+08:00"), b"{}", "not an RFC 3339 timestamp"),  # no seconds
    (_binary(ce_time="2016-08-20 08:00:00Z"), b"{}", "not an RFC 3339 timestamp"),  # a space for the T
    (_binary(ce_time="2016-W33-6T08:00:00Z"), b"{}", "not an RFC 3339 timestamp"),  # an ISO week date
    (_binary(ce_time="２０16-08-20T08:00:00Z"), b"{}", "not an RFC 3339 timestamp"),  # full-width digits
    (_binary(ce_time="2016-02-30T08:00:00Z"), b"{}", "not a valid date and time"),
    (_binary(ce_time="2016-08-20T08:00:00+24:00"), b"{}", "not a valid date and time"),
    (_binary(), b"{not json", "data is not JSON"),
    (_binary() + [("content-type", b"text/csv")], b"a,b", "data must be JSON"),
    ([("content-type", STRUCTURED.encode())], b"[1]", "must be a JSON object"),
    ([("content-type", STRUCTURED.encode())], b"\xff", "not JSON"),
    ([("content-type", STRUCTURED.encode())], json.dumps({"specversion": "1.0", "id": 1, "source": "/s",
                                                           "type": "t"}).encode(), "attribute id must be a string"),
    ([("ce_id", b"\xff")], b"{}", "not UTF-8"),
])
def test_what_is_no_cloudevent_is_refused_with_the_reason(headers, value, reason):
    with pytest.raises(MalformedCloudEvent) as refused:
        decode(headers, value)
    assert reason in refused.value.reason


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])),
       st.sampled_from(["T", "t"]), st.booleans())
def test_any_rfc_3339_time_is_read_as_the_moment_it_names(moment, separator, zulu):
    """Every RFC 3339 form (T or t, Z or an offset, with or without a fraction) names the same instant."""
    text = moment.isoformat().replace("T", separator)
    if zulu:
        text = moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat().replace("T", separator) + "Z"
    event = decode(_binary(ce_time=text), b"{}")
    assert event.time == moment
