"""Paths and settings, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
TERRITORIES_DIR = DATA_DIR / "territories"
NATIONAL_DIR = DATA_DIR / "national"

DEFAULT_TERRITORY = os.environ.get("LANTERNA_TERRITORY", "massa-carrara")

#: Finest H3 resolution stored for every layer (issue: "no finer than resolution 10").
STORE_RES = 10
#: Resolutions the dashboard and the analyses roll up to.
VIEW_RESOLUTIONS = (7, 8, 9, 10)

#: Minimum published cell frequency: Italian statistical ethics rules (Sistan code of conduct)
#: set three as the threshold under which aggregate counts are suppressed.
SUPPRESSION_THRESHOLD = int(os.environ.get("LANTERNA_SUPPRESSION_THRESHOLD", "3"))

#: Upload limit for importers (bytes). Larger files are refused before parsing.
MAX_IMPORT_BYTES = int(os.environ.get("LANTERNA_MAX_IMPORT_BYTES", str(200 * 1024 * 1024)))

DEMO_SEED = 20170220  # date of D.L. 14/2017, so that every demo build is the same


def db_path(territory: str | None = None) -> Path:
    """Path of the DuckDB file for a territory (``LANTERNA_DB`` overrides it)."""
    env = os.environ.get("LANTERNA_DB")
    if env:
        return Path(env)
    # A territory given by path ("data/territories/bergamo", "/srv/bg") names its file by its folder.
    name = Path(str(territory or DEFAULT_TERRITORY).rstrip("/")).name
    return DATA_DIR / f"lanterna_{name}.duckdb"


def secrets_file() -> Path:
    """File of the audit and session keys (``LANTERNA_SECRETS_FILE``; created on first use with
    owner-only permissions, see :mod:`geo.access.keys`)."""
    env = os.environ.get("LANTERNA_SECRETS_FILE")
    return Path(env) if env else DATA_DIR / "secrets" / "lanterna_keys.json"


def anchor_file(database: Path) -> Path:
    """Append-only file of the audit-chain anchors of ``database`` (``LANTERNA_AUDIT_ANCHORS``;
    by default beside the database, ``<file>.anchors``; better on storage the database's writers
    cannot rewrite, see docs/AUTH.md)."""
    env = os.environ.get("LANTERNA_AUDIT_ANCHORS")
    return Path(env) if env else Path(str(database) + ".anchors")


def trusted_proxies() -> tuple[str, ...]:
    """Addresses or networks (CIDR) of the reverse proxies whose ``X-Forwarded-For`` header is
    believed (``LANTERNA_TRUSTED_PROXIES``, comma-separated; none by default)."""
    return tuple(p.strip() for p in os.environ.get("LANTERNA_TRUSTED_PROXIES", "").split(",") if p.strip())
