"""The reporting app (API + dashboard) over a scratch schema, for the browser tests:
``uvicorn --factory dashboard_e2e_app:app`` with DASHBOARD_E2E_SCHEMA and DASHBOARD_E2E_TOPIC set."""

import os

from platform_core.contracts import event_types_for
from platform_core.db import create_db_engine
from platform_core.event_store import EventStore
from platform_core.service import ServiceContext, service_migrations
from platform_core.settings import get_settings
from reporting.entrypoints.http import create_app


def app():
    settings = get_settings()
    schema = os.environ["DASHBOARD_E2E_SCHEMA"]
    engine = create_db_engine(settings.database_url, pool_size=2)
    store = EventStore(engine, schema, os.environ["DASHBOARD_E2E_TOPIC"], event_types_for("reporting"),
                       settings.max_payload_bytes)
    return create_app(ServiceContext(schema, settings, engine, store, service_migrations("reporting")))
