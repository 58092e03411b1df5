"""Finding candidate shadow enterprises (影子企业): the same business registered more than once.

A pair is a candidate when the names are the same or nearly so AND the
address or the legal representative is the same (compared by keyed hash). Candidates are only listed
for a person in market regulation to decide; nothing is flagged here.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

NAME_SIMILARITY = 0.9
_SUFFIXES = ("有限责任公司", "股份有限公司", "有限公司", "分公司", "公司")
_NOISE = re.compile(r"[\s()（）\[\]【】·,，.。\-—_/]+")


def name_key(name: str | None) -> str:
    """The name without spaces, punctuation, width differences or the company-form suffix."""
    text = _NOISE.sub("", unicodedata.normalize("NFKC", name or "")).lower()
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def address_key(address: str | None) -> str | None:
    text = _NOISE.sub("", unicodedata.normalize("NFKC", address or "")).lower()
    return text or None


def person_key(name: str | None) -> str | None:
    text = _NOISE.sub("", unicodedata.normalize("NFKC", name or ""))
    return text or None


@dataclass(frozen=True)
class Candidate:
    entity_id: str
    candidate_of: str  # the earlier registration it may duplicate
    score: float
    reasons: tuple[str, ...]


def similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b).ratio()


def match(new: Mapping[str, Any], existing: Mapping[str, Any]) -> Candidate | None:
    """A candidate when ``new`` looks like a second registration of ``existing``. Each side gives its
    ``name`` and its ``address_key`` and ``person_key`` (the keyed hashes of the normalized address and
    legal representative: the registry compares persons without holding them in clear)."""
    if new["entity_id"] == existing["entity_id"]:
        return None
    score = similarity(name_key(new.get("name")), name_key(existing.get("name")))
    if score < NAME_SIMILARITY:
        return None
    reasons = ["名称相同" if score == 1.0 else f"名称相近（相似度{score:.2f}）"]
    if new.get("address_key") and new.get("address_key") == existing.get("address_key"):
        reasons.append("地址相同")
    if new.get("person_key") and new.get("person_key") == existing.get("person_key"):
        reasons.append("法定代表人相同")
    if len(reasons) == 1:
        return None
    return Candidate(new["entity_id"], existing["entity_id"], round(score, 3), tuple(reasons))


def find_candidates(new: Mapping[str, Any], others: Iterable[Mapping[str, Any]]) -> list[Candidate]:
    found = [c for other in others if (c := match(new, other)) is not None]
    return sorted(found, key=lambda c: (-c.score, c.candidate_of))
