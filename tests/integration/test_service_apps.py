"""The four service skeletons on the real stack: health, readiness, metrics, error format."""

import pytest
from fastapi.testclient import TestClient

from platform_core.services import SERVICE_NAMES as SERVICES


@pytest.fixture(params=SERVICES)
def client(request):
    module = __import__(f"{request.param}.entrypoints.http", fromlist=["app"])
    with TestClient(module.app) as client:  # runs the lifespan: migrations first
        client.service = request.param
        yield client


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok", "service": client.service}


def test_readyz_reaches_database_and_kafka(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "workers": "ok", "kafka": "ok"}


def test_metrics_expose_request_and_outbox_series(client):
    client.get("/healthz")
    text = client.get("/metrics").text
    assert f'campaign_http_requests_total{{method="GET",route="/healthz",service="{client.service}",status="200"}}' in text
    assert f'campaign_outbox_backlog{{service="{client.service}"}}' in text


def test_own_schema_is_migrated(client):
    import sqlalchemy as sa

    engine = client.app.state.engine
    with engine.connect() as conn:
        tables = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": client.service}).scalars())
    assert {"events", "outbox", "idempotency_keys", "consumer_offsets", "schema_migrations"} <= tables


def test_oversized_request_is_413_naming_the_limit(client):
    response = client.post("/healthz", content=b"x" * (2 * 1024 * 1024),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_unknown_route_is_a_json_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"] == "http_error"
