"""The deployed registry app (its real schema ``registry``): OpenAPI and one command end to end."""

import pytest
from fastapi.testclient import TestClient
from registry_api_support import enterprise, token

from registry.entrypoints.http import app

pytestmark = pytest.mark.integration


def test_the_real_app_serves_docs_and_registers():
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 200
        response = client.post("/entities", json=enterprise(street_code="420106011"),
                               headers=token("district_org", "420106"))
        assert response.status_code == 201, response.text
        entity_id = response.json()["entity_id"]
        assert client.get(f"/entities/{entity_id}/history", headers=token("inspector")).json()[0]["type"] == \
            "EntityRegistered"
