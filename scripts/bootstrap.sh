#!/usr/bin/env bash
# Create .venv and install the pinned requirements; reinstalls only when requirements.lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null; then
  echo "bootstrap: $PYTHON not found; install Python 3.11 or newer" >&2; exit 1
fi
# The CJK font renders Chinese in bulletin charts and PDFs.
scripts/os-packages.sh fonts-wqy-zenhei openssl  # openssl: deploy/stack.py makes the token keys with it
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
have=$(cat .venv/.installed 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "bootstrap: installing pinned packages (requirements.lock)"
  .venv/bin/pip install --disable-pip-version-check -q -r requirements.lock \
    || { echo "bootstrap: pip install failed: is PyPI reachable?" >&2; exit 1; }
  .venv/bin/pip install --disable-pip-version-check -q --no-deps -e .
  echo "$want" > .venv/.installed
fi
