"""The one list of services (platform_core.services) names every service and what wires it; the shared
library reaches a service only through it, and the services read their configuration through settings."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from platform_core.contracts import CONTRACTS
from platform_core.services import EVENT_TOPICS, SERVICE_NAMES, SERVICES, load_bootstrap, service, service_topic

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


def test_every_package_with_a_schema_of_its_own_is_listed():
    with_migrations = {p.parent.name for p in SERVICES_DIR.glob("*/migrations")} - {"platform_core"}
    assert with_migrations == set(SERVICE_NAMES)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_table_names_a_bootstrap_that_wires_the_service(name):
    bootstrap = load_bootstrap(name)
    assert bootstrap.__name__ == service(name).bootstrap
    assert callable(bootstrap.build_context)


def test_every_service_has_a_contract_a_topic_and_a_port_of_its_own():
    assert set(CONTRACTS) == set(SERVICE_NAMES)
    assert EVENT_TOPICS == tuple(f"{name}.events" for name in SERVICE_NAMES) == tuple(map(service_topic, SERVICE_NAMES))
    assert len({s.default_port for s in SERVICES}) == len(SERVICES)


def test_an_unknown_service_is_refused():
    with pytest.raises(ValueError, match="unknown service 'audit'"):
        load_bootstrap("audit")


def test_the_list_needs_nothing_but_the_standard_library():
    """deploy/stack.py and scripts/services.sh read it with the system's Python, before any virtualenv."""
    code = (f"import sys; sys.path.insert(0, {str(SERVICES_DIR)!r}); "
            "from platform_core.services import SERVICE_NAMES; print(' '.join(SERVICE_NAMES))")
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == list(SERVICE_NAMES)


def test_no_module_is_imported_by_a_name_built_at_run_time():
    built = re.compile(r"import_module\(\s*f[\"']")
    offenders = [str(p.relative_to(SERVICES_DIR)) for p in SERVICES_DIR.rglob("*.py") if built.search(p.read_text())]
    assert offenders == []


def test_services_read_the_environment_through_settings_only():
    raw = re.compile(r"os\.environ\.get\(|os\.environ\[|os\.getenv\(")
    offenders = [str(p.relative_to(SERVICES_DIR)) for p in SERVICES_DIR.rglob("*.py") if raw.search(p.read_text())]
    assert offenders == []
