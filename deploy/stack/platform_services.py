"""The platform's services, from their one list: services/platform_core/services.py (standard library
only, so this runs before any virtualenv exists)."""

import sys
from pathlib import Path

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
if str(SERVICES_DIR) not in sys.path:
    sys.path.append(str(SERVICES_DIR))

from platform_core.intake.departments import IntakeDepartment, load_intake_departments  # noqa: E402
from platform_core.services import EVENT_TOPICS, INTAKE_SERVICES, SERVICE_NAMES, SERVICES  # noqa: E402

# The departments' systems on the Kafka intake: the bundled table (deploy/stack gives their principals
# their credentials and ACLs; another table is another deployment's configuration).
INTAKE_DEPARTMENTS = load_intake_departments()

__all__ = ["EVENT_TOPICS", "INTAKE_DEPARTMENTS", "INTAKE_SERVICES", "IntakeDepartment", "SERVICE_NAMES",
           "SERVICES"]
