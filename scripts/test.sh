#!/usr/bin/env bash
# Install everything the tests need (Python packages and Debian's chromium for the browser
# tests) and run the whole suite: unit, AppTest and end-to-end browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
bash scripts/setup.sh requirements-dev.txt
.venv/bin/python -m ruff check .
# One pytest worker per core (pytest-xdist); a test file stays on one worker, so its module
# fixtures (AppTest pages, demo copies) are built once. LANTERNA_TEST_WORKERS=0 runs in one process.
exec .venv/bin/python -m pytest -n "${LANTERNA_TEST_WORKERS:-auto}" --dist loadfile "$@"
