"""The simulated city's two-new entities: kinds, sizes, industries, members found, flags (pure).

Mixes follow docs/rules.md and the plan: most enterprises are small, a tail
has >= 50 and >= 100 employees (R2b, R2); some internet and cultural-creative
firms; social organizations at city level (some with a supervising unit) and
district level; rural entities in towns and townships; a few percent shell,
zombie and shadow enterprises (a shadow re-registers a real enterprise's name,
address and legal representative with small changes).
"""

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from platform_core.reference import Territory

from . import identifiers, names

KIND_WEIGHTS = (("non_public_enterprise", 80), ("social_organization", 14), ("rural_entity", 6))
ENTERPRISE_SUBTYPES = (("private", 85), ("foreign_invested", 4), ("hmt_invested", 3), ("joint_stock", 5), ("other", 3))
SOCIAL_SUBTYPES = (("social_group", 35), ("private_school", 20), ("private_hospital", 8), ("law_firm", 10),
                   ("accounting_firm", 6), ("tax_firm", 3), ("other", 18))
RURAL_SUBTYPES = (("farmers_cooperative", 60), ("family_farm", 30), ("other", 10))
ENTERPRISE_INDUSTRIES = (("manufacturing", 16), ("wholesale_retail", 22), ("construction", 8),
                         ("transport_logistics", 6), ("hospitality", 8), ("internet", 4), ("software_it", 6),
                         ("finance", 2), ("real_estate", 4), ("business_services", 10), ("research_technology", 4),
                         ("cultural_creative", 3), ("other", 7))
SOCIAL_INDUSTRY = {"social_group": "social_services", "private_school": "education",
                   "private_hospital": "health_social_work", "law_firm": "legal_services",
                   "accounting_firm": "accounting_tax_services", "tax_firm": "accounting_tax_services",
                   "other": "social_services"}
SUPERVISOR_BY_SUBTYPE = {"private_school": "education", "private_hospital": "health", "law_firm": "justice",
                         "accounting_firm": "finance", "tax_firm": "tax"}
OTHER_SUPERVISORS = ("commerce", "economy_it", "federation_commerce", "science_association", "culture", "sports",
                     "tourism", "construction", "transport", "agriculture", "social_science_federation")
RURAL_STREET_KINDS = ("town", "township")
SHELL_RATE, ZOMBIE_RATE, SHADOW_RATE = 0.02, 0.02, 0.015
LATE_FOUND_RATE = 0.02  # entities found only after the survey (supplementary ledgers)


@dataclass(frozen=True)
class Entity:
    """One entity as the survey records it (附表1/附表2 facts), plus what the campaign will reveal about it."""

    key: str  # the simulator's own id, e.g. E000042
    index: int
    kind: str
    subtype: str
    name: str
    uscc: str
    district_code: str
    street_code: str
    level: str | None
    supervising_department: str | None
    industry: str
    employees: int
    above_scale: bool
    formal_members: int
    probationary_members: int
    operation_status: str
    party_organization: str  # as found in the survey: none / standalone / joint
    person_in_charge: str
    person_in_charge_is_member: bool
    legal_representative: str
    address: str
    no_organization_reason: str | None
    flag: str | None = None  # shell / zombie / shadow: what market regulation will find
    duplicate_of: str | None = None  # the key a shadow duplicates
    surveyed_on: date = date(2016, 8, 20)
    late_found: bool = False  # registered after the survey, in a supplementary ledger
    public_sector_staffed: bool | None = None  # social organizations: staffed mainly by 机关事业单位人员 (R5)

    @property
    def ledger_unit(self) -> str:
        """The unit whose ledger holds it (registry docs: units and ledgers)."""
        if self.kind != "social_organization":
            return f"district-{self.district_code}-enterprise"
        if self.level == "district":
            return f"district-{self.district_code}-social"
        return "city-organs" if self.supervising_department else "civil-affairs"

    def facts(self) -> dict:
        """The registration command's body (POST /entities)."""
        return {"kind": self.kind, "subtype": self.subtype, "uscc": self.uscc, "name": self.name,
                "street_code": self.street_code, "level": self.level,
                "supervising_department": self.supervising_department, "industry": self.industry,
                "employees": self.employees, "above_scale": self.above_scale, "formal_members": self.formal_members,
                "probationary_members": self.probationary_members, "operation_status": self.operation_status,
                "party_organization": self.party_organization, "person_in_charge": self.person_in_charge,
                "person_in_charge_is_member": self.person_in_charge_is_member,
                "legal_representative": self.legal_representative, "address": self.address,
                "no_organization_reason": self.no_organization_reason,
                "public_sector_staffed": self.public_sector_staffed}


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def employees_of(rng: random.Random, kind: str, subtype: str) -> int:
    """Most entities are small; a tail is large (R2b >= 50, R2 >= 100 for enterprises; >= 30 for schools)."""
    roll = rng.random()
    if kind == "rural_entity":
        return rng.randint(2, 40)
    if kind == "social_organization":
        if subtype in ("private_school", "private_hospital"):
            return rng.randint(8, 29) if roll < 0.55 else rng.randint(30, 400)
        return rng.randint(1, 15) if roll < 0.8 else rng.randint(16, 120)
    if roll < 0.62:
        return rng.randint(1, 19)
    if roll < 0.84:
        return rng.randint(20, 49)
    if roll < 0.93:
        return rng.randint(50, 99)
    if roll < 0.985:
        return rng.randint(100, 499)
    return rng.randint(500, 5000)


def members_of(rng: random.Random, employees: int) -> tuple[int, int]:
    """Formal and probationary members found: mostly 0-2, some >= 3, more in larger entities."""
    scale = 1 + employees / 60
    roll = rng.random() / min(scale, 4)
    if roll < 0.10:
        formal = rng.randint(3, 3 + int(min(employees, 3000) / 40))
    elif roll < 0.22:
        formal = 2
    elif roll < 0.42:
        formal = 1
    else:
        formal = 0
    formal = min(formal, employees)
    probationary = 1 if rng.random() < 0.08 and formal < employees else 0
    return formal, probationary


def _district_weights(territory: Territory) -> list[tuple[str, int]]:
    return [(d.code, len(d.streets) * (3 if d.kind == "functional_zone" and len(d.streets) > 5 else 2))
            for d in territory.districts]


def generate_entities(rng: random.Random, territory: Territory, count: int, run_tag: str) -> list[Entity]:
    """``count`` entities (shadows included), in a fixed order."""
    city = territory.name.removesuffix("市")
    weights = tuple(_district_weights(territory))
    rural_streets = [s for s in territory.streets() if s.kind in RURAL_STREET_KINDS] or list(territory.streets())
    entities: list[Entity] = []
    shadows = int(count * SHADOW_RATE)
    for index in range(count - shadows):
        entities.append(_entity(rng, territory, index, weights, rural_streets, city, run_tag))
    enterprises = [e for e in entities if e.kind == "non_public_enterprise" and e.flag is None and not e.late_found]
    for n in range(shadows):
        original = enterprises[rng.randrange(len(enterprises))]
        entities.append(_shadow(rng, original, len(entities), run_tag))
    return entities


def _entity(rng, territory, index, weights, rural_streets, city, run_tag) -> Entity:
    kind = pick(rng, KIND_WEIGHTS)
    if kind == "rural_entity":
        street = rural_streets[rng.randrange(len(rural_streets))]
        district = territory.district(street.district_code)
    else:
        district = territory.district(pick(rng, weights))
        street = district.streets[rng.randrange(len(district.streets))]
    level = supervisor = None
    if kind == "non_public_enterprise":
        subtype, industry = pick(rng, ENTERPRISE_SUBTYPES), pick(rng, ENTERPRISE_INDUSTRIES)
        name = names.enterprise_name(index, industry, city)
        prefix = identifiers.USCC_PREFIX[kind]
    elif kind == "social_organization":
        subtype = pick(rng, SOCIAL_SUBTYPES)
        industry = SOCIAL_INDUSTRY[subtype]
        level = "city" if rng.random() < 0.15 else "district"
        if level == "city" and rng.random() < 0.6:
            supervisor = SUPERVISOR_BY_SUBTYPE.get(subtype) or rng.choice(OTHER_SUPERVISORS)
        name = names.social_name(index, subtype, city, district.name, level)
        prefix = identifiers.USCC_PREFIX.get(subtype, identifiers.USCC_PREFIX["other_social"])
    else:
        subtype, industry = pick(rng, RURAL_SUBTYPES), "agriculture"
        name = names.rural_name(index, subtype, street.name)
        prefix = identifiers.USCC_PREFIX[kind]
    employees = employees_of(rng, kind, subtype)
    formal, probationary = members_of(rng, employees)
    organization = "none"
    if formal >= 3 and rng.random() < 0.45:
        organization = "standalone"
    elif 0 < formal < 3 and rng.random() < 0.25:
        organization = "joint"
    flag, status = None, "operating" if rng.random() < 0.95 else "suspended"
    if kind == "non_public_enterprise" and organization == "none":
        roll = rng.random()
        if roll < SHELL_RATE:
            flag, employees, formal, probationary = "shell", rng.randint(0, 2), 0, 0
        elif roll < SHELL_RATE + ZOMBIE_RATE:
            flag, status, formal, probationary = "zombie", "dormant", 0, 0
    charge = names.person(rng)
    staffed = None
    if kind == "social_organization":  # R5: mostly associations close to government organs (市级, supervised)
        staffed = rng.random() < (0.35 if level == "city" and supervisor else 0.08)
    return Entity(
        key=f"E{index:06d}", index=index, kind=kind, subtype=subtype, name=name,
        uscc=identifiers.uscc(prefix, district.code, run_tag, index), district_code=district.code,
        street_code=street.code, level=level, supervising_department=supervisor, industry=industry,
        employees=employees, above_scale=kind == "non_public_enterprise" and (employees >= 100 or rng.random() < 0.03),
        formal_members=formal, probationary_members=probationary, operation_status=status,
        party_organization=organization, person_in_charge=charge,
        person_in_charge_is_member=formal > 0 and rng.random() < 0.3, legal_representative=charge,
        address=names.address(rng, district.name, street.name),
        no_organization_reason=rng.choice(names.REASONS) if organization == "none" else None,
        flag=flag, surveyed_on=date(2016, 8, 17) + timedelta(days=rng.randint(0, 9)),
        late_found=flag is None and rng.random() < LATE_FOUND_RATE, public_sector_staffed=staffed)


def _shadow(rng: random.Random, original: Entity, index: int, run_tag: str) -> Entity:
    """A second registration of ``original``: the same business with a slightly different name."""
    name = original.name.replace("有限公司", rng.choice(("有限责任公司", "股份有限公司", "公司")))
    return replace(original, key=f"E{index:06d}", index=index, name=name,
                   uscc=identifiers.uscc(identifiers.USCC_PREFIX["non_public_enterprise"], original.district_code,
                                         run_tag, index),
                   flag="shadow", duplicate_of=original.key, party_organization="none",
                   no_organization_reason=original.no_organization_reason or "党员组织关系不在本单位",
                   late_found=False)
