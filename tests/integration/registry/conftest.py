"""Registry API tests: each module gets its own registry app on a fresh schema and topic (registry_api_support)."""

from registry_api_support import client, isolated, schema  # noqa: F401 (fixtures)
