"""A fold's state as plain JSON values and back (as-of snapshots), and the figures /rates reads from it.

An as-of snapshot is the ``CampaignState`` of every event recorded at or before a moment, with each
baseline entity's contribution to the rate counters (``count(derive_status(...))``) and its four
dimension keys, so a question for a later moment folds only the events after the snapshot and derives
again only the entities they touched. Pure: no I/O.

The encoding is canonical (every map the fold owns sorted by key, sets as sorted lists), so the same
events give the same bytes however the topics' partitions interleaved: ``state_sha256`` of a rebuilt
snapshot equals the stored one exactly when the states are equal.
"""

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic_core import from_json, to_json

from .fold import CampaignState, CoverageSpan, FailedCheck, Member, PlanState
from .rates import COUNTER_NAMES, Counters, count
from .status import derive_status

LEVEL_KEYS = {"city": None, "district": 0, "street": 1, "kind": 2, "department": 3}  # index in a contribution row
DIGEST_MODULUS = 2 ** 256

Contribution = list  # [district_code, street_code, kind, department, *counters in COUNTER_NAMES order]


class Deferred(dict):
    """A map whose values may still be their JSON text, parsed on first access: a question touches a few
    hundred of a snapshot's entities, and parsing every entity's facts was most of loading it."""

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        if type(value) is str:
            value = from_json(value)
            dict.__setitem__(self, key, value)
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key, *default):
        if key in self:
            value = self[key]
            dict.__delitem__(self, key)
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def values(self):
        return [self[key] for key in self]

    def items(self):
        return [(key, self[key]) for key in self]


def as_text(mapping: Mapping, key) -> str:
    """A value of a (``Deferred``) map as its JSON text, without parsing it when it is still text."""
    value = dict.__getitem__(mapping, key) if isinstance(mapping, dict) else mapping[key]
    return value if type(value) is str else to_json(value).decode()


def encode_state(state: CampaignState) -> dict[str, Any]:
    def sorted_map(mapping: Mapping, value=lambda v: v) -> dict:
        return {k: value(mapping[k]) for k in sorted(mapping)}

    return {
        "facts": {entity: as_text(state.facts, entity) for entity in sorted(state.facts)},
        "approved": sorted_map(state.approved),
        "flags": sorted_map(state.flags, sorted),
        "members": sorted_map(state.members, lambda m: [m.entity_id, m.standing, m.active]),
        "coverage": sorted_map(state.coverage, sorted_map),
        "work": sorted_map(state.work, sorted),
        "tasks": sorted_map(state.tasks),
        "member_named": sorted(state.member_named),
        "formation_named": sorted(state.formation_named),
        "federation_lists": sorted_map(state.federation_lists, lambda v: [v[0], sorted(v[1])]),
        # by check (stable: a check's repeats keep their order, the first one counts), not by stream interleaving
        "failed_checks": [[c.check_id, c.organization_id, c.check_kind, c.checked_on, list(c.entity_ids),
                           list(c.findings), c.event_id]
                          for c in sorted(state.failed_checks, key=lambda c: c.check_id)],
        "plans": sorted_map(state.plans, lambda p: [p.plan_id, p.label, p.target_date, p.responsible_role,
                                                    p.last_noted_on]),
        "spans": sorted_map(state.spans, lambda by_entity: sorted_map(by_entity, lambda spans: [
            [s.mode, s.covered_from.isoformat(), s.formed_event_id,
             s.covered_until.isoformat() if s.covered_until else None, s.ended_event_id] for s in spans])),
    }


def decode_state(data: Mapping[str, Any]) -> CampaignState:
    def moment(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    return CampaignState(
        facts=Deferred(data["facts"]), approved=data["approved"],
        flags={e: set(f) for e, f in data["flags"].items()},
        members={m: Member(v[0], v[1], v[2]) for m, v in data["members"].items()},
        coverage=data["coverage"], work={e: set(w) for e, w in data["work"].items()}, tasks=data["tasks"],
        member_named=set(data["member_named"]), formation_named=set(data["formation_named"]),
        federation_lists={k: (v[0], frozenset(v[1])) for k, v in data["federation_lists"].items()},
        failed_checks=[FailedCheck(c[0], c[1], c[2], c[3], tuple(c[4]), tuple(c[5]), c[6])
                       for c in data["failed_checks"]],
        plans={e: PlanState(*p) for e, p in data["plans"].items()},
        spans={o: {e: [CoverageSpan(s[0], moment(s[1]), s[2], moment(s[3]), s[4]) for s in spans]
                   for e, spans in by_entity.items()} for o, by_entity in data["spans"].items()})


def contributions_of(state: CampaignState, entities: Iterable[str] | None = None) -> dict[str, Contribution]:
    """Each baseline entity's counters and dimension keys (of ``entities``, or of every registered one)."""
    inputs = state.all_inputs() if entities is None else state.inputs_of(entities)
    found = {}
    for entity, entity_inputs in inputs.items():
        status = derive_status(entity, entity_inputs)
        counters = count(status)
        if counters.baseline:
            found[entity] = [status.district_code, status.street_code, status.kind, status.department,
                             *(getattr(counters, name) for name in COUNTER_NAMES)]
    return found


Totals = dict[str, dict[Any, list[int]]]  # level -> key -> counters (COUNTER_NAMES order)


def _key(level_index: int | None, row: Contribution):
    return "city" if level_index is None else row[level_index]


def adjust(totals: Totals, row: Contribution, sign: int) -> None:
    """Add (sign 1) or take away (-1) one entity's contribution to every level's totals; a key whose
    baseline falls to 0 goes, as a GROUP BY over no rows gives no group."""
    for level, index in LEVEL_KEYS.items():
        by_key = totals.setdefault(level, {})
        key = _key(index, row)
        total = by_key.setdefault(key, [0] * len(COUNTER_NAMES))
        for i, value in enumerate(row[4:]):
            total[i] += sign * value
        if total[0] == 0:  # baseline
            del by_key[key]


def totals_of(contributions: Mapping[str, Contribution]) -> Totals:
    totals: Totals = {}
    for row in contributions.values():
        adjust(totals, row, 1)
    return totals


def _sorted_counters(sums: Mapping[Any, list[int]]) -> dict[str, Counters]:
    """Sorted as PostgreSQL's ORDER BY sorts the keys: NULL last."""
    return {key: Counters(**dict(zip(COUNTER_NAMES, sums[key])))
            for key in sorted(sums, key=lambda k: (k is None, k or ""))}


def counters_from(totals: Totals, level: str) -> dict[str, Counters]:
    return _sorted_counters(totals.get(level, {}))


def counters_by(contributions: Mapping[str, Contribution], level: str,
                district: str | None = None) -> dict[str, Counters]:
    """What ``queries.counters_by`` answers from rp_entity_status: per key of the level, sorted by key."""
    index = LEVEL_KEYS[level]
    sums: dict[str, list[int]] = {}
    for row in contributions.values():
        if district is not None and row[0] != district:
            continue
        key = _key(index, row)
        total = sums.get(key)
        if total is None:
            sums[key] = list(row[4:])
        else:
            for i, value in enumerate(row[4:]):
                total[i] += value
    return _sorted_counters(sums)


def encode_totals(totals: Totals) -> list:
    """As [level, key, counters] rows (a key may be NULL, which a JSON object cannot hold), sorted."""
    return [[level, key, totals[level][key]] for level in sorted(totals)
            for key in sorted(totals[level], key=lambda k: (k is None, k or ""))]


def decode_totals(rows: list) -> Totals:
    totals: Totals = {}
    for level, key, counters in rows:
        totals.setdefault(level, {})[key] = list(counters)
    return totals


def event_digest(event_ids: Iterable[str], start: int = 0) -> int:
    """An order-free digest of a set of event ids (the sum of their SHA-256 modulo 2^256): a snapshot's
    digest is its predecessor's plus the events it added, and a full fold to the same moment gives it again."""
    total = start
    for event_id in event_ids:
        total += int.from_bytes(hashlib.sha256(event_id.encode()).digest(), "big")
    return total % DIGEST_MODULUS


def dumps(value: Any) -> bytes:
    return to_json(value)


def loads(data: bytes) -> Any:
    return from_json(data)
