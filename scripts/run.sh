#!/usr/bin/env bash
# Install everything and start the dashboard on the bundled demo data (built on first start).
# LANTERNA_TERRITORY picks the territory: a folder name under data/territories, a folder path, or
# any Italian province by sigla, ISTAT code or name (LANTERNA_TERRITORY=BG bash scripts/run.sh):
# its folder is made from the national data and its demo database built on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/python -m streamlit run dashboard.py "$@"
