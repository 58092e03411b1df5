"""The platform's services, from their one list: services/platform_core/services.py (standard library
only, so this runs before any virtualenv exists)."""

import sys
from pathlib import Path

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
if str(SERVICES_DIR) not in sys.path:
    sys.path.append(str(SERVICES_DIR))

from platform_core.services import EVENT_TOPICS, SERVICE_NAMES, SERVICES  # noqa: E402

__all__ = ["EVENT_TOPICS", "SERVICE_NAMES", "SERVICES"]
