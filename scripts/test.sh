#!/usr/bin/env bash
# The README's second command: install what is missing, start the real stack, run every test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
python3 deploy/stack.py up
eval "$(python3 deploy/stack.py env)"
# OS packages the tests use: docker-compose parses docker-compose.yml (no engine needed);
# a real Prometheus scrapes the services; pdftoppm turns a bulletin PDF into an image; headless
# Chromium drives the dashboard.
scripts/os-packages.sh docker-compose prometheus poppler-utils chromium
# The operator's environment (the owner role, the Kafka admin): topics, schemas and grants first.
.venv/bin/campaign topics
.venv/bin/campaign migrate
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
