#!/usr/bin/env bash
# Install everything and start the dashboard on the bundled demo data (built on first start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/python -m streamlit run dashboard.py "$@"
