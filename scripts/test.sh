#!/usr/bin/env bash
# The README's second command: install what is missing, start the real stack, run every test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# The tests write permanent data (append-only event stores, the audit log) and kill the broker and the
# database: they run on a stack of their own (its run dir and ports), never on the one scripts/run.sh
# started for a user, whose demo figures would otherwise count the tests' entities.
export CAMPAIGN_RUN_DIR=${CAMPAIGN_TEST_RUN_DIR:-$PWD/.run/test-stack}
export CAMPAIGN_KAFKA_PORT=${CAMPAIGN_TEST_KAFKA_PORT:-39192}
export CAMPAIGN_KAFKA_CONTROLLER_PORT=${CAMPAIGN_TEST_KAFKA_CONTROLLER_PORT:-39193}
export CAMPAIGN_PG_PORT=${CAMPAIGN_TEST_PG_PORT:-55442}
if [ -f .run/kafka/libs/.complete ] && [ ! -d "$CAMPAIGN_RUN_DIR/kafka/libs" ]; then
  mkdir -p "$CAMPAIGN_RUN_DIR/kafka" && cp -r .run/kafka/libs "$CAMPAIGN_RUN_DIR/kafka/"  # the same jars: not fetched twice
fi
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
