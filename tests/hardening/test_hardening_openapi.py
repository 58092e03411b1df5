"""Schemathesis against every service's OpenAPI, in-process (ASGI), as a city and a district department.

Checks: no 5xx for any generated input (valid or not), and every status code and body the
service answers with is one its OpenAPI declares. Seeded and bounded so CI is deterministic."""

import itertools
import os

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                              status_code_conformance)

from hardening_apps import SERVICES, build_scratch_app, drop, prepare, scratch_context
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from signer_process import reporting_asks, running_signer

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("HARDENING_MAX_EXAMPLES", "25"))
PRINCIPALS = (
    Principal(department="city_org", kind="city_org", user="hardening-city"),
    Principal(department="district_org:420102", kind="district_org", user="hardening-district", territory="420102"),
)


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": int(os.environ.get("HARDENING_SEED", "20160601")),
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "mode": "all"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    })


TURN = itertools.count()
CONTEXTS = {service: scratch_context(service) for service in SERVICES}
APPS = {service: build_scratch_app(service, CONTEXTS[service]) for service in SERVICES}


@pytest.fixture(scope="module", autouse=True)
def scratch_schemas(tmp_path_factory):
    """The lifespan's work (the ASGI transport does not run it) on each scratch schema; dropped afterwards.
    POST /audit/checkpoints asks a real signer of the scratch log."""
    for service in SERVICES:
        prepare(service, CONTEXTS[service])
    with running_signer(tmp_path_factory.mktemp("signer"), "campaign.example/hardening/audit") as signer, \
            reporting_asks(signer):
        yield
    for context in CONTEXTS.values():
        drop(context)


@pytest.fixture(scope="module")
def tokens() -> list[str]:
    issuer = issuer_from_settings()
    return [issuer.issue(principal) for principal in PRINCIPALS]


def _loaded(service: str):
    schema = schemathesis.openapi.from_asgi("/openapi.json", APPS[service], config=_config())
    if service == "reporting":
        # Publishing a bulletin replays every topic up to its cutoff (tens of seconds per call on a busy
        # broker); its bad inputs are covered case by case in test_hardening_requests.py.
        schema = schema.exclude(method="POST", path="/bulletins")
    return schema


@schemathesis.pytest.parametrize(**{service: _loaded(service) for service in SERVICES})
def test_no_server_error_and_conformant_responses(case, tokens):
    if case.path == "/rates" and case.query:
        case.query.pop("as_of", None)  # a full replay per call, as for bulletins; covered in test_hardening_requests.py
    # Cases alternate between the two departments (deterministic: generation is seeded), which halves the
    # requests; every operation still meets both, the district one with its territory refusals.
    token = tokens[next(TURN) % len(tokens)]
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
