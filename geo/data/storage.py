"""The one way in to Lanterna's DuckDB file: schema, transactions, writes and queries.

Every SQL statement of the project lives here; other modules and the pages call these functions.
One process owns the read-write file (DuckDB takes a file lock); inside it one connection is
shared and each thread works on its own cursor. A second writing process gets a clear Italian
error (:class:`StorageError`): multi-process deployments need a server database.

Cells are stored as BIGINT at resolution :data:`geo.config.STORE_RES` (10); the ``cells`` table
holds every resolution-10 cell of the territory with its parents (9, 8, 7), its comune and its
residents, so roll-ups are joins, not per-row H3 calls.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from geo import config

#: Version of the schema. 2 (issue 6) added accounts, the audit log and the report workflow
#: tables; 3 (issue 15) the keyed audit chain (``audit_log.key_id``), server-side login sessions
#: and throttling per client and per account; 4 (issue 14) the interventions register (art. 19); 5
#: (issue 18) the video-surveillance ``cameras`` layer. An older file opened for writing is migrated
#: in place (:data:`_MIGRATIONS`).
SCHEMA_VERSION = 5

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS comuni (
    pro_com_t VARCHAR PRIMARY KEY, nome VARCHAR NOT NULL, area_km2 DOUBLE, residenti INTEGER,
    anno_popolazione INTEGER, geometry_wkb BLOB);
CREATE TABLE IF NOT EXISTS cells (
    cell BIGINT PRIMARY KEY, r9 BIGINT NOT NULL, r8 BIGINT NOT NULL, r7 BIGINT NOT NULL,
    pro_com_t VARCHAR NOT NULL, residents DOUBLE NOT NULL DEFAULT 0, pop_method VARCHAR);
CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER PRIMARY KEY, layer VARCHAR NOT NULL, file_name VARCHAR, sha256 VARCHAR,
    rows_written INTEGER, rows_rejected INTEGER, mode VARCHAR, user_name VARCHAR,
    imported_at TIMESTAMP DEFAULT current_timestamp);
CREATE SEQUENCE IF NOT EXISTS import_seq START 1;
CREATE TABLE IF NOT EXISTS incidents (
    cell BIGINT NOT NULL, month DATE NOT NULL, category VARCHAR NOT NULL, time_band VARCHAR NOT NULL,
    outdoor BOOLEAN, count INTEGER NOT NULL, synthetic BOOLEAN NOT NULL, source VARCHAR,
    import_id INTEGER);
CREATE TABLE IF NOT EXISTS lighting (
    pl_id VARCHAR PRIMARY KEY, lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, cell BIGINT NOT NULL,
    pro_com_t VARCHAR, technology VARCHAR NOT NULL, power_w DOUBLE, height_m DOUBLE,
    status VARCHAR NOT NULL, year INTEGER, fixture VARCHAR, synthetic BOOLEAN NOT NULL,
    source VARCHAR, import_id INTEGER);
CREATE TABLE IF NOT EXISTS reports (
    report_id VARCHAR PRIMARY KEY, pro_com_t VARCHAR, lon DOUBLE NOT NULL, lat DOUBLE NOT NULL,
    cell BIGINT NOT NULL, area_wkt VARCHAR, category VARCHAR NOT NULL, severity INTEGER,
    status VARCHAR NOT NULL, opened DATE NOT NULL, closed DATE, description VARCHAR,
    synthetic BOOLEAN NOT NULL, source VARCHAR, import_id INTEGER);
CREATE TABLE IF NOT EXISTS schools (
    code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, level VARCHAR NOT NULL, pro_com_t VARCHAR,
    lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, cell BIGINT NOT NULL, students INTEGER,
    address VARCHAR, synthetic BOOLEAN NOT NULL, source VARCHAR, import_id INTEGER);
CREATE TABLE IF NOT EXISTS services (
    service_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, operator VARCHAR, types VARCHAR[] NOT NULL,
    hours VARCHAR, open_24h BOOLEAN, capacity INTEGER, public BOOLEAN, pro_com_t VARCHAR,
    lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, cell BIGINT NOT NULL, synthetic BOOLEAN NOT NULL,
    source VARCHAR, import_id INTEGER);
CREATE TABLE IF NOT EXISTS confiscated (
    id VARCHAR PRIMARY KEY, nome VARCHAR, tipologia VARCHAR, categoria VARCHAR, stato VARCHAR,
    destinazione VARCHAR, indirizzo VARCHAR, indirizzo_imprecisato BOOLEAN, pro_com_t VARCHAR,
    lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, cell BIGINT NOT NULL, source VARCHAR);
CREATE TABLE IF NOT EXISTS localities (
    id INTEGER PRIMARY KEY, nome VARCHAR, tipo VARCHAR, abitanti INTEGER, pro_com_t VARCHAR,
    lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, cell BIGINT NOT NULL, source VARCHAR);
CREATE TABLE IF NOT EXISTS roads (
    cell BIGINT NOT NULL, highway VARCHAR NOT NULL, length_m DOUBLE NOT NULL, import_id INTEGER);
CREATE TABLE IF NOT EXISTS crime_official (
    anno INTEGER NOT NULL, categoria VARCHAR NOT NULL, delitti INTEGER NOT NULL, fonte VARCHAR,
    PRIMARY KEY (anno, categoria));
CREATE TABLE IF NOT EXISTS crime_provinces (
    ref_area VARCHAR NOT NULL, territorio VARCHAR, anno INTEGER NOT NULL, delitti INTEGER,
    regione VARCHAR, popolazione INTEGER, tasso_per_1000 DOUBLE, PRIMARY KEY (ref_area, anno));
"""

#: Tables of schema version 2 (issue 6): local accounts and login throttling, the append-only
#: audit log (hash-chained, see :mod:`geo.access.audit`), the events (status changes, comments) and
#: photos of the degradation reports. Photos are stored as BLOBs: one file to back up, and a
#: photo is written in the same transaction as its report.
_DDL_V2 = """
CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY, display_name VARCHAR NOT NULL, role VARCHAR NOT NULL,
    comuni VARCHAR NOT NULL DEFAULT '', email VARCHAR, password_hash VARCHAR,
    active BOOLEAN NOT NULL DEFAULT true, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP,
    last_login TIMESTAMP);
CREATE TABLE IF NOT EXISTS login_throttle (
    username VARCHAR PRIMARY KEY, failures INTEGER NOT NULL, locked_until TIMESTAMP,
    last_failure TIMESTAMP NOT NULL);
CREATE SEQUENCE IF NOT EXISTS audit_seq START 1;
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id BIGINT PRIMARY KEY, logged_at TIMESTAMP NOT NULL, username VARCHAR NOT NULL, role VARCHAR,
    action VARCHAR NOT NULL, table_name VARCHAR NOT NULL, record_key VARCHAR, pro_com_t VARCHAR,
    before_json VARCHAR, after_json VARCHAR, prev_hash VARCHAR NOT NULL, entry_hash VARCHAR NOT NULL);
CREATE SEQUENCE IF NOT EXISTS report_event_seq START 1;
CREATE TABLE IF NOT EXISTS report_events (
    event_id BIGINT PRIMARY KEY, report_id VARCHAR NOT NULL, event_at TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL, role VARCHAR, kind VARCHAR NOT NULL, from_status VARCHAR,
    to_status VARCHAR, text VARCHAR);
CREATE SEQUENCE IF NOT EXISTS report_photo_seq START 1;
CREATE TABLE IF NOT EXISTS report_photos (
    photo_id BIGINT PRIMARY KEY, report_id VARCHAR NOT NULL, file_name VARCHAR, mime VARCHAR NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, size_bytes INTEGER NOT NULL, sha256 VARCHAR NOT NULL,
    data BLOB NOT NULL, uploaded_at TIMESTAMP NOT NULL, username VARCHAR NOT NULL);
"""

#: Tables of schema version 3 (issue 15): login sessions that survive a browser reload (only the
#: SHA-256 of a token's secret is stored) and failed-login counters per client address and per
#: account (``scope`` 'client' or 'account'), which replace ``login_throttle``.
_DDL_V3 = """
CREATE TABLE IF NOT EXISTS sessions (
    session_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, method VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP, revoked_reason VARCHAR, client VARCHAR);
CREATE TABLE IF NOT EXISTS login_attempts (
    scope VARCHAR NOT NULL, key VARCHAR NOT NULL, failures INTEGER NOT NULL, last_failure TIMESTAMP NOT NULL,
    next_allowed TIMESTAMP, PRIMARY KEY (scope, key));
"""

#: In-place upgrades: version -> the version it becomes. Version 2 only adds tables
#: (:data:`_DDL_V2`); version 3 adds ``audit_log.key_id`` (NULL for the entries written before,
#: verified with the old unkeyed hash), the tables of :data:`_DDL_V3`, and drops
#: ``login_throttle`` (a lockout anybody could trigger, replaced by ``login_attempts``).
_MIGRATIONS: dict[int, int] = {1: 2, 2: 3, 3: 4, 4: 5}

#: Tables of schema version 4 (issue 14): the interventions of the pact (art. 19), the H3 cells
#: each one covers (at ``res``) and their history (creation, status changes, edits).
_DDL_V4 = """
CREATE TABLE IF NOT EXISTS interventions (
    intervention_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, title VARCHAR NOT NULL, pro_com_t VARCHAR,
    res INTEGER NOT NULL, source VARCHAR, start_date DATE NOT NULL, end_date DATE, cost_eur DOUBLE,
    responsible VARCHAR, status VARCHAR NOT NULL, report_ids VARCHAR NOT NULL DEFAULT '', notes VARCHAR,
    synthetic BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS intervention_cells (
    intervention_id VARCHAR NOT NULL, cell BIGINT NOT NULL, PRIMARY KEY (intervention_id, cell));
CREATE TABLE IF NOT EXISTS intervention_events (
    intervention_id VARCHAR NOT NULL, event_at TIMESTAMP NOT NULL, username VARCHAR NOT NULL, role VARCHAR,
    kind VARCHAR NOT NULL, from_status VARCHAR, to_status VARCHAR, text VARCHAR);
"""


def _to_v3(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS key_id VARCHAR")
    cur.execute("DROP TABLE IF EXISTS login_throttle")
    cur.execute(_DDL_V3)


def _to_v4(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(_DDL_V4)


def _to_v5(cur: duckdb.DuckDBPyConnection) -> None:
    """Schema 5 (issue 18): the video-surveillance cameras layer. Self-contained and idempotent
    (``IF NOT EXISTS``), so that it can be renumbered when branches merge."""
    cur.execute("""CREATE TABLE IF NOT EXISTS cameras (
        camera_id VARCHAR PRIMARY KEY, lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, cell BIGINT NOT NULL,
        pro_com_t VARCHAR, kind VARCHAR NOT NULL, direction_deg DOUBLE, fov_deg DOUBLE, range_m DOUBLE,
        owner VARCHAR NOT NULL, control_room VARCHAR, status VARCHAR, year INTEGER, synthetic BOOLEAN NOT NULL,
        source VARCHAR, import_id INTEGER)""")


#: Tables that hold a user-importable layer, with their key columns (None: aggregates).
LAYER_TABLES: dict[str, str | None] = {
    "incidents": None,
    "lighting": "pl_id",
    "reports": "report_id",
    "schools": "code",
    "services": "service_id",
    "roads": None,
    "cameras": "camera_id",
}
TABLES = (
    "meta", "comuni", "cells", "imports", "incidents", "lighting", "reports", "schools", "services",
    "confiscated", "localities", "roads", "crime_official", "crime_provinces", "cameras",
)


class StorageError(RuntimeError):
    """Database problems, with an Italian message for the user."""


class StorageInUseError(StorageError):
    """The file is held by another process (lock) or by another connection of this process."""


#: Environment variable holding the secret of the record keys (see :meth:`Store.cell_key_secret`).
CELL_KEY_SECRET_ENV = "LANTERNA_CELL_KEY_SECRET"  # noqa: S105 - the name of a variable, not a secret
_KEY_MODULUS = 2**32
#: The incidents with their record keys; the first query parameter is the secret.
_KEYED_INCIDENTS = f"""SELECT *, (md5_number_lower(?::VARCHAR || '|' || cell::VARCHAR || '|' || month::VARCHAR
    || '|' || category || '|' || time_band || '|' || coalesce(outdoor::VARCHAR, '-')) % {_KEY_MODULUS})::BIGINT
    AS rkey FROM incidents"""  # noqa: S608 - module literals only, the secret is a parameter


def _first(rows: list) -> tuple | None:
    """First row of a fully fetched result, or None.

    Reads always drain their result (``fetchall``): DuckDB 2.0 refuses to register a DataFrame on
    a cursor that still holds a pending result.
    """
    return rows[0] if rows else None


# -- composing SQL -----------------------------------------------------------------------------
# Values always travel as parameters (``?``, lists as ``?::VARCHAR[]``). The only text that is
# ever put into a statement is :class:`Sql`: this module's literals, identifiers checked against
# an allow-list (:func:`ident`) and placeholders, so no caller's string can become SQL.

class Sql(str):
    """SQL text made only of this module's literals, allow-listed identifiers and placeholders."""

    __slots__ = ()


_IDENT = re.compile(r"[a-z_][a-z0-9_]*")


def ident(name: str, allowed: Sequence[str] | frozenset[str] | set[str] | dict, *, prefix: str = "") -> Sql:
    """An identifier (table or column) that is in ``allowed`` and a plain lower-case name;
    ``prefix`` is a table alias such as ``"r."``. Anything else raises :class:`ValueError`."""
    if not isinstance(name, str) or name not in allowed or not _IDENT.fullmatch(name):
        raise ValueError(f"identificatore SQL non ammesso: {name!r}")
    if prefix and not _IDENT.fullmatch(prefix.rstrip(".")):
        raise ValueError(f"alias SQL non ammesso: {prefix!r}")
    return Sql(prefix + name)


def idents(names: Sequence[str], allowed, *, prefix: str = "") -> Sql:
    """A comma-separated list of allow-listed identifiers."""
    return Sql(", ".join(ident(n, allowed, prefix=prefix) for n in names))


def marks(n: int) -> Sql:
    """``n`` comma-separated placeholders."""
    return Sql(", ".join("?" * int(n)))


def assignments(names: Sequence[str], allowed) -> Sql:
    """``a = ?, b = ?`` for allow-listed columns."""
    return Sql(", ".join(ident(n, allowed) + " = ?" for n in names))


def conj(clauses: Sequence[Sql]) -> Sql:
    """Clauses joined by AND (each already :class:`Sql`)."""
    if not all(isinstance(c, Sql) for c in clauses):
        raise TypeError("solo frammenti Sql")
    return Sql(" AND ".join(clauses) or "TRUE")


def sql(template: str, **parts: Sql) -> Sql:
    """``template`` (a literal of this module) with its ``{name}`` slots filled by :class:`Sql` parts."""
    for key, part in parts.items():
        if not isinstance(part, Sql):
            raise TypeError(f"il frammento {key} non è Sql")
    return Sql(template.format(**parts))



#: The cell-key fragments as allow-listed SQL (module literals).
_KEY_MOD_SQL = Sql(str(_KEY_MODULUS))
_KEYED_SQL = Sql(_KEYED_INCIDENTS)

def _res_column(res: int) -> Sql:
    if res == config.STORE_RES:
        return Sql("c.cell")
    if res in (7, 8, 9):
        return Sql(("c.r7", "c.r8", "c.r9")[res - 7])
    raise ValueError(f"Risoluzione H3 {res} non disponibile: scegliere tra 7 e 10.")


class Store:
    """A DuckDB file with Lanterna's schema.

    Parameters
    ----------
    path
        Database file; created (with the schema) when missing.
    read_only
        Open without taking the write lock.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.ConnectionException as exc:
            raise StorageInUseError(
                f"Il database {self.path.name} è già aperto da questo processo con un'altra modalità "
                "(lettura/scrittura): usare la connessione esistente."
            ) from exc
        except duckdb.IOException as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                raise StorageInUseError(
                    f"Il database {self.path.name} è già aperto in scrittura da un altro processo "
                    "(per esempio la dashboard). Chiuderlo e riprovare."
                ) from exc
            raise StorageError(f"Impossibile aprire il database {self.path}: {msg}") from exc
        except duckdb.Error as exc:
            raise StorageError(f"Il file {self.path} non è un database Lanterna valido: {exc}") from exc
        self._local = threading.local()
        self._write_lock = threading.RLock()
        if not read_only:
            self._init_schema()
        self._check_version()
        self._secret: str | None = None
        if not read_only:
            self.cell_key_secret()  # created with the file, so that read-only openings find it

    # -- cell keys of the disclosure control (geo.access.disclosure) --------------------------
    def cell_key_secret(self) -> str:
        """The secret of the record keys: ``LANTERNA_CELL_KEY_SECRET`` when set, otherwise a random
        value created once and kept in ``meta`` (never shown by the dashboard; whoever can read the
        database file sees the exact counts anyway)."""
        if self._secret is not None:
            return self._secret
        env = os.environ.get(CELL_KEY_SECRET_ENV)
        if env:
            self._secret = env
            return env
        found = self.get_meta("cell_key_secret")
        if found is None:
            if self.read_only:
                raise StorageError(
                    f"Il database {self.path.name} non ha la chiave del controllo di riservatezza: aprirlo una "
                    f"volta in scrittura oppure impostare {CELL_KEY_SECRET_ENV}."
                )
            with self.transaction() as cur:
                found = _first(cur.execute("SELECT value FROM meta WHERE key = 'cell_key_secret'").fetchall())
                found = found[0] if found else secrets.token_hex(32)
                self.set_meta(cur, "cell_key_secret", found)
        self._secret = found
        return found

    # -- connection management --------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (DuckDB connections must not be shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def close(self) -> None:
        self._con.close()
        self._closed = True

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run (a cached store must then be opened again)."""
        return getattr(self, "_closed", False)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction: everything inside commits together or not at all."""
        if self.read_only:
            raise StorageError("Database aperto in sola lettura.")
        with self._write_lock:
            cur = self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")

    def _init_schema(self) -> None:
        with self.transaction() as cur:
            cur.execute(_DDL)
            found = _first(cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall())
            if found is None:
                cur.execute(_DDL_V2)
                _to_v3(cur)
                _to_v4(cur)
                _to_v5(cur)
                cur.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
                return
            version = int(found[0]) if str(found[0]).isdigit() else None
            while version in _MIGRATIONS and version < SCHEMA_VERSION:
                version = _MIGRATIONS[version]
                if version == 2:
                    cur.execute(_DDL_V2)
                elif version == 3:
                    _to_v3(cur)
                elif version == 4:
                    _to_v4(cur)
                elif version == 5:
                    _to_v5(cur)
                cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
            if version == SCHEMA_VERSION:
                cur.execute(_DDL_V3)  # idempotent: a file of this version has every table
                cur.execute(_DDL_V4)
                _to_v5(cur)

    def _check_version(self) -> None:
        try:
            found = _first(self.cursor().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall())
        except duckdb.CatalogException as exc:
            raise StorageError(f"Il file {self.path.name} non contiene lo schema di Lanterna.") from exc
        if found is None or int(found[0]) != SCHEMA_VERSION:
            version = found[0] if found else "?"
            hint = ("aprirlo una volta in scrittura per aggiornarlo (avviando la dashboard o con "
                    "'python -m geo users list'), oppure ricostruirlo con 'python -m geo demo --force'"
                    if self.read_only and found and str(found[0]).isdigit() and int(found[0]) in _MIGRATIONS
                    else "ricostruirlo con 'python -m geo demo --force'")
            raise StorageError(
                f"Il database {self.path.name} ha la versione di schema {version}, attesa {SCHEMA_VERSION}: {hint}."
            )

    # -- generic access ----------------------------------------------------------------------
    def query(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame (for use inside ``geo`` only)."""
        return self.cursor().execute(sql, params or []).df()

    def table(self, name: str) -> pd.DataFrame:
        """A whole table as a DataFrame."""
        if name not in TABLES:
            raise ValueError(f"tabella sconosciuta: {name}")
        return self.cursor().execute(sql("SELECT * FROM {t}", t=ident(name, TABLES))).df()

    def count(self, name: str, *, synthetic: bool | None = None) -> int:
        if name not in TABLES:
            raise ValueError(f"tabella sconosciuta: {name}")
        t = ident(name, TABLES)
        if synthetic is None:
            return int(_first(self.cursor().execute(sql("SELECT count(*) FROM {t}", t=t)).fetchall())[0])
        return int(_first(self.cursor().execute(sql("SELECT count(*) FROM {t} WHERE synthetic = ?", t=t),
                                                [bool(synthetic)]).fetchall())[0])

    def get_meta(self, key: str, default: str | None = None, *, cur: duckdb.DuckDBPyConnection | None = None
                 ) -> str | None:
        row = _first((cur or self.cursor()).execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall())
        return default if row is None else row[0]

    def set_meta(self, cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
        cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def is_built(self) -> bool:
        """True when a territory has been loaded completely (set last by the demo builder)."""
        return self.get_meta("built_at") is not None

    @staticmethod
    def write_frame(
        cur: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, *, mode: str = "append"
    ) -> int:
        """Write ``df`` into ``table`` inside the caller's transaction.

        ``mode``: ``append``; ``replace`` (empty the table first); ``upsert`` (insert or replace
        rows with the same primary key, so a re-import creates no duplicates).
        """
        if table not in TABLES:
            raise ValueError(f"tabella sconosciuta: {table}")
        t = ident(table, TABLES)
        if mode == "replace":
            cur.execute(sql("DELETE FROM {t}", t=t))
        if df.empty:
            return 0
        known = {r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = ?", [table]).fetchall()}
        cols = idents([str(c) for c in df.columns], known)
        template = ("INSERT OR REPLACE INTO {t} ({cols}) SELECT {cols} FROM _frame" if mode == "upsert"
                    else "INSERT INTO {t} ({cols}) SELECT {cols} FROM _frame")
        cur.register("_frame", df)
        try:
            cur.execute(sql(template, t=t, cols=cols))
        finally:
            cur.unregister("_frame")
        return len(df)

    @staticmethod
    def insert_incident_codes(
        cur: duckdb.DuckDBPyConnection, *, cells: np.ndarray, months: np.ndarray, categories: np.ndarray,
        labels: Sequence[str], bands: np.ndarray, outdoor: np.ndarray, synthetic: bool, source: str,
        import_id: int | None,
    ) -> int:
        """Group coded events and append the counts to ``incidents`` (one SQL statement).

        ``months`` are months since 1970-01 (``datetime64[M]`` as int), ``categories`` indexes
        into ``labels``, ``bands`` is 0 day / 1 night, ``outdoor`` 0 / 1 / 2 (unknown).
        """
        import pyarrow as pa

        events = pa.table({"cell": cells, "m": months, "c": categories, "b": bands, "o": outdoor})
        cur.register("_events", events)
        try:
            before = _first(cur.execute("SELECT count(*) FROM incidents").fetchall())[0]
            cur.execute(
                """INSERT INTO incidents (cell, month, category, time_band, outdoor, count, synthetic, source,
                                          import_id)
                   WITH g AS (SELECT cell, m, c, b, o, count(*)::INTEGER AS n FROM _events GROUP BY ALL)
                   SELECT g.cell, make_date(1970 + (g.m // 12)::INTEGER, (g.m % 12)::INTEGER + 1, 1),
                          l.label, CASE g.b WHEN 1 THEN 'notte' ELSE 'giorno' END,
                          CASE g.o WHEN 1 THEN true WHEN 0 THEN false END, g.n, ?, ?, ?
                   FROM g JOIN (SELECT unnest(?::VARCHAR[]) AS label,
                                       generate_subscripts(?::VARCHAR[], 1) - 1 AS c) l USING (c)""",
                [synthetic, source, import_id, list(labels), list(labels)],
            )
            return _first(cur.execute("SELECT count(*) FROM incidents").fetchall())[0] - before
        finally:
            cur.unregister("_events")

    def new_import(
        self, cur: duckdb.DuckDBPyConnection, *, layer: str, file_name: str, sha256: str, mode: str,
        user: str | None = None,
    ) -> int:
        """Register an import and return its id (rows are filled by :meth:`finish_import`)."""
        import_id = int(_first(cur.execute("SELECT nextval('import_seq')").fetchall())[0])
        cur.execute(
            "INSERT INTO imports (import_id, layer, file_name, sha256, mode, user_name) VALUES (?, ?, ?, ?, ?, ?)",
            [import_id, layer, file_name, sha256, mode, user],
        )
        return import_id

    @staticmethod
    def finish_import(cur: duckdb.DuckDBPyConnection, import_id: int, *, written: int, rejected: int) -> None:
        cur.execute(
            "UPDATE imports SET rows_written = ?, rows_rejected = ? WHERE import_id = ?",
            [written, rejected, import_id],
        )

    def find_import(self, layer: str, sha256: str) -> dict | None:
        """A previous import of the same file content into the same layer, if any."""
        row = _first(self.cursor().execute(
            "SELECT import_id, file_name, imported_at, rows_written FROM imports "
            "WHERE layer = ? AND sha256 = ? ORDER BY import_id LIMIT 1",
            [layer, sha256],
        ).fetchall())
        if row is None:
            return None
        return {"import_id": row[0], "file_name": row[1], "imported_at": row[2], "rows_written": row[3]}

    # -- territory ---------------------------------------------------------------------------
    def cell_lookup(self, cells: np.ndarray) -> pd.Series:
        """``pro_com_t`` for each resolution-10 cell, NaN for cells outside the territory."""
        frame = pd.DataFrame({"cell": np.asarray(cells, dtype=np.int64)})
        cur = self.cursor()
        cur.register("_q", frame)
        try:
            out = cur.execute(
                "SELECT q.cell, c.pro_com_t FROM _q q LEFT JOIN cells c USING (cell)"
            ).df()
        finally:
            cur.unregister("_q")
        return frame["cell"].map(dict(zip(out["cell"], out["pro_com_t"], strict=True)))

    def comuni(self) -> pd.DataFrame:
        return self.query(
            "SELECT pro_com_t, nome, area_km2, residenti, anno_popolazione FROM comuni ORDER BY nome"
        )

    # -- queries for maps and analyses --------------------------------------------------------
    @staticmethod
    def _filters(
        comuni: Sequence[str] | None,
        start: date | None,
        end: date | None,
        categories: Sequence[str] | None,
        time_band: str | None,
    ) -> tuple[Sql, list]:
        clauses, params = [Sql("TRUE")], []
        if comuni:
            clauses.append(Sql("c.pro_com_t IN (SELECT unnest(?::VARCHAR[]))"))
            params.append([str(c) for c in comuni])
        if start is not None:
            clauses.append(Sql("i.month >= ?"))
            params.append(start)
        if end is not None:
            clauses.append(Sql("i.month <= ?"))
            params.append(end)
        if categories:
            clauses.append(Sql("i.category IN (SELECT unnest(?::VARCHAR[]))"))
            params.append([str(c) for c in categories])
        if time_band:
            clauses.append(Sql("i.time_band = ?"))
            params.append(time_band)
        return conj(clauses), params

    def incidents_by_cell(
        self,
        res: int,
        *,
        comuni: Sequence[str] | None = None,
        start: date | None = None,
        end: date | None = None,
        categories: Sequence[str] | None = None,
        time_band: str | None = None,
    ) -> pd.DataFrame:
        """Incident totals per cell at ``res``: ``cell``, ``incidents``, ``night``, ``night_outdoor``,
        and for each count its key sum (``incidents_key``, ``night_key``, ``night_outdoor_key``): the sum
        modulo 2**32 of the record keys of the rows it adds up, where a row's record key is the lower
        64 bits of MD5(secret | cell | month | category | time band | outdoor) modulo 2**32
        (:mod:`geo.access.disclosure`, the cell-key method)."""
        where, params = self._filters(comuni, start, end, categories, time_band)
        col = _res_column(res)
        return self.query(
            sql("""SELECT {col} AS cell, sum(i.count)::BIGINT AS incidents,
                   sum(CASE WHEN i.time_band = 'notte' THEN i.count ELSE 0 END)::BIGINT AS night,
                   sum(CASE WHEN i.time_band = 'notte' AND i.outdoor THEN i.count ELSE 0 END)::BIGINT
                       AS night_outdoor,
                   (sum(i.rkey) % {mod})::BIGINT AS incidents_key,
                   (sum(CASE WHEN i.time_band = 'notte' THEN i.rkey ELSE 0 END) % {mod})::BIGINT
                       AS night_key,
                   (sum(CASE WHEN i.time_band = 'notte' AND i.outdoor THEN i.rkey ELSE 0 END) % {mod})
                       ::BIGINT AS night_outdoor_key
                FROM ({keyed}) i JOIN cells c USING (cell) WHERE {where} GROUP BY 1""",
                col=col, where=where, mod=_KEY_MOD_SQL, keyed=_KEYED_SQL),
            [self.cell_key_secret(), *params],
        )

    def incidents_series(
        self,
        *,
        by: Sequence[str] = (),
        res: int | None = None,
        cells: Sequence[int] | None = None,
        comuni: Sequence[str] | None = None,
        start: date | None = None,
        end: date | None = None,
        categories: Sequence[str] | None = None,
        time_band: str | None = None,
    ) -> pd.DataFrame:
        """Monthly incident counts, grouped by ``month`` plus any of ``category``, ``pro_com_t``,
        ``time_band``, ``cell`` (at ``res``). ``cells`` restricts to cells at ``res``. With each count,
        ``incidents_key``: the sum of its rows' record keys modulo 2**32 (see :meth:`incidents_by_cell`)."""
        allowed = {"category": Sql("i.category"), "pro_com_t": Sql("c.pro_com_t"), "time_band": Sql("i.time_band")}
        if res is not None:
            allowed["cell"] = _res_column(res)
        keys = [Sql("i.month AS month")] + [sql("{e} AS {b}", e=allowed[b], b=ident(b, allowed)) for b in by]
        where, params = self._filters(comuni, start, end, categories, time_band)
        if cells is not None:
            if res is None:
                raise ValueError("cells richiede res")
            where = conj([where, sql("{col} IN (SELECT unnest(?::BIGINT[]))", col=_res_column(res))])
            params.append([int(c) for c in cells])
        group = Sql(", ".join(str(i + 1) for i in range(len(keys))))
        return self.query(
            sql("""SELECT {keys}, sum(i.count)::BIGINT AS incidents,
                   (sum(i.rkey) % {mod})::BIGINT AS incidents_key
                FROM ({keyed}) i JOIN cells c USING (cell) WHERE {where}
                GROUP BY {group} ORDER BY {group}""", keys=Sql(", ".join(keys)), where=where, group=group,
                mod=_KEY_MOD_SQL, keyed=_KEYED_SQL),
            [self.cell_key_secret(), *params],
        )

    def period(self) -> tuple[date, date] | None:
        """First and last month with incidents."""
        row = _first(self.cursor().execute("SELECT min(month), max(month) FROM incidents").fetchall())
        return None if row[0] is None else (row[0], row[1])

    def cell_context(self, res: int, *, comuni: Sequence[str] | None = None) -> pd.DataFrame:
        """Per cell at ``res``: ``pro_com_t`` (comune holding most of its area), ``residents``,
        ``n_cells`` (resolution-10 children inside the territory) and ``area_km2``."""
        col = _res_column(res)
        where, params = Sql("TRUE"), []
        if comuni:
            where = Sql("c.pro_com_t IN (SELECT unnest(?::VARCHAR[]))")
            params = [[str(c) for c in comuni]]
        return self.query(
            sql("""SELECT {col} AS cell, mode(c.pro_com_t) AS pro_com_t, sum(c.residents) AS residents,
                       count(*)::INTEGER AS n_cells, count(*) * ?::DOUBLE AS area_km2
                FROM cells c WHERE {where} GROUP BY 1""", col=col, where=where),
            [_child_area_km2(), *params],
        )

    def layer_stats_by_cell(self, res: int, *, comuni: Sequence[str] | None = None) -> pd.DataFrame:
        """Counts of the point layers per cell at ``res`` (cells without any point are absent):
        ``lights``, ``lights_broken``, ``lights_old``, ``reports_open``, ``reports_open_severity``
        (sum of severities of open reports), ``schools``, ``services``, ``confiscated``."""
        col = _res_column(res)
        where, params = Sql("TRUE"), []
        if comuni:
            where = Sql("c.pro_com_t IN (SELECT unnest(?::VARCHAR[]))")
            params = [[str(c) for c in comuni]]
        from geo.data.schemas import OLD_LAMP_TECHNOLOGIES, OPEN_REPORT_STATUS

        old = [str(t) for t in sorted(OLD_LAMP_TECHNOLOGIES)]
        open_ = [str(s) for s in sorted(OPEN_REPORT_STATUS)]
        template = """
        WITH l AS (SELECT {col} AS cell, count(*) AS lights,
                          count(*) FILTER (WHERE status = 'guasto') AS lights_broken,
                          count(*) FILTER (WHERE technology IN (SELECT unnest(?::VARCHAR[]))) AS lights_old
                   FROM lighting JOIN cells c USING (cell) WHERE {where} GROUP BY 1),
             r AS (SELECT {col} AS cell, count(*) AS reports_open,
                          sum(coalesce(severity, 2)) AS reports_open_severity
                   FROM reports JOIN cells c USING (cell)
                   WHERE {where} AND status IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1),
             s AS (SELECT {col} AS cell, count(*) AS schools FROM schools JOIN cells c USING (cell)
                   WHERE {where} GROUP BY 1),
             v AS (SELECT {col} AS cell, count(*) AS services FROM services JOIN cells c USING (cell)
                   WHERE {where} GROUP BY 1),
             b AS (SELECT {col} AS cell, count(*) AS confiscated FROM confiscated JOIN cells c USING (cell)
                   WHERE {where} GROUP BY 1),
             allc AS (SELECT cell FROM l UNION SELECT cell FROM r UNION SELECT cell FROM s
                      UNION SELECT cell FROM v UNION SELECT cell FROM b)
        SELECT allc.cell, coalesce(lights, 0)::INTEGER AS lights,
               coalesce(lights_broken, 0)::INTEGER AS lights_broken,
               coalesce(lights_old, 0)::INTEGER AS lights_old,
               coalesce(reports_open, 0)::INTEGER AS reports_open,
               coalesce(reports_open_severity, 0)::INTEGER AS reports_open_severity,
               coalesce(schools, 0)::INTEGER AS schools, coalesce(services, 0)::INTEGER AS services,
               coalesce(confiscated, 0)::INTEGER AS confiscated
        FROM allc LEFT JOIN l USING (cell) LEFT JOIN r USING (cell) LEFT JOIN s USING (cell)
                  LEFT JOIN v USING (cell) LEFT JOIN b USING (cell)"""
        return self.query(sql(template, col=col, where=where),
                          [old, *params, *params, open_, *params, *params, *params])

    def points(self, table: str, *, comuni: Sequence[str] | None = None) -> pd.DataFrame:
        """All rows of a point table (lighting, reports, schools, services, confiscated,
        localities), optionally for some comuni."""
        if table not in ("lighting", "reports", "schools", "services", "confiscated", "localities", "cameras"):
            raise ValueError(f"non è un livello di punti: {table}")
        if comuni:
            return self.query(sql("SELECT * FROM {t} WHERE pro_com_t IN (SELECT unnest(?::VARCHAR[]))",
                                  t=ident(table, TABLES)), [[str(c) for c in comuni]])
        return self.table(table)

    def layer_summary(self) -> pd.DataFrame:
        """Per table: rows, synthetic rows, and the period covered where it has dates."""
        rows = []
        for table in ("incidents", "lighting", "reports", "schools", "services", "confiscated", "localities",
                      "roads", "cameras"):
            n = self.count(table)
            has_synth = table in ("incidents", "lighting", "reports", "schools", "services", "cameras")
            synth = self.count(table, synthetic=True) if has_synth else 0
            if table == "incidents":
                total = _first(self.cursor().execute(
                    "SELECT coalesce(sum(count), 0), coalesce(sum(count) FILTER (WHERE synthetic), 0), "
                    "min(month), max(month) FROM incidents"
                ).fetchall())
                rows.append({"table": table, "rows": n, "synthetic_rows": synth, "events": int(total[0]),
                             "synthetic_events": int(total[1]), "from": total[2], "to": total[3]})
                continue
            period = (None, None)
            if table == "reports":
                period = _first(self.cursor().execute("SELECT min(opened), max(opened) FROM reports").fetchall())
            rows.append({"table": table, "rows": n, "synthetic_rows": synth, "events": None,
                         "synthetic_events": None, "from": period[0], "to": period[1]})
        return pd.DataFrame(rows)

    def road_length_by_cell(
        self, res: int, *, comuni: Sequence[str] | None = None, highways: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Length of the imported road layer per cell at ``res``: ``cell``, ``road_km``; only the
        OSM ``highway`` classes in ``highways`` when given. Empty when no road layer is loaded."""
        col = _res_column(res)
        clauses, params = [Sql("TRUE")], []
        if comuni:
            clauses.append(Sql("c.pro_com_t IN (SELECT unnest(?::VARCHAR[]))"))
            params.append([str(c) for c in comuni])
        if highways:
            clauses.append(Sql("r.highway IN (SELECT unnest(?::VARCHAR[]))"))
            params.append([str(h) for h in highways])
        return self.query(
            sql("""SELECT {col} AS cell, sum(r.length_m) / 1000.0 AS road_km
                FROM roads r JOIN cells c USING (cell) WHERE {where} GROUP BY 1""", col=col, where=conj(clauses)),
            params,
        )

    def road_cells(self) -> pd.DataFrame:
        """The imported road layer per resolution-10 cell and OSM ``highway`` class, with the
        cell's comune: ``cell``, ``highway``, ``length_m``, ``pro_com_t``. Empty without roads."""
        return self.query("""SELECT r.cell, r.highway, sum(r.length_m) AS length_m, c.pro_com_t
            FROM roads r JOIN cells c USING (cell) GROUP BY r.cell, r.highway, c.pro_com_t
            ORDER BY r.cell, r.highway""")

    def comuni_geometries(self) -> pd.DataFrame:
        """Comuni boundaries: ``pro_com_t``, ``nome`` and ``geometry_wkb`` (WGS84 WKB)."""
        return self.query("SELECT pro_com_t, nome, geometry_wkb FROM comuni ORDER BY nome")

    # -- census of services for homeless people (issue 7, pact art. 14) ------------------------
    # Writes run inside the caller's transaction (``with store.transaction() as cur``); the
    # permission checks are in geo.services.homeless, which is the only caller.
    _SERVICE_FIELDS = ("service_id", "name", "operator", "types", "hours", "open_24h", "capacity", "public",
                       "pro_com_t", "lon", "lat", "cell", "synthetic", "source", "import_id")

    def service(self, service_id: str, *, cur: duckdb.DuckDBPyConnection | None = None) -> dict | None:
        """One row of ``services`` as a dict (``types`` a list), or None."""
        df = (cur or self.cursor()).execute("SELECT * FROM services WHERE service_id = ?", [service_id]).df()
        if df.empty:
            return None
        row = df.iloc[0].to_dict()
        row["types"] = [str(t) for t in (row.get("types") if row.get("types") is not None else [])]
        return row

    @staticmethod
    def service_ids(cur: duckdb.DuckDBPyConnection, prefix: str) -> list[str]:
        """Identifiers of the services starting with ``prefix`` (to number a new one)."""
        rows = cur.execute("SELECT service_id FROM services WHERE starts_with(service_id, ?)", [prefix]).fetchall()
        return [r[0] for r in rows]

    def insert_service(self, cur: duckdb.DuckDBPyConnection, row: dict) -> None:
        """Insert one service (all :attr:`_SERVICE_FIELDS`; ``types`` a list of codes)."""
        cols = self._SERVICE_FIELDS
        cur.execute(
            sql("INSERT INTO services ({cols}) VALUES ({marks})", cols=idents(cols, cols), marks=marks(len(cols))),
            [row.get(c) for c in cols],
        )

    def update_service(self, cur: duckdb.DuckDBPyConnection, row: dict) -> int:
        """Overwrite the fields of the service ``row['service_id']``; returns the rows changed (0 or 1)."""
        cols = [c for c in self._SERVICE_FIELDS if c != "service_id"]
        found = cur.execute(
            sql("UPDATE services SET {sets} WHERE service_id = ? RETURNING service_id", sets=assignments(cols, cols)),
            [row.get(c) for c in cols] + [row["service_id"]],
        ).fetchall()
        return len(found)

    @staticmethod
    def delete_service(cur: duckdb.DuckDBPyConnection, service_id: str) -> int:
        """Remove a service from the census (its last state stays in :meth:`service_changes`)."""
        return len(cur.execute("DELETE FROM services WHERE service_id = ? RETURNING service_id",
                               [service_id]).fetchall())

    @staticmethod
    def log_service_change(
        cur: duckdb.DuckDBPyConnection, *, service_id: str, action: str, role: str | None, user_name: str | None,
        pro_com_t: str | None, reason: str | None, before_json: str | None, after_json: str | None,
    ) -> int:
        """Append a change of the census to ``service_changes`` (created on first use); returns its id."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS service_changes (
                   change_id INTEGER PRIMARY KEY, service_id VARCHAR NOT NULL, action VARCHAR NOT NULL,
                   role VARCHAR, user_name VARCHAR, pro_com_t VARCHAR, reason VARCHAR, before_json VARCHAR,
                   after_json VARCHAR, changed_at TIMESTAMP DEFAULT current_timestamp)"""
        )
        next_id = "SELECT coalesce(max(change_id), 0) + 1 FROM service_changes"
        change_id = int(_first(cur.execute(next_id).fetchall())[0])
        cur.execute(
            "INSERT INTO service_changes (change_id, service_id, action, role, user_name, pro_com_t, reason, "
            "before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [change_id, service_id, action, role, user_name, pro_com_t, reason, before_json, after_json],
        )
        return change_id

    def service_changes(self, *, pro_com_t: Sequence[str] | None = None) -> pd.DataFrame:
        """The census's change log, newest first (empty before the first change)."""
        exists = _first(self.cursor().execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'service_changes'"
        ).fetchall())[0]
        columns = ["change_id", "service_id", "action", "role", "user_name", "pro_com_t", "reason", "before_json",
                   "after_json", "changed_at"]
        if not exists:
            return pd.DataFrame(columns=columns)
        where, params = Sql("TRUE"), []
        if pro_com_t:
            where = Sql("pro_com_t IN (SELECT unnest(?::VARCHAR[]))")
            params = [[str(c) for c in pro_com_t]]
        return self.query(sql("SELECT {cols} FROM service_changes WHERE {where} ORDER BY change_id DESC",
                              cols=idents(columns, columns), where=where), params)

    # -- accounts, audit log and report workflow (issue 6) --------------------------------------
    # Writes run inside the caller's transaction (``with store.transaction() as cur``); the
    # permission checks live in geo.access.auth, geo.access.audit and geo.reports.workflow, the only callers. There is
    # deliberately no method that updates or deletes audit_log rows.
    _USER_FIELDS = ("username", "display_name", "role", "comuni", "email", "password_hash", "active",
                    "created_at", "updated_at", "last_login")

    def user_row(self, username: str, *, cur: duckdb.DuckDBPyConnection | None = None) -> dict | None:
        """One account as a dict (``comuni`` as stored: comma-separated codes), or None."""
        cols = idents(self._USER_FIELDS, self._USER_FIELDS)
        rows = (cur or self.cursor()).execute(sql("SELECT {cols} FROM users WHERE username = ?", cols=cols),
                                              [username]).fetchall()
        return dict(zip(self._USER_FIELDS, rows[0], strict=True)) if rows else None

    def users_by_email(self, email: str) -> list[dict]:
        """Accounts whose e-mail matches ``email`` (case-insensitive)."""
        cols = idents(self._USER_FIELDS, self._USER_FIELDS)
        rows = self.cursor().execute(
            sql("SELECT {cols} FROM users WHERE lower(email) = lower(?) ORDER BY username", cols=cols), [email.strip()]
        ).fetchall()
        return [dict(zip(self._USER_FIELDS, r, strict=True)) for r in rows]

    def users_frame(self) -> pd.DataFrame:
        """Every account without its password hash, by username."""
        return self.query(
            "SELECT username, display_name, role, comuni, email, active, password_hash IS NOT NULL AS has_password, "
            "created_at, updated_at, last_login FROM users ORDER BY username"
        )

    def count_users(self) -> int:
        return int(_first(self.cursor().execute("SELECT count(*) FROM users").fetchall())[0])

    def insert_user(self, cur: duckdb.DuckDBPyConnection, row: dict) -> None:
        """Insert one account (keys of :attr:`_USER_FIELDS`; missing ones are NULL)."""
        cols = self._USER_FIELDS
        cur.execute(sql("INSERT INTO users ({cols}) VALUES ({marks})", cols=idents(cols, cols), marks=marks(len(cols))),
                    [row.get(c) for c in cols])

    def update_user(self, cur: duckdb.DuckDBPyConnection, username: str, fields: dict) -> int:
        """Set some columns of an account; returns the rows changed (0 or 1)."""
        bad = set(fields) - set(self._USER_FIELDS) - {"username"}
        if bad or "username" in fields:
            raise ValueError(f"colonne non modificabili: {sorted(bad | ({'username'} & set(fields)))}")
        sets = assignments(list(fields), self._USER_FIELDS)
        return len(cur.execute(sql("UPDATE users SET {sets} WHERE username = ? RETURNING username", sets=sets),
                               [*fields.values(), username]).fetchall())

    _ATTEMPT_FIELDS = ("failures", "last_failure", "next_allowed")

    def attempt_row(self, scope: str, key: str, *, cur: duckdb.DuckDBPyConnection | None = None) -> dict | None:
        """Failed-login state of a client address or an account name (``scope`` 'client' or
        'account'): failures, last_failure, next_allowed; None when there is none."""
        rows = (cur or self.cursor()).execute(
            "SELECT failures, last_failure, next_allowed FROM login_attempts WHERE scope = ? AND key = ?",
            [scope, key]).fetchall()
        return dict(zip(self._ATTEMPT_FIELDS, rows[0], strict=True)) if rows else None

    @staticmethod
    def set_attempt(cur: duckdb.DuckDBPyConnection, scope: str, key: str, *, failures: int, last_failure,
                    next_allowed) -> None:
        cur.execute("INSERT OR REPLACE INTO login_attempts VALUES (?, ?, ?, ?, ?)",
                    [scope, key, failures, last_failure, next_allowed])

    @staticmethod
    def clear_attempts(cur: duckdb.DuckDBPyConnection, scope: str, key: str) -> None:
        cur.execute("DELETE FROM login_attempts WHERE scope = ? AND key = ?", [scope, key])

    @staticmethod
    def prune_attempts(cur: duckdb.DuckDBPyConnection, before) -> None:
        """Forget failed logins older than ``before`` that no longer delay anything."""
        cur.execute("DELETE FROM login_attempts WHERE last_failure < ? AND (next_allowed IS NULL OR next_allowed < ?)",
                    [before, before])

    # login sessions
    _SESSION_FIELDS = ("session_hash", "username", "method", "created_at", "last_seen", "expires_at", "revoked_at",
                       "revoked_reason", "client")

    def insert_session(self, cur: duckdb.DuckDBPyConnection, row: dict) -> None:
        """Store a new session (keys of :attr:`_SESSION_FIELDS`)."""
        cols = self._SESSION_FIELDS
        cur.execute(sql("INSERT INTO sessions ({cols}) VALUES ({marks})", cols=idents(cols, cols),
                        marks=marks(len(cols))), [row.get(c) for c in cols])

    def session_row(self, session_hash: str) -> dict | None:
        """One session by the SHA-256 of its secret, or None."""
        cols = idents(self._SESSION_FIELDS, self._SESSION_FIELDS)
        rows = self.cursor().execute(sql("SELECT {cols} FROM sessions WHERE session_hash = ?", cols=cols),
                                     [session_hash]).fetchall()
        return dict(zip(self._SESSION_FIELDS, rows[0], strict=True)) if rows else None

    @staticmethod
    def touch_session(cur: duckdb.DuckDBPyConnection, session_hash: str, at) -> None:
        cur.execute("UPDATE sessions SET last_seen = ? WHERE session_hash = ?", [at, session_hash])

    @staticmethod
    def revoke_sessions(cur: duckdb.DuckDBPyConnection, *, at, reason: str, session_hash: str | None = None,
                        username: str | None = None) -> int:
        """Revoke one session (``session_hash``) or every open session of ``username``; returns how many."""
        if (session_hash is None) == (username is None):
            raise ValueError("session_hash oppure username")
        where = Sql("session_hash = ?") if session_hash is not None else Sql("username = ?")
        return len(cur.execute(sql("UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
                                   "WHERE {where} AND revoked_at IS NULL RETURNING session_hash", where=where),
                               [at, reason, session_hash if session_hash is not None else username]).fetchall())

    @staticmethod
    def prune_sessions(cur: duckdb.DuckDBPyConnection, before) -> None:
        """Forget sessions that ended (expired or revoked) before ``before``."""
        cur.execute("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?", [before, before])

    # audit log
    _AUDIT_FIELDS = ("audit_id", "logged_at", "username", "role", "action", "table_name", "record_key", "pro_com_t",
                     "before_json", "after_json", "prev_hash", "entry_hash", "key_id")

    @staticmethod
    def audit_tail(cur: duckdb.DuckDBPyConnection) -> tuple[int, str] | None:
        """Id and hash of the last audit entry, or None when the log is empty."""
        row = _first(cur.execute(
            "SELECT audit_id, entry_hash FROM audit_log ORDER BY audit_id DESC LIMIT 1").fetchall())
        return None if row is None else (int(row[0]), str(row[1]))

    @staticmethod
    def next_audit_id(cur: duckdb.DuckDBPyConnection) -> int:
        """The id of the next entry: one more than the last, so ids have no gaps and a missing entry
        shows as one (``audit_seq`` is not used: a sequence advances in rolled-back transactions)."""
        last = _first(cur.execute("SELECT max(audit_id) FROM audit_log").fetchall())[0]
        return int(last or 0) + 1

    def insert_audit(self, cur: duckdb.DuckDBPyConnection, row: dict) -> None:
        """Append one audit entry (every key of :attr:`_AUDIT_FIELDS`)."""
        cols = self._AUDIT_FIELDS
        cur.execute(sql("INSERT INTO audit_log ({cols}) VALUES ({marks})", cols=idents(cols, cols),
                        marks=marks(len(cols))),
                    [row[c] for c in cols])

    def audit_frame(
        self, *, start=None, end=None, username: str | None = None, table: str | None = None,
        action: str | None = None, limit: int | None = None,
    ) -> pd.DataFrame:
        """Audit entries in order of writing (oldest first), optionally filtered: ``logged_at`` in
        [``start``, ``end``), exact ``username``, ``table_name`` and ``action``; ``limit``
        keeps the newest ones."""
        clauses, params = [Sql("TRUE")], []
        for clause, value in ((Sql("logged_at >= ?"), start), (Sql("logged_at < ?"), end),
                              (Sql("username = ?"), username), (Sql("table_name = ?"), table),
                              (Sql("action = ?"), action)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        cols = idents(self._AUDIT_FIELDS, self._AUDIT_FIELDS)
        if limit is None:
            return self.query(sql("SELECT {cols} FROM audit_log WHERE {where} ORDER BY audit_id", cols=cols,
                                  where=conj(clauses)), params)
        return self.query(sql("SELECT * FROM (SELECT {cols} FROM audit_log WHERE {where} ORDER BY audit_id DESC "
                              "LIMIT ?) ORDER BY audit_id", cols=cols, where=conj(clauses)), [*params, int(limit)])

    def audit_count(self, *, data_only: bool = False) -> int:
        """Entries of the audit log; ``data_only``: only changes to data (not logins, account
        changes or exports), a cheap version number of the data for caches."""
        if not data_only:
            return int(_first(self.cursor().execute("SELECT count(*) FROM audit_log").fetchall())[0])
        return int(_first(self.cursor().execute(
            "SELECT count(*) FROM audit_log WHERE table_name NOT IN ('users', 'audit_log', 'sessions') "
            "AND action <> 'esportazione'").fetchall())[0])

    # reports: rows, events, photos
    _REPORT_FIELDS = ("report_id", "pro_com_t", "lon", "lat", "cell", "area_wkt", "category", "severity", "status",
                      "opened", "closed", "description", "synthetic", "source", "import_id")

    def report_row(self, report_id: str, *, cur: duckdb.DuckDBPyConnection | None = None) -> dict | None:
        """One report as a dict, or None."""
        cols = idents(self._REPORT_FIELDS, self._REPORT_FIELDS)
        rows = (cur or self.cursor()).execute(sql("SELECT {cols} FROM reports WHERE report_id = ?", cols=cols),
                                              [report_id]).fetchall()
        return dict(zip(self._REPORT_FIELDS, rows[0], strict=True)) if rows else None

    @staticmethod
    def report_ids_with_prefix(cur: duckdb.DuckDBPyConnection, prefix: str) -> list[str]:
        return [r[0] for r in cur.execute("SELECT report_id FROM reports WHERE starts_with(report_id, ?)",
                                          [prefix]).fetchall()]

    def insert_report(self, cur: duckdb.DuckDBPyConnection, row: dict) -> None:
        """Insert one report (keys of :attr:`_REPORT_FIELDS`)."""
        cols = self._REPORT_FIELDS
        cur.execute(sql("INSERT INTO reports ({cols}) VALUES ({marks})", cols=idents(cols, cols),
                        marks=marks(len(cols))),
                    [row.get(c) for c in cols])

    def update_report(self, cur: duckdb.DuckDBPyConnection, report_id: str, fields: dict, *,
                      expected_status: str | None = None) -> int:
        """Set some columns of a report (only if its status is still ``expected_status``, when
        given); returns the rows changed (0 or 1)."""
        bad = set(fields) - set(self._REPORT_FIELDS)
        if bad or "report_id" in fields:
            raise ValueError(f"colonne non modificabili: {sorted(bad | ({'report_id'} & set(fields)))}")
        sets = assignments(list(fields), self._REPORT_FIELDS)
        where, params = Sql("report_id = ?"), [*fields.values(), report_id]
        if expected_status is not None:
            where = Sql("report_id = ? AND status = ?")
            params.append(expected_status)
        return len(cur.execute(sql("UPDATE reports SET {sets} WHERE {where} RETURNING report_id", sets=sets,
                                   where=where), params).fetchall())

    def reports_in_box(self, *, south: float, west: float, north: float, east: float, category: str | None = None,
                       opened_since=None) -> pd.DataFrame:
        """Reports inside a latitude/longitude box, optionally of one category and opened since a date."""
        clauses = [Sql("lat BETWEEN ? AND ?"), Sql("lon BETWEEN ? AND ?")]
        params: list = [south, north, west, east]
        if category is not None:
            clauses.append(Sql("category = ?"))
            params.append(category)
        if opened_since is not None:
            clauses.append(Sql("opened >= ?"))
            params.append(opened_since)
        return self.query(sql("SELECT {cols} FROM reports WHERE {where} ORDER BY opened DESC, report_id",
                              cols=idents(self._REPORT_FIELDS, self._REPORT_FIELDS), where=conj(clauses)), params)

    def reports_frame(self, *, comuni: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
                      report_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Reports with who created them (``created_by``, from the first event; empty for imported
        and generated ones) and their number of events and photos, newest first."""
        clauses, params = [Sql("TRUE")], []
        for clause, values in ((Sql("r.pro_com_t IN (SELECT unnest(?::VARCHAR[]))"), comuni),
                               (Sql("r.status IN (SELECT unnest(?::VARCHAR[]))"), statuses),
                               (Sql("r.report_id IN (SELECT unnest(?::VARCHAR[]))"), report_ids)):
            if values is not None:
                clauses.append(clause)
                params.append([str(v) for v in values])
        cols = idents(self._REPORT_FIELDS, self._REPORT_FIELDS, prefix="r.")
        return self.query(
            sql("""SELECT {cols}, e.created_by, coalesce(e.events, 0)::INTEGER AS events,
                       coalesce(p.photos, 0)::INTEGER AS photos, e.last_event
                FROM reports r
                LEFT JOIN (SELECT report_id, arg_min(username, event_id) FILTER (WHERE kind = 'creazione')
                                  AS created_by, count(*) AS events, max(event_at) AS last_event
                           FROM report_events GROUP BY report_id) e USING (report_id)
                LEFT JOIN (SELECT report_id, count(*) AS photos FROM report_photos GROUP BY report_id) p
                       USING (report_id)
                WHERE {where} ORDER BY r.opened DESC, r.report_id DESC""", cols=cols, where=conj(clauses)),
            params,
        )

    @staticmethod
    def insert_report_event(cur: duckdb.DuckDBPyConnection, row: dict) -> int:
        """Append an event (creation, status change, comment, edit, photo) to a report; returns its id."""
        cols = ("report_id", "event_at", "username", "role", "kind", "from_status", "to_status", "text")
        found = cur.execute(
            sql("INSERT INTO report_events (event_id, {cols}) VALUES (nextval('report_event_seq'), {marks}) "
                "RETURNING event_id", cols=idents(cols, cols), marks=marks(len(cols))),
            [row.get(c) for c in cols]).fetchall()
        return int(found[0][0])

    def report_events(self, report_ids: Sequence[str]) -> pd.DataFrame:
        """Events of some reports in the order they happened."""
        return self.query(
            "SELECT event_id, report_id, event_at, username, role, kind, from_status, to_status, text "
            "FROM report_events WHERE report_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY event_id",
            [[str(r) for r in report_ids]])

    @staticmethod
    def insert_report_photo(cur: duckdb.DuckDBPyConnection, row: dict) -> int:
        """Store a (cleaned) photo of a report; returns its id."""
        cols = ("report_id", "file_name", "mime", "width", "height", "size_bytes", "sha256", "data", "uploaded_at",
                "username")
        found = cur.execute(
            sql("INSERT INTO report_photos (photo_id, {cols}) VALUES (nextval('report_photo_seq'), {marks}) "
                "RETURNING photo_id", cols=idents(cols, cols), marks=marks(len(cols))),
            [row.get(c) for c in cols]).fetchall()
        return int(found[0][0])

    def report_photos(self, report_id: str) -> pd.DataFrame:
        """Photos of a report without their bytes."""
        return self.query(
            "SELECT photo_id, report_id, file_name, mime, width, height, size_bytes, sha256, uploaded_at, username "
            "FROM report_photos WHERE report_id = ? ORDER BY photo_id", [report_id])

    def report_photo(self, photo_id: int) -> dict | None:
        """One photo with its bytes (``data``), or None."""
        cols = ("photo_id", "report_id", "file_name", "mime", "width", "height", "data")
        rows = self.cursor().execute(sql("SELECT {cols} FROM report_photos WHERE photo_id = ?",
                                         cols=idents(cols, cols)),
                                     [int(photo_id)]).fetchall()
        if not rows:
            return None
        row = dict(zip(cols, rows[0], strict=True))
        row["data"] = bytes(row["data"])
        return row

    @staticmethod
    def rows_by_key(cur: duckdb.DuckDBPyConnection, table: str, keys: Sequence[str]) -> pd.DataFrame:
        """Rows of a point layer whose key is in ``keys`` (the state an upsert will overwrite)."""
        key = LAYER_TABLES.get(table)
        if key is None:
            raise ValueError(f"la tabella {table} non ha una chiave")
        return cur.execute(sql("SELECT * FROM {t} WHERE {k} IN (SELECT unnest(?::VARCHAR[]))",
                               t=ident(table, LAYER_TABLES), k=ident(key, (key,))),
                           [[str(k) for k in keys]]).df()

    # interventions (issue 14)
    INTERVENTION_FIELDS = ("intervention_id", "kind", "title", "pro_com_t", "res", "source", "start_date", "end_date",
                           "cost_eur", "responsible", "status", "report_ids", "notes", "synthetic", "created_at",
                           "created_by")

    def insert_intervention(self, cur: duckdb.DuckDBPyConnection, row: dict, cells: Sequence[int]) -> None:
        """Insert one intervention (keys of :attr:`INTERVENTION_FIELDS`) and its cells."""
        cols = self.INTERVENTION_FIELDS
        cur.execute(sql("INSERT INTO interventions ({cols}) VALUES ({marks})", cols=idents(cols, cols),
                        marks=marks(len(cols))), [row.get(c) for c in cols])
        cur.execute("INSERT INTO intervention_cells SELECT ?, unnest(?::BIGINT[])",
                    [row["intervention_id"], sorted({int(c) for c in cells})])

    def update_intervention(self, cur: duckdb.DuckDBPyConnection, intervention_id: str, fields: dict) -> None:
        allowed = [c for c in self.INTERVENTION_FIELDS if c != "intervention_id"]
        names = [k for k in fields if k in allowed]
        if not names:
            return
        cur.execute(sql("UPDATE interventions SET {a} WHERE intervention_id = ?", a=assignments(names, allowed)),
                    [fields[k] for k in names] + [intervention_id])

    def intervention_row(self, intervention_id: str, *, cur: duckdb.DuckDBPyConnection | None = None) -> dict | None:
        cols = idents(self.INTERVENTION_FIELDS, self.INTERVENTION_FIELDS)
        rows = (cur or self.cursor()).execute(sql("SELECT {cols} FROM interventions WHERE intervention_id = ?",
                                                  cols=cols), [intervention_id]).fetchall()
        return dict(zip(self.INTERVENTION_FIELDS, rows[0], strict=True)) if rows else None

    def interventions_frame(self) -> pd.DataFrame:
        """Every intervention with ``n_cells``, ordered by start date and id."""
        cols = idents(self.INTERVENTION_FIELDS, self.INTERVENTION_FIELDS, prefix="i.")
        return self.query(sql("""SELECT {cols}, count(c.cell)::INTEGER AS n_cells FROM interventions i
            LEFT JOIN intervention_cells c USING (intervention_id) GROUP BY ALL
            ORDER BY i.start_date, i.intervention_id""", cols=cols))

    def intervention_cell_pairs(self) -> pd.DataFrame:
        """``intervention_id`` and ``cell`` of every intervention's hexagons."""
        return self.query("SELECT intervention_id, cell FROM intervention_cells ORDER BY intervention_id, cell")

    def intervention_cells(self, intervention_id: str) -> list[int]:
        rows = self.cursor().execute("SELECT cell FROM intervention_cells WHERE intervention_id = ? ORDER BY cell",
                                     [intervention_id]).fetchall()
        return [int(r[0]) for r in rows]

    @staticmethod
    def intervention_ids_with_prefix(cur: duckdb.DuckDBPyConnection, prefix: str) -> list[str]:
        return [r[0] for r in cur.execute(
            "SELECT intervention_id FROM interventions WHERE starts_with(intervention_id, ?)", [prefix]).fetchall()]

    @staticmethod
    def insert_intervention_event(cur: duckdb.DuckDBPyConnection, row: dict) -> None:
        cols = ("intervention_id", "event_at", "username", "role", "kind", "from_status", "to_status", "text")
        cur.execute(sql("INSERT INTO intervention_events ({cols}) VALUES ({marks})", cols=idents(cols, cols),
                        marks=marks(len(cols))), [row.get(c) for c in cols])

    def intervention_events(self, intervention_id: str) -> pd.DataFrame:
        return self.query("SELECT * FROM intervention_events WHERE intervention_id = ? ORDER BY event_at",
                          [intervention_id])



def _child_area_km2() -> float:
    from geo.data.hexgrid import cell_area_km2

    return cell_area_km2(config.STORE_RES)


_STORES: dict[tuple[str, bool], Store] = {}
_STORES_LOCK = threading.Lock()


def open_store(path: str | Path | None = None, *, read_only: bool = False) -> Store:
    """The process-wide :class:`Store` for a file (one connection per process and file)."""
    p = str(Path(path) if path else config.db_path())
    with _STORES_LOCK:
        store = _STORES.get((p, read_only))
        if store is None:
            store = Store(p, read_only=read_only)
            _STORES[(p, read_only)] = store
        return store


def close_all() -> None:
    """Close every store opened through :func:`open_store` (tests, CLI)."""
    with _STORES_LOCK:
        for store in _STORES.values():
            store.close()
        _STORES.clear()
