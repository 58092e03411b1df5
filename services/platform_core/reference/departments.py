"""The departments of docs/rules.md, their Chinese names and scopes, and the city's supervising units."""

from dataclasses import dataclass
from functools import lru_cache

from ._files import read_json

SCOPES = ("city", "territory", "sector")


@dataclass(frozen=True)
class Department:
    kind: str  # the key of platform_core.auth.PERMISSIONS
    name: str
    scope: str  # "city": the whole city; "territory": a GB/T 2260 division; "sector": its sectors
    sectors: tuple[str, ...]
    duties: str


@dataclass(frozen=True)
class DepartmentDirectory:
    departments: dict[str, Department]
    supervising_departments: dict[str, str]  # code -> Chinese name (业务主管单位)

    def name_of(self, kind: str) -> str:
        found = self.departments.get(kind)
        return found.name if found is not None else kind


@lru_cache(maxsize=4)
def load_departments(path: str | None = None) -> DepartmentDirectory:
    raw = read_json(path, "departments.json")
    departments = {}
    for item in raw["departments"]:
        if item["scope"] not in SCOPES:
            raise ValueError(f"department {item['kind']}: scope must be one of {', '.join(SCOPES)}")
        departments[item["kind"]] = Department(item["kind"], item["name"], item["scope"],
                                               tuple(item.get("sectors", ())), item.get("duties", ""))
    supervising = {item["code"]: item["name"] for item in raw.get("supervising_departments", ())}
    return DepartmentDirectory(departments, supervising)
