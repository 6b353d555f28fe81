"""The audit trail (pact art. 19): an append-only log of every write, who made it and what changed.

Every function of ``geo`` that writes (accounts, reports and their events and photos, imports,
the homeless-service census) calls :func:`record` **inside its own transaction**, so a change
and its audit entry are committed together or not at all. An entry holds who (username and
role), when (UTC), what (action, table, key, comune) and the state before and after as JSON.

Append-only
-----------
* There is no function to change or remove an entry, here or in :mod:`geo.data.storage`; the
  generic writers of the store (``write_frame``, ``table``, ``count``) refuse ``audit_log``.
* Entries are **hash-chained**: each stores the SHA-256 of the previous entry and of its own
  content. :func:`verify_chain` recomputes the chain, so an entry altered or removed with direct
  SQL (or a file edited by hand) is detected. Removing the newest entries is not detectable
  from the chain alone: keep copies of :func:`export_csv` (their last hash) with the minutes of
  the Cabina di regia.

Reading is for the Prefettura (``view_audit``/``export_audit`` in :mod:`geo.access.permissions`);
exports are recorded in the log as well. Secrets never enter the log: keys listed in
:data:`SECRET_KEYS` are replaced by ``"***"``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from geo.access.permissions import User, require
from geo.data.storage import Store

#: Hash of the (virtual) entry before the first one.
GENESIS = "0" * 64
#: Keys whose values are never written to the log.
SECRET_KEYS = frozenset({"password", "password_hash", "cookie_secret", "client_secret", "data"})

#: Italian labels of the actions recorded (anything else is shown as it is).
ACTION_LABELS: dict[str, str] = {
    "creazione": "Creazione",
    "modifica": "Modifica",
    "transizione": "Cambio di stato",
    "commento": "Commento",
    "foto": "Foto aggiunta",
    "importazione": "Importazione di file",
    "utente_creato": "Utente creato",
    "utente_modificato": "Utente modificato",
    "password_cambiata": "Password cambiata",
    "accesso": "Accesso",
    "accesso_fallito": "Accesso non riuscito",
    "blocco": "Account bloccato temporaneamente",
    "uscita": "Uscita",
    "esportazione": "Esportazione",
    "aggiunto": "Servizio aggiunto",
    "modificato": "Servizio modificato",
    "chiuso": "Servizio chiuso",
}

#: Columns of the viewer and of the CSV export, with Italian headers.
EXPORT_COLUMNS: dict[str, str] = {
    "audit_id": "N.",
    "logged_at": "Data e ora (UTC)",
    "username": "Utente",
    "role": "Ruolo",
    "action": "Azione",
    "table_name": "Tabella",
    "record_key": "Chiave",
    "pro_com_t": "Comune",
    "before_json": "Prima",
    "after_json": "Dopo",
    "entry_hash": "Impronta SHA-256",
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _jsonable(value: Any) -> Any:
    """Plain JSON types for a value read from the database or a DataFrame."""
    if isinstance(value, Mapping):
        return {str(k): ("***" if str(k) in SECRET_KEYS and v is not None else _jsonable(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Series):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | Decimal):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, pd.Timestamp | datetime | date | time):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} byte>"
    if value is pd.NaT or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return str(value)


def to_json(state: Any) -> str | None:
    """A state as canonical JSON (sorted keys, UTF-8 text, secrets masked); None stays None."""
    if state is None:
        return None
    return json.dumps(_jsonable(state), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def utcnow() -> datetime:
    """Current UTC time without tzinfo (how the log stores times), to the microsecond."""
    return datetime.now(UTC).replace(tzinfo=None)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an entry's content and its predecessor's hash."""
    at = entry["logged_at"]
    at_text = pd.Timestamp(at).isoformat() if at is not None else ""
    def text(key: str) -> str | None:  # a value read back from a DataFrame may be NaN for NULL
        value = entry[key]
        return None if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)

    payload = [int(entry["audit_id"]), at_text, *(text(k) for k in (
        "username", "role", "action", "table_name", "record_key", "pro_com_t", "before_json", "after_json",
        "prev_hash"))]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(
    store: Store,
    cur,
    actor: User,
    *,
    action: str,
    table: str,
    key: str | None = None,
    pro_com_t: str | None = None,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> int:
    """Append an entry to the log inside the caller's transaction; returns its id.

    Parameters
    ----------
    store, cur
        The store and the cursor of the open transaction (``with store.transaction() as cur``).
    actor
        Who did it (username and role are recorded; the command line is
        :data:`geo.access.permissions.SYSTEM`).
    action
        What was done (a key of :data:`ACTION_LABELS` by convention).
    table, key
        The table and the key of the row changed (``None`` for events without one).
    pro_com_t
        The comune the row belongs to, when it has one (for filtering).
    before, after
        The states before and after, as mappings or lists (JSON; secrets masked).
    at
        Time of the change (UTC, naive); now by default.
    """
    tail = store.audit_tail(cur)
    entry = {
        "audit_id": store.next_audit_id(cur),
        "logged_at": (at or utcnow()).replace(tzinfo=None),
        "username": str(actor.username)[:120],
        "role": actor.role,
        "action": str(action)[:60],
        "table_name": str(table)[:60],
        "record_key": None if key is None else str(key)[:200],
        "pro_com_t": None if pro_com_t is None else str(pro_com_t),
        "before_json": to_json(before),
        "after_json": to_json(after),
        "prev_hash": GENESIS if tail is None else tail[1],
    }
    if tail is not None and entry["audit_id"] <= tail[0]:
        raise RuntimeError("sequenza del registro non crescente")  # the sequence never goes back
    entry["entry_hash"] = entry_hash(entry)
    store.insert_audit(cur, entry)
    return int(entry["audit_id"])


# --------------------------------------------------------------------------------------------
# Reading, checking, exporting
# --------------------------------------------------------------------------------------------

def entries(
    store: Store, actor: User | None, *, start: datetime | date | None = None, end: datetime | date | None = None,
    username: str | None = None, table: str | None = None, action: str | None = None, limit: int | None = None,
) -> pd.DataFrame:
    """The log as ``actor`` may read it (``view_audit``), oldest first, optionally filtered.

    ``start``/``end``: UTC times or days (``end`` excluded; a day means up to its end).
    """
    require(actor, "view_audit")
    return store.audit_frame(start=_bound(start), end=_bound(end, end_of_day=True), username=username or None,
                             table=table or None, action=action or None, limit=limit)


def _bound(value: datetime | date | None, *, end_of_day: bool = False) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    moment = datetime.combine(value, time())
    return moment + timedelta(days=1) if end_of_day else moment


@dataclass(frozen=True)
class ChainCheck:
    """Outcome of :func:`verify_chain`: ``ok``, entries checked, the first broken entry's id
    (None when intact) and an Italian sentence."""

    ok: bool
    checked: int
    first_bad: int | None
    message: str


def verify_chain(store: Store) -> ChainCheck:
    """Recompute every hash and link of the log (read-only; no permission needed to *check*)."""
    frame = store.audit_frame()
    previous = GENESIS
    for row in frame.to_dict("records"):
        expected = entry_hash(row)
        if row["prev_hash"] != previous or row["entry_hash"] != expected:
            return ChainCheck(False, len(frame), int(row["audit_id"]),
                              f"Registro alterato: la voce n. {int(row['audit_id'])} non corrisponde alla catena "
                              "delle impronte (voce modificata o voce precedente rimossa).")
        previous = row["entry_hash"]
    return ChainCheck(True, len(frame), None,
                      f"Registro integro: {len(frame)} voci, catena delle impronte verificata.")


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Log entries as an Italian table (headers of :data:`EXPORT_COLUMNS`, action labels)."""
    out = frame.reindex(columns=list(EXPORT_COLUMNS)).copy()
    out["action"] = out["action"].map(lambda a: ACTION_LABELS.get(a, a))
    for col in ("role", "record_key", "pro_com_t", "before_json", "after_json"):
        out[col] = out[col].astype("object").where(out[col].notna(), "")
    return out.rename(columns=EXPORT_COLUMNS)


def neutralise(value: object) -> object:
    """Prefix ``'`` to text a spreadsheet would run as a formula (CSV injection, OWASP)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as CSV for Italian spreadsheets: UTF-8 with BOM, ``;``, formulas neutralised."""
    text = frame.astype("object").where(frame.notna(), "").map(lambda v: neutralise(str(v)))
    buffer = io.StringIO()
    text.to_csv(buffer, sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


def export_csv(store: Store, actor: User | None, **filters: Any) -> bytes:
    """The (filtered) log as CSV for ``actor`` (``export_audit``); the export itself is recorded."""
    require(actor, "export_audit")
    frame = entries(store, actor, **filters)
    data = csv_bytes(display_frame(frame))
    with store.transaction() as cur:
        record(store, cur, actor, action="esportazione", table="audit_log",
               after={"voci": len(frame), "filtri": {k: v for k, v in filters.items() if v is not None},
                      "ultima_impronta": None if frame.empty else frame["entry_hash"].iloc[-1]})
    return data
