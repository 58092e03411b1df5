"""Who worked where, when: members' moves indexed by member, for the detectors that look at arrivals."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from .records import Move

TRANSFERS = ("transferred", "workplace")


def by_member(moves: Iterable[Move]) -> dict[str, list[Move]]:
    index: dict[str, list[Move]] = defaultdict(list)
    for move in moves:  # already in time order (fold)
        index[move.member_id].append(move)
    return index


def arrivals_at(moves: Iterable[Move], entity_ids: Iterable[str]) -> list[Move]:
    wanted = set(entity_ids)
    return [m for m in moves if m.to_entity_id in wanted]


def present_on(history: dict[str, list[Move]], entity_ids: Iterable[str], day: date) -> dict[str, Move]:
    """The members working at one of ``entity_ids`` at the end of ``day``, each with the move that brought them."""
    wanted, found = set(entity_ids), {}
    for member_id, moves in history.items():
        last = None
        for move in moves:
            if move.on > day:
                break
            last = move
        if last is not None and last.to_entity_id in wanted:
            found[member_id] = last
    return found
