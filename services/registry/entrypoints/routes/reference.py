"""Reference data: the territory, departments, industries and the campaign calendar."""

from dataclasses import asdict

from fastapi import APIRouter

from platform_core.reference import load_calendar, load_departments, load_industries
from registry.domain.vocabulary import KINDS, SUBTYPES
from registry.entrypoints.deps import Service

router = APIRouter(prefix="/reference", tags=["reference"])


@router.get("/territory")
def territory(registry: Service) -> dict:
    """The city, its districts and functional zones, streets/townships and development zones/parks."""
    t = registry.territory
    return {"code": t.code, "name": t.name, "source": t.source,
            "districts": [{"code": d.code, "name": d.name, "kind": d.kind, "note": d.note,
                           "streets": [asdict(s) for s in d.streets]} for d in t.districts]}


@router.get("/departments")
def departments() -> dict:
    """Department kinds with their scopes, and the city's supervising units (业务主管单位)."""
    directory = load_departments()
    return {"departments": [asdict(d) for d in directory.departments.values()],
            "supervising_departments": directory.supervising_departments}


@router.get("/vocabulary")
def vocabulary() -> dict:
    """Kinds, subtypes and industries with their Chinese names."""
    return {"kinds": KINDS, "subtypes": SUBTYPES,
            "industries": {code: item.name for code, item in load_industries().items()}}


@router.get("/calendar")
def calendar() -> dict:
    """The campaign calendar (R10) and the semi-monthly report deadlines (R11)."""
    cal = load_calendar()
    return {**asdict(cal), "report_deadlines": cal.report_deadlines()}
