"""The territory: city -> districts (and functional zones) -> streets, townships, zones and parks.

GB/T 2260 codes where they exist (city 420100, districts 4201xx). Functional
zones such as 东湖新技术开发区 have no GB/T 2260 code: the data file gives them
platform codes 420191-420199 and says so. Streets and townships carry 9-digit
codes (district code + 3 digits, following the statistical division code's
numbering); development zones and parks use 4xx under their district.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..settings import get_settings
from ._files import read_json

DEFAULT_TERRITORY_FILE = "territory-420100-2016.json"
DISTRICT_KINDS = ("district", "functional_zone")
STREET_KINDS = ("street", "town", "township", "development_zone", "scenic_area")
KIND_NAMES_ZH = {
    "district": "区", "functional_zone": "功能区", "street": "街道", "town": "镇", "township": "乡",
    "development_zone": "开发区（园区）", "scenic_area": "景区",
}


@dataclass(frozen=True)
class Street:
    """A street, town or township, or a development zone/park: the unit an enterprise ledger is kept for."""

    code: str  # 9 digits
    name: str
    kind: str
    district_code: str
    level: str | None = None  # for development zones: "national" | "provincial"


@dataclass(frozen=True)
class District:
    code: str  # 6 digits
    name: str
    kind: str  # "district" | "functional_zone"
    streets: tuple[Street, ...]
    note: str | None = None


@dataclass(frozen=True)
class Territory:
    code: str
    name: str
    districts: tuple[District, ...]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_districts", {d.code: d for d in self.districts})
        object.__setattr__(self, "_streets", {s.code: s for d in self.districts for s in d.streets})

    def district(self, code: str) -> District | None:
        return self._districts.get(code)  # type: ignore[attr-defined]

    def street(self, code: str) -> Street | None:
        return self._streets.get(code)  # type: ignore[attr-defined]

    def streets(self) -> Iterator[Street]:
        for district in self.districts:
            yield from district.streets

    def district_by_name(self, name: str) -> District | None:
        name = name.strip()
        for district in self.districts:
            if name in (district.name, district.code):
                return district
        return None

    def street_by_name(self, district_code: str, name: str) -> Street | None:
        """A street of the district, found by its name or code (names repeat across districts)."""
        district = self.district(district_code)
        if district is None:
            return None
        name = name.strip()
        for street in district.streets:
            if name in (street.name, street.code):
                return street
        return None

    def name_of(self, code: str) -> str | None:
        if code == self.code:
            return self.name
        found = self.district(code) or self.street(code)
        return found.name if found is not None else None


def _parse(raw: dict) -> Territory:
    city = str(raw["code"])
    if len(city) != 6 or not city.isdigit():
        raise ValueError(f"territory code {city!r} must be a 6-digit GB/T 2260 code")
    districts, seen = [], set()
    for d in raw["districts"]:
        code = str(d["code"])
        if len(code) != 6 or not code.isdigit() or code[:4] != city[:4] or d["kind"] not in DISTRICT_KINDS:
            raise ValueError(f"district {code!r} ({d.get('name')}) must be 6 digits under {city[:4]} "
                             f"and of kind {'/'.join(DISTRICT_KINDS)}")
        streets = []
        for s in d["streets"]:
            scode = str(s["code"])
            if len(scode) != 9 or not scode.isdigit() or not scode.startswith(code) or s["kind"] not in STREET_KINDS:
                raise ValueError(f"street {scode!r} ({s.get('name')}) must be 9 digits under {code} "
                                 f"and of kind {'/'.join(STREET_KINDS)}")
            if scode in seen:
                raise ValueError(f"code {scode} appears twice")
            seen.add(scode)
            streets.append(Street(scode, s["name"], s["kind"], code, s.get("level")))
        if code in seen:
            raise ValueError(f"code {code} appears twice")
        seen.add(code)
        districts.append(District(code, d["name"], d["kind"], tuple(streets), d.get("note")))
    return Territory(city, raw["name"], tuple(districts), raw.get("source", ""))


@lru_cache(maxsize=8)
def _load(path: str | None) -> Territory:
    return _parse(read_json(path, DEFAULT_TERRITORY_FILE))


def load_territory(path: str | Path | None = None) -> Territory:
    """The territory in ``path`` (a JSON file of the bundled file's shape); by default the one
    CAMPAIGN_TERRITORY_FILE names (another city, every service alike), else the 2016 city."""
    if path is None:
        path = get_settings().territory_file
    return _load(str(path) if path is not None else None)
