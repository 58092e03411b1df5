"""R12 random spot checks: a reproducible draw nobody can cherry-pick.

Algorithm ``sha256-rank`` version 1 (docs/formation.md, and the SpotCheckDrawn
event, carry everything needed to recompute it):

1. population = the district's entity ids whose task is closed (销号) at draw time,
   sorted ascending (Python/byte order of the ASCII ids);
2. key(id) = SHA-256 over the UTF-8 bytes of ``seed + "\\x1f" + district_code + "\\x1f" + id``,
   as a lower-case hex digest;
3. sort the population by (key, id) ascending and take the first ``per_district``
   (all of them when the population is smaller).

The seed is the latest signed audit checkpoint's root hash (base64, as in the
checkpoint note) or, before the audit log has signed any, a value fixed in
advance and recorded in the event.
"""

import hashlib
from collections.abc import Iterable

ALGORITHM = "sha256-rank"
ALGORITHM_VERSION = 1
SEPARATOR = "\x1f"
POPULATION_PART = 1200  # ids per SpotCheckDrawn event (the payload limit is 64 KiB)


def rank_key(seed: str, district_code: str, entity_id: str) -> str:
    return hashlib.sha256(f"{seed}{SEPARATOR}{district_code}{SEPARATOR}{entity_id}".encode()).hexdigest()


def draw(seed: str, district_code: str, population: Iterable[str], per_district: int) -> list[str]:
    ordered = sorted(set(population))
    ranked = sorted(ordered, key=lambda entity_id: (rank_key(seed, district_code, entity_id), entity_id))
    return ranked[:per_district]


def population_digest(population: list[str]) -> str:
    return hashlib.sha256("\n".join(population).encode()).hexdigest()


def draw_events(spot_check_id: str, seed: str, seed_source: str, checkpoint: dict | None, per_district: int,
                drawn_on: str, populations: dict[str, list[str]]) -> list[dict]:
    """One SpotCheckDrawn payload per district (and per 1,200-id part of a large district)."""
    payloads = []
    for district_code in sorted(populations):
        population = sorted(set(populations[district_code]))
        sample = draw(seed, district_code, population, per_district)
        parts = [population[i:i + POPULATION_PART] for i in range(0, len(population), POPULATION_PART)] or [[]]
        for number, part in enumerate(parts, start=1):
            payloads.append({
                "spot_check_id": spot_check_id, "district_code": district_code, "seed": seed,
                "seed_source": seed_source,
                "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
                "checkpoint_tree_size": checkpoint["tree_size"] if checkpoint else None,
                "algorithm": ALGORITHM, "algorithm_version": ALGORITHM_VERSION, "per_district": per_district,
                "drawn_on": drawn_on, "part": number, "parts": len(parts), "population": part,
                "population_size": len(population), "population_sha256": population_digest(population),
                "sample": sample})
    return payloads
