"""The audit trail (pact art. 19): an append-only log of every write, who made it and what changed.

Every function of ``geo`` that writes (accounts, reports and their events and photos, imports,
the homeless-service census) calls :func:`record` **inside its own transaction**, so a change
and its audit entry are committed together or not at all. An entry holds who (username and
role), when (UTC), what (action, table, key, comune) and the state before and after as JSON.

Append-only and tamper-evident
------------------------------
* There is no function to change or remove an entry, here or in :mod:`geo.data.storage`; the
  generic writers of the store (``write_frame``, ``table``, ``count``) refuse ``audit_log``.
* Entries form a **keyed chain**: each stores an HMAC-SHA256 (:func:`entry_mac`) of its content,
  of the previous entry's MAC and of the chain's id (``meta.audit_chain_id``), under a key kept
  **outside the database** (:mod:`geo.access.keys`), and the id of that key. Without the key
  nobody can recompute the chain after changing or removing an entry.
* Ids have no gaps (each is the previous one plus one), so a removed entry shows as a gap.
* The **head** (last id and MAC) is kept in ``meta.audit_head`` with its own MAC, in the same
  transaction as the entry: removing the newest entries leaves a head that points past the end.
* **Anchors** (:func:`anchor`): the head appended to a file outside the database
  (:func:`geo.config.anchor_file`, append-only) and printed on every export, agenda, dossier
  and report, so a truncation or a rewrite shows against any earlier anchor or printout.
* Key rotation (:func:`rotate_key`): a new key signs from a ``rotazione_chiave`` entry on; old
  keys stay in the key file to verify what they signed, and an entry signed after a rotation
  with an older key is refused (a leaked old key cannot extend the chain).
* Entries written before the keyed chain existed (schema 2, ``key_id`` NULL) keep their plain
  SHA-256 (:func:`entry_hash`); they are accepted only before the first keyed entry, which
  chains to them, so they cannot be rewritten either once a keyed entry follows.

:func:`verify_chain` checks all of this and says what is wrong and from which entry
(``python -m geo audit verifica``).

Reading is for the Prefettura (``view_audit``/``export_audit`` in :mod:`geo.access.permissions`);
exports are recorded in the log as well. Secrets never enter the log: keys listed in
:data:`SECRET_KEYS` are replaced by ``"***"``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from geo import config
from geo.access import keys as keyring
from geo.access.permissions import SYSTEM, User, require
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
    "rallentamento": "Accesso rallentato dopo tentativi falliti",
    "rotazione_chiave": "Rotazione della chiave del registro",
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
    "entry_hash": "Impronta (HMAC-SHA256)",
    "key_id": "Chiave di firma",
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


def _payload_text(entry: Mapping[str, Any]) -> str:
    """The canonical text of an entry's content and its predecessor's hash."""
    at = entry["logged_at"]
    at_text = pd.Timestamp(at).isoformat() if at is not None else ""
    def text(key: str) -> str | None:  # a value read back from a DataFrame may be NaN for NULL
        value = entry[key]
        return None if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)

    payload = [int(entry["audit_id"]), at_text, *(text(k) for k in (
        "username", "role", "action", "table_name", "record_key", "pro_com_t", "before_json", "after_json",
        "prev_hash"))]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: Mapping[str, Any]) -> str:
    """Plain SHA-256 (hex) of an entry: the unkeyed hash of the entries written before the keyed
    chain (``key_id`` NULL). Anybody can compute it: it protects nothing on its own."""
    return hashlib.sha256(_payload_text(entry).encode("utf-8")).hexdigest()


def entry_mac(entry: Mapping[str, Any], key: bytes, chain_id: str) -> str:
    """HMAC-SHA256 (hex) of an entry's content, its predecessor's MAC and the chain id."""
    message = f"lanterna-audit|{chain_id}|{_payload_text(entry)}"
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, chain_id: str, audit_id: int, mac: str) -> str:
    return hmac.new(key, f"lanterna-head|{chain_id}|{audit_id}|{mac}".encode(), hashlib.sha256).hexdigest()


def _chain_id(store: Store, cur=None, *, create: bool = False) -> str | None:
    chain = store.get_meta("audit_chain_id", cur=cur)
    if chain is None and create:
        chain = secrets.token_hex(16)
        store.set_meta(cur, "audit_chain_id", chain)
    return chain


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
    ring = keyring.load_keys()
    chain = _chain_id(store, cur, create=True)
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
    key = ring.audit_key(ring.current)
    entry["key_id"] = ring.current
    entry["entry_hash"] = entry_mac(entry, key, chain)
    store.insert_audit(cur, entry)
    store.set_meta(cur, "audit_head", json.dumps({
        "audit_id": entry["audit_id"], "mac": entry["entry_hash"], "key_id": ring.current,
        "head_mac": _head_mac(key, chain, entry["audit_id"], entry["entry_hash"])}))
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
    """Outcome of :func:`verify_chain`: ``ok``, entries checked, the first entry from which the
    log cannot be trusted (None when intact), an Italian summary and every problem found."""

    ok: bool
    checked: int
    first_bad: int | None
    message: str
    problems: tuple[str, ...] = ()
    anchors: int = 0


def _text(value: Any) -> str | None:
    return None if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)


def verify_chain(store: Store, *, anchors_path: os.PathLike | str | None = None) -> ChainCheck:
    """Check the whole log (read-only; no permission is needed to *check*).

    Checks, in order: ids start at 1 without gaps; each entry links to the previous one; each
    MAC is right under the key it names (and that key is the one in force after the last
    rotation); unkeyed entries come only before the first keyed one; the head in
    ``meta.audit_head`` is authentic and is the last entry; every anchor of this chain in the
    anchor file matches its entry. The answer names the first entry from which the log cannot be
    trusted and lists every problem in Italian.
    """
    frame = store.audit_frame()
    ring = keyring.load_keys()
    chain = _chain_id(store)
    problems: list[tuple[int, str]] = []
    previous, expected_id, current_key, keyed_seen = GENESIS, 1, None, False
    rows = frame.to_dict("records")
    for row in rows:
        audit_id = int(row["audit_id"])
        if audit_id != expected_id:
            if audit_id > expected_id:
                span = f"la voce n. {expected_id}" if audit_id == expected_id + 1 else \
                    f"le voci dalla n. {expected_id} alla n. {audit_id - 1}"
                problems.append((expected_id, f"manca {span} (numerazione interrotta: voci rimosse)"))
            else:
                problems.append((audit_id, f"la voce n. {audit_id} è fuori sequenza"))
        expected_id = audit_id + 1
        kid = _text(row.get("key_id"))
        if row["prev_hash"] != previous:
            problems.append((audit_id, f"la voce n. {audit_id} non si collega alla precedente (voce precedente "
                                       "modificata o rimossa)"))
        if kid is None:
            if keyed_seen:
                problems.append((audit_id, f"la voce n. {audit_id} non ha chiave dopo voci con chiave "
                                           "(riscritta senza chiave)"))
            elif row["entry_hash"] != entry_hash(row):
                problems.append((audit_id, f"la voce n. {audit_id} (senza chiave, anteriore alla versione 3) "
                                           "è stata modificata"))
        else:
            keyed_seen = True
            key = ring.audit_key(kid)
            if key is None or chain is None:
                problems.append((audit_id, f"la voce n. {audit_id} è firmata con la chiave {kid}, non disponibile "
                                           f"in {ring.source or 'LANTERNA_AUDIT_KEY'}: impossibile verificarla"))
            elif not hmac.compare_digest(str(row["entry_hash"]), entry_mac(row, key, chain)):
                problems.append((audit_id, f"la voce n. {audit_id} è stata modificata (impronta HMAC non valida)"))
            if row["action"] == "rotazione_chiave":
                try:
                    rotation = json.loads(row["after_json"] or "{}")
                except ValueError:
                    rotation = {}
                if rotation.get("chiave_nuova") != kid or (
                        current_key is not None and rotation.get("chiave_precedente") != current_key):
                    problems.append((audit_id, f"la rotazione n. {audit_id} non è firmata con la nuova chiave o non "
                                               "segue la chiave in vigore"))
            elif current_key is not None and kid != current_key:
                problems.append((audit_id, f"la voce n. {audit_id} usa la chiave {kid} invece di {current_key}, "
                                           "in vigore dall'ultima rotazione"))
            current_key = kid
        previous = str(row["entry_hash"])
    last_id = int(rows[-1]["audit_id"]) if rows else 0
    problems += _check_head(store, ring, chain, rows, last_id)
    path = config.anchor_file(store.path) if anchors_path is None else anchors_path
    anchor_problems, n_anchors = _check_anchors(path, chain, {int(r["audit_id"]): str(r["entry_hash"]) for r in rows},
                                                last_id)
    problems += anchor_problems
    if not problems:
        legacy = sum(1 for r in rows if _text(r.get("key_id")) is None)
        note = f" ({legacy} voci anteriori alla chiave, verificate con SHA-256)" if legacy else ""
        anchored = f", {n_anchors} ancore confermate" if n_anchors else ""
        return ChainCheck(True, len(rows), None, f"Registro integro: {len(rows)} voci, catena con chiave "
                          f"verificata{anchored}{note}.", (), n_anchors)
    problems.sort(key=lambda p: p[0])
    first = problems[0][0]
    texts = tuple(p[1] for p in problems)
    message = (f"Registro alterato dalla voce n. {first}: " + "; ".join(texts[:5])
               + (f"; e altri {len(texts) - 5} problemi" if len(texts) > 5 else "") + ".")
    return ChainCheck(False, len(rows), first, message, texts, n_anchors)


def _check_head(store: Store, ring: keyring.KeyRing, chain: str | None, rows: list[dict], last_id: int
                ) -> list[tuple[int, str]]:
    raw = store.get_meta("audit_head")
    keyed = [r for r in rows if _text(r.get("key_id")) is not None]
    if raw is None:
        if keyed or chain is not None:
            return [(last_id + 1 if not keyed else int(keyed[0]["audit_id"]),
                     "manca la testa del registro (meta.audit_head): registro troncato o manomesso")]
        return []
    try:
        head = json.loads(raw)
        head_id, head_mac, kid = int(head["audit_id"]), str(head["mac"]), str(head["key_id"])
    except (ValueError, KeyError, TypeError):
        return [(last_id + 1, "la testa del registro (meta.audit_head) è illeggibile")]
    key = ring.audit_key(kid)
    if key is None or chain is None or not hmac.compare_digest(str(head.get("head_mac")),
                                                                _head_mac(key, chain, head_id, head_mac)):
        return [(min(head_id, last_id + 1), "la testa del registro (meta.audit_head) non è autentica")]
    if head_id > last_id:
        span = (f"la voce n. {head_id}" if head_id == last_id + 1
                else f"le voci dalla n. {last_id + 1} alla n. {head_id}")
        return [(last_id + 1, f"mancano in coda {span}: registro troncato")]
    if head_id < last_id:
        return [(head_id + 1, f"le voci dopo la n. {head_id} non risultano nella testa del registro "
                              "(aggiunte senza la chiave)")]
    if rows and str(rows[-1]["entry_hash"]) != head_mac:
        return [(last_id, f"la voce n. {last_id} non corrisponde alla testa del registro")]
    return []


def _check_anchors(path: os.PathLike | str, chain: str | None, macs: dict[int, str], last_id: int
                   ) -> tuple[list[tuple[int, str]], int]:
    problems: list[tuple[int, str]] = []
    confirmed = 0
    for anchor_ in read_anchors(path):
        if anchor_.get("chain") != chain:
            continue
        audit_id, mac, at = int(anchor_.get("audit_id", 0)), str(anchor_.get("mac", "")), anchor_.get("at", "?")
        if audit_id == 0:
            continue
        if audit_id > last_id:
            problems.append((last_id + 1, f"l'ancora del {at} attesta la voce n. {audit_id}, oltre l'ultima "
                                          f"(n. {last_id}): registro troncato"))
        elif macs.get(audit_id) != mac:
            problems.append((audit_id, f"la voce n. {audit_id} non corrisponde all'ancora del {at} "
                                       "(riscritta o rimossa)"))
        else:
            confirmed += 1
    return problems, confirmed


# --------------------------------------------------------------------------------------------
# Anchors
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Anchor:
    """The chain's head at a moment: last entry id, its MAC, when (UTC) and the chain id."""

    audit_id: int
    mac: str
    at: datetime
    chain: str | None

    @property
    def text(self) -> str:
        """The line printed on exports and reports (Italian)."""
        if self.audit_id == 0:
            return f"Registro delle modifiche: vuoto (ancora {self.at:%d/%m/%Y %H:%M} UTC)."
        return (f"Registro delle modifiche: voce n. {self.audit_id}, impronta {self.mac[:16]}… "
                f"(ancora {self.at:%d/%m/%Y %H:%M:%S} UTC).")


def read_anchors(path: os.PathLike | str) -> list[dict]:
    """The anchors written to ``path`` (unreadable lines are skipped; a missing file has none)."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def anchor(store: Store, *, reason: str, path: os.PathLike | str | None = None) -> Anchor:
    """Append the chain's current head to the anchor file (opened append-only, owner-only) and
    return it, for printing on an export (``reason`` says which)."""
    tail = store.audit_tail(store.cursor())
    found = Anchor(audit_id=0 if tail is None else tail[0], mac=GENESIS if tail is None else tail[1], at=utcnow(),
                   chain=_chain_id(store))
    target = config.anchor_file(store.path) if path is None else path
    line = json.dumps({"at": found.at.isoformat(timespec="seconds") + "Z", "chain": found.chain,
                       "audit_id": found.audit_id, "mac": found.mac, "motivo": str(reason)[:80],
                       "database": os.path.basename(str(store.path))}, ensure_ascii=False)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return found


def stamp(data: bytes | str, found: Anchor, fmt: str) -> bytes:
    """``data`` (an export) with the anchor printed in it, in the way its format allows.

    ``csv``: a last line ``# Registro delle modifiche: voce n. …`` (after the table, so a
    spreadsheet shows it as a row of text); ``geojson``: a top-level member
    ``lanterna_registro`` (a GeoJSON foreign member, ignored by GIS tools); ``html``: a paragraph
    before ``</body>``. Text keeps its encoding (a UTF-8 BOM stays first).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if fmt == "csv":
        newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
        tail = b"" if raw.endswith((b"\n", b"\r\n")) or not raw else newline
        return raw + tail + ("# " + found.text).encode("utf-8") + newline
    if fmt == "geojson":
        bom = raw.startswith(b"\xef\xbb\xbf")
        document = json.loads(raw.decode("utf-8-sig"))
        document["lanterna_registro"] = {"voce": found.audit_id, "impronta": found.mac, "catena": found.chain,
                                         "ancora": found.at.isoformat(timespec="seconds") + "Z", "testo": found.text}
        text = json.dumps(document, ensure_ascii=False)
        return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    if fmt == "html":
        import html as html_module

        paragraph = (f'<p class="lanterna-registro" style="font-size:0.8em;color:#555">'
                     f"{html_module.escape(found.text)}</p>").encode()
        at = raw.lower().rfind(b"</body>")
        return raw[:at] + paragraph + raw[at:] if at >= 0 else raw + paragraph
    raise ValueError(f"formato sconosciuto: {fmt}")


def rotate_key(store: Store) -> tuple[str, str]:
    """Rotate the audit key (:func:`geo.access.keys.rotate_audit_key`) and record it; the
    command line's job (``python -m geo audit ruota-chiave``). Returns (old id, new id)."""
    check = verify_chain(store)
    if not check.ok:
        raise RuntimeError("Registro non integro: verificarlo prima di ruotare la chiave. " + check.message)
    if os.environ.get("LANTERNA_AUDIT_KEY"):
        # the keys come from the environment: the new one is already LANTERNA_AUDIT_KEY, the old
        # one in LANTERNA_AUDIT_OLD_KEYS; record the change from the key of the last entry
        signed = store.audit_frame(limit=1)
        old = None if signed.empty else _text(signed["key_id"].iloc[-1])
        new = keyring.load_keys().current
        if old is None or old == new:
            raise keyring.KeyStoreError("LANTERNA_AUDIT_KEY è già la chiave dell'ultima voce: impostare la nuova "
                                        "chiave in LANTERNA_AUDIT_KEY e la vecchia in LANTERNA_AUDIT_OLD_KEYS.")
    else:
        old, new = keyring.rotate_audit_key()
    with store.transaction() as cur:
        record(store, cur, SYSTEM, action="rotazione_chiave", table="audit_log",
               after={"chiave_precedente": old, "chiave_nuova": new})
    return old, new


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Log entries as an Italian table (headers of :data:`EXPORT_COLUMNS`, action labels)."""
    out = frame.reindex(columns=list(EXPORT_COLUMNS)).copy()
    out["key_id"] = out["key_id"].astype("object").where(out["key_id"].notna(), "")
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
