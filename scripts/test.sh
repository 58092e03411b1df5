#!/usr/bin/env bash
# The README's second command: install what is missing, start the real stack, run every test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
python3 deploy/stack.py up
eval "$(python3 deploy/stack.py env)"
# OS packages the tests use: docker-compose parses docker-compose.yml (no engine needed);
# a real Prometheus scrapes the services.
missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v prometheus >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing ${missing[*]} from the OS packages"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
     "${missing[@]}" >/dev/null) \
    || echo "test: could not install ${missing[*]}; the tests that need them fail with the reason" >&2
fi
.venv/bin/campaign topics
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
