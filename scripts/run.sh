#!/usr/bin/env bash
# The README's first command: install what is missing, start Kafka, PostgreSQL and the services.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
python3 deploy/stack.py up
scripts/services.sh start
echo
echo "The platform is running:"
scripts/services.sh urls
echo "Stop it with: make stop   (services)   and   make down   (Kafka and PostgreSQL)"
