#!/usr/bin/env python3
"""Local stack manager: a private Kafka broker (or a cluster of them) and a private PostgreSQL cluster (and its
streaming-replication standby).

Usage: python3 deploy/stack.py up [--brokers N] [--pg-standby|--pg-sync-standby]|down|status|env [--process NAME]|
       compose|promote

The parts live in the ``deploy/stack/`` package (settings, Kafka, PostgreSQL, secrets, the CLI); this
file is the entry point. Standard library only: it runs before any virtualenv exists.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Re-exported for tools that load this file by path (platform_core.local_processes.stack_module).
from stack.cli import main  # noqa: E402
from stack.compose import service_secrets  # noqa: E402,F401
from stack.environment import CREDENTIAL_VARIABLES, local_placement, process_environment  # noqa: E402,F401
from stack.kafka_access import KAFKA_ACCESS  # noqa: E402,F401
from stack.kafka_auth import admin_login  # noqa: E402,F401
from stack.kafka import kafka_pid  # noqa: E402,F401
from stack.kafka_config import server_properties  # noqa: E402,F401
from stack.kafka_probe import kafka_api_versions, kafka_is_healthy, kafka_metadata_brokers  # noqa: E402,F401
from stack.postgres import find_pg_bindir, pg_down, pg_is_healthy, pg_up, postmaster_pid  # noqa: E402,F401
from stack.postgres_access import hba_conf  # noqa: E402,F401
from stack.postgres_standby import promote, replication_settings, replication_state  # noqa: E402,F401
from stack.processes import PROCESSES, db_roles  # noqa: E402,F401
from stack.settings import NODE_PORT_STEP, Settings, StackError, load_settings  # noqa: E402,F401
from stack.system import process_cmdline  # noqa: E402,F401
from stack.token_keys import token_key_files  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
