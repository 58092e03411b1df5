"""CloudEvents 1.0 in the Kafka protocol binding: pure decoding and encoding, no I/O.

Binary content mode: the attributes are ``ce_<name>`` record headers, ``content-type`` says the data's media
type and the record value is the data. Structured mode: ``content-type: application/cloudevents+json`` and the
value is the whole event as JSON. Both decode to the same ``CloudEvent``; the platform writes binary mode.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

SPEC_VERSION = "1.0"
JSON = "application/json"
STRUCTURED = "application/cloudevents+json"
REQUIRED = ("id", "source", "type")
# Attributes this platform reads and writes (context attributes of CloudEvents 1.0); others are kept as extensions.
KNOWN = ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema")

Headers = list[tuple[str, bytes]]
# RFC 3339 section 5.6 date-time: full date, "T", time with seconds (fraction optional), "Z" or a numeric offset.
# datetime.fromisoformat alone also takes a date, a time without seconds, a space or a week date.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)


class MalformedCloudEvent(ValueError):
    """The record is no CloudEvent this platform can read; ``reason`` says why (it goes to the dead letters)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    data: Any = None
    subject: str | None = None
    time: datetime | None = None
    datacontenttype: str = JSON
    extensions: Mapping[str, str] = field(default_factory=dict)


def decode(headers: Iterable[tuple[str, bytes | None]] | None, value: bytes | None) -> CloudEvent:
    """A record's CloudEvent, in either content mode; MalformedCloudEvent otherwise."""
    found = {}
    for name, raw in headers or ():
        try:
            found[name.lower()] = (raw or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedCloudEvent(f"header {name} is not UTF-8") from None
    content_type = found.get("content-type", "").split(";")[0].strip().lower()
    if content_type == STRUCTURED:
        return _structured(value)
    attributes = {name[3:]: text for name, text in found.items() if name.startswith("ce_")}
    if not attributes:
        raise MalformedCloudEvent("not a CloudEvent: no ce_ headers and no content-type application/cloudevents+json")
    attributes["datacontenttype"] = content_type or JSON
    return _event(attributes, _json_data(value, attributes["datacontenttype"]))


def _structured(value: bytes | None) -> CloudEvent:
    try:
        document = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCloudEvent(f"structured CloudEvent is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedCloudEvent("structured CloudEvent must be a JSON object")
    if "data_base64" in document:
        raise MalformedCloudEvent("data_base64 is not accepted: commands carry JSON data")
    data = document.pop("data", None)
    attributes = {}
    for name, attribute in document.items():
        if not isinstance(attribute, str):
            raise MalformedCloudEvent(f"attribute {name} must be a string")
        attributes[name] = attribute
    attributes.setdefault("datacontenttype", JSON)
    return _event(attributes, data)


def _json_data(value: bytes | None, content_type: str) -> Any:
    if value is None:
        return None
    if content_type != JSON and not content_type.endswith("+json"):
        raise MalformedCloudEvent(f"data must be JSON (content-type {JSON}), not {content_type}")
    try:
        return json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCloudEvent(f"data is not JSON: {exc}") from None


def _event(attributes: dict[str, str], data: Any) -> CloudEvent:
    if attributes.get("specversion") != SPEC_VERSION:
        raise MalformedCloudEvent(f"specversion must be {SPEC_VERSION}, not {attributes.get('specversion')!r}")
    for name in REQUIRED:
        if not attributes.get(name):
            raise MalformedCloudEvent(f"required attribute {name} is missing or empty")
    return CloudEvent(
        id=attributes["id"], source=attributes["source"], type=attributes["type"], data=data,
        subject=attributes.get("subject"), time=_time(attributes.get("time")),
        datacontenttype=attributes["datacontenttype"],
        extensions={k: v for k, v in attributes.items() if k not in KNOWN})


def _time(text: str | None) -> datetime | None:
    """``time``, an RFC 3339 timestamp with its offset: when the sender says the occurrence happened. The
    platform keeps it as the department's claim (docs/intake.md), never as an event's time."""
    if text is None:
        return None
    if not RFC3339.fullmatch(text):
        raise MalformedCloudEvent(f"time {text!r} is not an RFC 3339 timestamp (e.g. 2016-08-15T09:30:00+08:00)")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
    except ValueError:  # the form is right but a field is out of range (month 13, second 61, offset 24:00)
        raise MalformedCloudEvent(f"time {text!r} is not a valid date and time") from None


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, as the platform writes ``ce_time``."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def binary_headers(event: CloudEvent) -> Headers:
    """The ``ce_*`` and ``content-type`` headers of ``event`` in binary mode (its value is the data's bytes)."""
    headers = [("ce_specversion", SPEC_VERSION), ("ce_id", event.id), ("ce_source", event.source),
               ("ce_type", event.type)]
    if event.subject is not None:
        headers.append(("ce_subject", event.subject))
    if event.time is not None:
        headers.append(("ce_time", format_time(event.time)))
    headers += [(f"ce_{name}", text) for name, text in sorted(event.extensions.items())]
    headers.append(("content-type", event.datacontenttype))
    return [(name, text.encode("utf-8")) for name, text in headers]


def encode_binary(event: CloudEvent) -> tuple[Headers, bytes]:
    return binary_headers(event), json.dumps(event.data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_structured(event: CloudEvent) -> tuple[Headers, bytes]:
    document: dict[str, Any] = {"specversion": SPEC_VERSION, "id": event.id, "source": event.source,
                                "type": event.type, "datacontenttype": event.datacontenttype,
                                **event.extensions, "data": event.data}
    if event.subject is not None:
        document["subject"] = event.subject
    if event.time is not None:
        document["time"] = format_time(event.time)
    return [("content-type", STRUCTURED.encode())], json.dumps(document, ensure_ascii=False).encode("utf-8")
