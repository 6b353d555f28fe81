#!/usr/bin/env bash
# Create .venv and install the pinned Python dependencies. Used by run.sh and test.sh.
# On Debian/Ubuntu the venv module comes with the python3-venv package: installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "${1:-requirements.txt}"
# The dossier's PDF (WeasyPrint) needs Pango; the dashboard works without it (HTML only).
if ! ldconfig -p 2>/dev/null | grep "libpangoft2-1.0.so.0" >/dev/null; then  # no -q: no SIGPIPE under pipefail
  { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; } \
    || echo "Pango non installato: il dossier si scarica in HTML, non in PDF." >&2
fi
