"""工商联's member enterprises as a segment with its own rate (三(二): 确保会员企业党组织覆盖率达标): the latest
list of each territory counts, its parts together; an older submission arriving late changes nothing."""

from reporting.domain.fold import CampaignState
from reporting.domain.rates import aggregate, rates
from reporting.domain.status import derive_status


def register(state: CampaignState, entity: str) -> None:
    state.apply("EntityRegistered", {
        "entity_id": entity, "name": entity, "kind": "non_public_enterprise", "subtype": "private",
        "district_code": "420102", "street_code": "420102001", "industry": "other", "employees": 10,
        "formal_members": 0, "probationary_members": 0, "party_organization": "none"})
    state.apply("LedgerApproved", {"unit": "street-420102001", "entity_ids": [entity]})


def federation_list(state: CampaignState, submission: int, members: list[str], part: int = 1, parts: int = 1,
                    territory: str | None = None, department: str = "federation_commerce") -> None:
    state.apply("VerificationListImported", {
        "department": department, "territory": territory, "submission": submission, "part": part,
        "parts": parts, "member_entity_ids": members})


def segment(state: CampaignState):
    statuses = [derive_status(e, i) for e, i in state.all_inputs().items()]
    city = aggregate(statuses, lambda _: "city")["city"]
    return city.federation_members, city.federation_members_covered, rates(city)["federation_member_coverage"]


def test_the_latest_list_of_each_territory_counts_with_all_its_parts():
    state = CampaignState()
    for entity in ("a", "b", "c", "d"):
        register(state, entity)
    federation_list(state, 1, ["a", "b", "c"])
    federation_list(state, 2, ["a"], part=1, parts=2)
    federation_list(state, 2, ["b"], part=2, parts=2)  # c is no longer a member
    federation_list(state, 1, ["d"], territory="420103")  # another territory's list counts beside it
    federation_list(state, 1, ["c"])  # a stale submission arriving late: ignored
    federation_list(state, 9, ["c"], department="commerce")  # another department's list: no members
    state.apply("OrganizationFormed", {"organization_id": "organization-1", "mode": "standalone", "entity_ids": ["a"]})
    members, covered, rate = segment(state)
    assert (members, covered) == (3, 1)
    assert rate.as_dict() == {"numerator": 1, "denominator": 3, "percent": "33.33"}


def test_no_list_no_rate():
    state = CampaignState()
    register(state, "a")
    assert segment(state)[2].percent is None
