"""Membership reads only the location keys of registry's EntityRegistered, and checks them."""

import uuid

import pytest

from membership.handlers.entity_projection import entity_location


def payload(**changes):
    base = {"entity_id": f"entity-{uuid.uuid4()}", "kind": "non_public_enterprise", "district_code": "420102",
            "street_code": "420102001", "name": "ignored", "uscc": "ignored"}
    return base | changes


def test_only_location_keys_are_kept():
    row = entity_location(payload())
    assert set(row) == {"entity_id", "kind", "district_code", "street_code"}


@pytest.mark.parametrize("changes", [{"district_code": "4201"}, {"street_code": "42010200"},
                                     {"entity_id": "org-1"}, {"district_code": 420102}])
def test_malformed_locations_raise(changes):
    with pytest.raises(ValueError):
        entity_location(payload(**changes))


def test_missing_district_raises_key_error():
    body = payload()
    del body["district_code"]
    with pytest.raises(KeyError):
        entity_location(body)
