"""Industries an entity is recorded under (附表1 行业); internet and cultural-creative matter for R2."""

from dataclasses import dataclass
from functools import lru_cache

from ._files import read_json


@dataclass(frozen=True)
class Industry:
    code: str
    name: str


@lru_cache(maxsize=4)
def load_industries(path: str | None = None) -> dict[str, Industry]:
    raw = read_json(path, "industries.json")
    return {item["code"]: Industry(item["code"], item["name"]) for item in raw["industries"]}
