"""The reporting app (API + dashboard) over a scratch schema, for the browser tests:
``uvicorn --factory dashboard_e2e_app:app`` with DASHBOARD_E2E_SCHEMA and DASHBOARD_E2E_TOPIC set."""

import os

from platform_core.contracts import event_types_for
from platform_core.service import bootstrap_service
from reporting.entrypoints.http import create_app


def app():
    return create_app(bootstrap_service("reporting", event_types_for("reporting"), pool_size=2,
                                        schema=os.environ["DASHBOARD_E2E_SCHEMA"],
                                        topic=os.environ["DASHBOARD_E2E_TOPIC"]))
