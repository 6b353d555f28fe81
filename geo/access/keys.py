"""Secret keys kept outside the database: the audit-chain HMAC keys and the session-token key.

Where the keys come from (first match wins):

1. environment variables, for a secrets manager or a service unit:
   ``LANTERNA_AUDIT_KEY`` (the current audit key; at least 32 characters),
   ``LANTERNA_AUDIT_OLD_KEYS`` (retired audit keys, comma-separated, still needed to verify the
   entries they signed) and ``LANTERNA_SESSION_KEY``;
2. the secrets file :func:`geo.config.secrets_file` (``LANTERNA_SECRETS_FILE``; by default
   ``data/secrets/lanterna_keys.json``), **created on first use** with owner-only permissions
   (directory 0700, file 0600) and 32 random bytes per key from :mod:`secrets`.

A key is named by its *key id*, the first 16 hex digits of its SHA-256: the audit log stores the
id with every entry, never the key. :func:`rotate_audit_key` adds a new current key to the file
and keeps the old ones (an entry can only be verified with the key that signed it).

Why outside the database: whoever can write the database file (a copy, a backup, a stolen
disk, direct SQL) but cannot read the key cannot recompute the chain. Whoever can read the key
*and* write the database can: keep the key readable only by the account that runs Lanterna,
or give it through the environment from a secrets manager (docs/AUTH.md, *Audit log*).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from geo import config

_KEY_BYTES = 32
_MIN_ENV_KEY = 32


class KeyStoreError(RuntimeError):
    """A key that cannot be read or created; ``str(exc)`` is Italian."""


def key_id(key: bytes) -> str:
    """The public name of a key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    """The audit keys by id (``current`` signs new entries) and the session key.

    ``source`` says where they came from (``"ambiente"`` or the secrets file's path).
    """

    current: str
    audit: dict[str, bytes] = field(repr=False)
    session: bytes = field(repr=False)
    source: str = ""

    def audit_key(self, kid: str) -> bytes | None:
        """The audit key with id ``kid``, or None when it is not available."""
        return self.audit.get(kid)


def _env_key(name: str) -> bytes | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if len(value) < _MIN_ENV_KEY:
        raise KeyStoreError(f"La variabile {name} deve contenere una chiave di almeno {_MIN_ENV_KEY} caratteri "
                        "(per esempio: python -c 'import secrets; print(secrets.token_hex(32))').")
    return value.encode("utf-8")


def _new_key() -> str:
    return secrets.token_hex(_KEY_BYTES)


def _write_private(path: Path, content: dict, *, exclusive: bool) -> None:
    """Write ``content`` as JSON readable only by the owner (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    text = json.dumps(content, indent=2, sort_keys=True).encode("utf-8")
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
        return
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _read_file(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"Impossibile leggere il file delle chiavi {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("audit_current") not in (data.get("audit_keys") or {}):
        raise KeyStoreError(f"Il file delle chiavi {path} non è valido (manca la chiave corrente del registro).")
    return data


def _create_file(path: Path) -> dict:
    audit_key = _new_key()
    data = {"audit_current": key_id(audit_key.encode()), "audit_keys": {key_id(audit_key.encode()): audit_key},
            "session_key": _new_key()}
    try:
        _write_private(path, data, exclusive=True)
    except FileExistsError:  # another process created it meanwhile
        return _read_file(path)
    return data


def load_keys(path: Path | None = None) -> KeyRing:
    """The key ring (module notes); the secrets file is created on first use when no
    environment variable gives the audit key."""
    env_audit = _env_key("LANTERNA_AUDIT_KEY")
    env_session = _env_key("LANTERNA_SESSION_KEY")
    if env_audit is not None:
        ring = {key_id(env_audit): env_audit}
        for old in os.environ.get("LANTERNA_AUDIT_OLD_KEYS", "").split(","):
            if old.strip():
                ring[key_id(old.strip().encode())] = old.strip().encode()
        session = env_session or hashlib.sha256(b"lanterna-session|" + env_audit).digest()
        return KeyRing(current=key_id(env_audit), audit=ring, session=session, source="ambiente")
    path = Path(path) if path else config.secrets_file()
    data = _read_file(path) if path.exists() else _create_file(path)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)  # owner-only, even if someone loosened it
    keys = {str(k): str(v).encode() for k, v in data["audit_keys"].items()}
    session = env_session or str(data.get("session_key") or "").encode()
    if not session:
        raise KeyStoreError(f"Il file delle chiavi {path} non contiene la chiave delle sessioni.")
    return KeyRing(current=str(data["audit_current"]), audit=keys, session=session, source=str(path))


def rotate_audit_key(path: Path | None = None) -> tuple[str, str]:
    """Add a new current audit key to the secrets file, keeping the old ones; returns
    (old id, new id). With ``LANTERNA_AUDIT_KEY`` set, rotation is done in the secrets manager."""
    if os.environ.get("LANTERNA_AUDIT_KEY"):
        raise KeyStoreError("La chiave del registro viene dalla variabile LANTERNA_AUDIT_KEY: ruotarla nel gestore "
                            "dei segreti (nuova chiave in LANTERNA_AUDIT_KEY, la vecchia in LANTERNA_AUDIT_OLD_KEYS).")
    path = Path(path) if path else config.secrets_file()
    data = _read_file(path) if path.exists() else _create_file(path)
    old = str(data["audit_current"])
    new_key = _new_key()
    new = key_id(new_key.encode())
    data["audit_keys"] = {**data["audit_keys"], new: new_key}
    data["audit_current"] = new
    _write_private(path, data, exclusive=False)
    return old, new
