"""The levels rates are shown at (R7): city, district, street/zone, kind, department."""

from collections.abc import Callable

from .status import EntityStatus

DIMENSIONS: dict[str, Callable[[EntityStatus], str]] = {
    "city": lambda s: "city",
    "district": lambda s: s.district_code,
    "street": lambda s: s.street_code,
    "kind": lambda s: s.kind,
    "department": lambda s: s.department,
}
