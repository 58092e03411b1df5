#!/usr/bin/env bash
# The README's second command: install what is missing, start the real stack, run every test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
python3 deploy/stack.py up
eval "$(python3 deploy/stack.py env)"
if ! command -v docker-compose >/dev/null; then
  echo "test: installing docker-compose (parses docker-compose.yml; no engine needed)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null) \
    || echo "test: could not install docker-compose; its test will fail with the reason" >&2
fi
.venv/bin/campaign topics
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
