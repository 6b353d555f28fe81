"""Accounts and authentication: local users with argon2id passwords, and OpenID Connect mapping.

No Streamlit here: the login form, ``st.login`` and the session live in ``pages/``; this module
decides whether a name and a password (or an identity from the provider) make a Lanterna
:class:`~geo.access.permissions.User`.

Passwords
---------
* Hashed with **argon2id** through ``argon2-cffi``'s :class:`~argon2.PasswordHasher` (its
  defaults: RFC 9106 low-memory profile, t = 3, m = 64 MiB, p = 4; a random salt per hash).
  Verification is the library's, constant-time. When the parameters change (a newer library or
  a stronger :data:`HASHER`), the next successful login re-hashes the password
  (``check_needs_rehash``).
* A login name that does not exist, a disabled account and a wrong password get the same
  message, and unknown names are verified against a dummy hash so that the answer takes the same
  time.
* **Throttling that a stranger cannot turn against an account** (no lockout): failures are
  counted per *client address* (:func:`client_address`) and per *account name*. After
  :data:`CLIENT_FREE_FAILURES` failures an address must wait :data:`CLIENT_DELAY_BASE` before
  its next attempt, doubling up to :data:`CLIENT_DELAY_MAX`; after
  :data:`ACCOUNT_FREE_FAILURES` failures on a name, attempts on it from addresses that have
  failed themselves wait :data:`ACCOUNT_DELAY_BASE`, doubling up to :data:`ACCOUNT_DELAY_MAX`.
  An address without failures of its own is never delayed by the account's counter, so someone
  guessing the Prefettura's password from elsewhere slows only himself. A refused attempt checks
  no password and counts nothing. A success resets the account's counter (not the address's:
  logging into one's own account must not buy more guesses at another). Failures older than
  :data:`FAILURE_MEMORY` are forgotten. Every failure is in the audit log with the address and
  the delay (``accesso_fallito``, or ``rallentamento`` when a delay starts).
* Passwords are at least :data:`MIN_PASSWORD_LENGTH` characters and never contain the
  login name; the command line reads them with ``getpass`` or from standard input, never
  from its arguments.

Sessions
--------
A password login gets a **session token** (:func:`issue_session`) that the dashboard keeps in a
cookie, so that a browser reload does not log out. The token is
``v1.<secret>.<expiry>.<signature>``: 32 random bytes, the absolute expiry
(:data:`SESSION_MAX_AGE`) and an HMAC-SHA256 under the session key (:mod:`geo.access.keys`) that
binds both to the account. The ``sessions`` table stores only the SHA-256 of the secret, the
account, the times and the revocation: :func:`resume_session` accepts a token only if its
signature is right, it is not expired, revoked or idle for :data:`SESSION_IDLE`, and the account
is active. Logging out (:func:`revoke_session`), a password change and disabling the account
revoke it on the server: a copied cookie is worthless afterwards.

OpenID Connect
--------------
When ``.streamlit/secrets.toml`` has an ``[auth]`` section with a provider (see
``docs/AUTH.md``), the login page offers ``st.login``; the identity's e-mail (verified, when the
provider says) is matched case-insensitively to the ``email`` of one active account, whose role
and comuni apply. An identity without an account gets no access.

Every change to accounts and every login (successful or not) is recorded in the audit log
(:mod:`geo.access.audit`), without passwords or hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geo.access import audit
from geo.access import keys as keyring
from geo.access.permissions import (
    COMUNE,
    SYSTEM,
    SYSTEM_ROLE,
    PermissionDenied,
    User,
    normalise_comuni,
    require,
    role_label,
)
from geo.access.privacy import ROLES
from geo.data.storage import Store

#: The password hasher (argon2id with argon2-cffi's defaults). Tests may swap it for a cheaper one.
HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
#: Login names: lower case letters, digits, ``.``, ``_``, ``-``; 3 to 40 characters.
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,39}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Failures from one client address before its attempts are delayed, first delay, longest delay.
CLIENT_FREE_FAILURES = 5
CLIENT_DELAY_BASE = timedelta(seconds=2)
CLIENT_DELAY_MAX = timedelta(minutes=15)
#: Failures on one account name before attempts on it (from addresses that failed) are delayed.
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_DELAY_BASE = timedelta(seconds=1)
ACCOUNT_DELAY_MAX = timedelta(seconds=30)
FAILURE_MEMORY = timedelta(hours=24)
#: A session ends after this long without interaction, and in any case after SESSION_MAX_AGE.
SESSION_IDLE = timedelta(minutes=60)
SESSION_MAX_AGE = timedelta(hours=12)
#: last_seen of a session is written at most this often (a write per click is not needed).
SESSION_TOUCH_EVERY = timedelta(minutes=1)
_FORMAT_VERSION = "v1"
#: The address recorded when the request does not give one (tests, command line).
UNKNOWN_CLIENT = "sconosciuto"
#: Password of every demo account: documented in the README, for the demo database only.
DEMO_PASSWORD = "lanterna-demo"  # noqa: S105 - public by design (README), refused nowhere but never on real data

GENERIC_FAILURE = "Nome utente o password non validi."


class AuthError(ValueError):
    """A login or an account change that cannot be done; ``str(exc)`` is Italian."""


class LoginDelayed(AuthError):  # noqa: N818 - a kind of AuthError, named for what happened
    """Too many recent failures from this address (or on this account from it): try again at
    :attr:`until` (UTC); no password was checked."""

    def __init__(self, message: str, *, until: datetime, scope: str) -> None:
        super().__init__(message)
        self.until = until
        self.scope = scope


@cache
def _dummy_hash() -> str:
    return HASHER.hash("lanterna: nessun utente con questo nome")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def normalise_username(name: str) -> str:
    """How a typed login name is looked up: NFKC, trimmed, lower case, at most 60 characters."""
    return _fold(name).lower()[:60]


def comuni_text(codes: Iterable[str]) -> str:
    """ISTAT codes as stored in ``users.comuni`` (comma-separated, sorted)."""
    return ",".join(normalise_comuni(codes))


def user_from_row(row: Mapping[str, object]) -> User:
    """A :class:`User` from a ``users`` row (unknown roles are refused: no silent privilege)."""
    role = str(row["role"])
    if role not in ROLES:
        raise AuthError(f"Il ruolo «{role}» dell'utente {row['username']} non esiste.")
    codes = [c for c in str(row.get("comuni") or "").split(",") if c]
    return User(username=str(row["username"]), role=role, comuni=normalise_comuni(codes),
                display_name=str(row.get("display_name") or row["username"]),
                email=None if row.get("email") in (None, "") else str(row["email"]),
                active=bool(row.get("active", True)))


def get_user(store: Store, username: str) -> User | None:
    """The account ``username`` (active or not), or None."""
    row = store.user_row(normalise_username(username))
    return None if row is None else user_from_row(row)


def list_users(store: Store, actor: User | None) -> pd.DataFrame:
    """Every account without secrets (``manage_users``)."""
    require(actor, "manage_users")
    return store.users_frame()


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

def check_username(username: str) -> str:
    """The normalised login name, or :class:`AuthError` when it does not follow the rules."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name) or name == SYSTEM.username:
        raise AuthError(f"Nome utente non valido: «{username}». Usare da 3 a 40 caratteri tra lettere minuscole, "
                        "cifre, punto, trattino e trattino basso (non «sistema»).")
    return name


def check_password(password: str, *, username: str = "") -> None:
    """Raise :class:`AuthError` unless the password follows the policy (module notes)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"La password deve avere almeno {MIN_PASSWORD_LENGTH} caratteri.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError(f"La password può avere al massimo {MAX_PASSWORD_LENGTH} caratteri.")
    if password.strip() != password or "\n" in password:
        raise AuthError("La password non può iniziare o finire con spazi né contenere a capo.")
    if username and normalise_username(username) in password.lower():
        raise AuthError("La password non può contenere il nome utente.")


def _check_role(store: Store, role: str, comuni: Iterable[str]) -> tuple[str, ...]:
    if role == SYSTEM_ROLE or role not in ROLES:
        raise AuthError(f"Ruolo sconosciuto: «{role}». Ruoli: {', '.join(ROLES)}.")
    codes = normalise_comuni(comuni)
    if role == COMUNE and not codes:
        raise AuthError("Un utente con ruolo «Comune» deve essere legato ad almeno un codice ISTAT di comune.")
    if role != COMUNE and codes:
        raise AuthError(f"Solo il ruolo «Comune» è legato a codici ISTAT, non «{role_label(role)}».")
    known = set(store.comuni()["pro_com_t"])
    unknown = [c for c in codes if known and c not in known]
    if unknown:
        raise AuthError(f"Codici ISTAT non presenti nel territorio: {', '.join(unknown)}.")
    return codes


def _check_email(store: Store, email: str | None, *, username: str) -> str | None:
    if email is None or not str(email).strip():
        return None
    email = _fold(email)
    if not EMAIL_PATTERN.fullmatch(email) or len(email) > 254:
        raise AuthError(f"Indirizzo e-mail non valido: «{email}».")
    others = [u["username"] for u in store.users_by_email(email) if u["username"] != username]
    if others:
        raise AuthError(f"L'indirizzo {email} è già associato all'utente {others[0]}.")
    return email


def _public(row: Mapping[str, object] | None) -> dict | None:
    """An account row for the audit log (the hash replaced by whether there is one)."""
    if row is None:
        return None
    out = {k: v for k, v in row.items() if k != "password_hash"}
    out["password_impostata"] = bool(row.get("password_hash"))
    return out


# --------------------------------------------------------------------------------------------
# Account management (manage_users; the command line acts as SYSTEM)
# --------------------------------------------------------------------------------------------

def add_user(
    store: Store,
    actor: User | None,
    *,
    username: str,
    password: str | None,
    role: str,
    comuni: Iterable[str] = (),
    display_name: str | None = None,
    email: str | None = None,
    cur=None,
) -> User:
    """Create an account.

    Parameters
    ----------
    store, actor
        The database and who creates it (``manage_users``).
    username, password
        Login name (:func:`check_username`) and password (:func:`check_password`); ``None``
        creates an account that can only sign in through OpenID Connect.
    role, comuni
        Role (:data:`geo.access.privacy.ROLES`) and, for ``comune`` only, its ISTAT codes.
    display_name, email
        Name shown; e-mail matched to an OpenID Connect identity (unique).
    cur
        A transaction already open (the demo build); by default a new one.
    """
    require(actor, "manage_users")
    name = check_username(username)
    codes = _check_role(store, role, comuni)
    if password is not None:
        check_password(password, username=name)
    row = {
        "username": name, "display_name": _fold(display_name or name)[:120] or name, "role": role,
        "comuni": comuni_text(codes), "email": None,
        "password_hash": None if password is None else HASHER.hash(password), "active": True,
        "created_at": audit.utcnow(), "updated_at": None, "last_login": None,
    }

    def write(c) -> None:
        row["email"] = _check_email(store, email, username=name)
        if store.user_row(name, cur=c) is not None:
            raise AuthError(f"L'utente {name} esiste già.")
        store.insert_user(c, row)
        audit.record(store, c, actor, action="utente_creato", table="users", key=name,
                     pro_com_t=row["comuni"] or None, after=_public(row))

    if cur is not None:
        write(cur)
    else:
        with store.transaction() as c:
            write(c)
    return user_from_row(row)


def _change(store: Store, actor: User | None, username: str, fields: dict, *, action: str,
            revoke: str | None = None) -> User:
    """Change an account; ``revoke`` (a reason) also ends all its open sessions, in the same
    transaction and audit entry."""
    require(actor, "manage_users")
    name = normalise_username(username)
    with store.transaction() as cur:
        before = store.user_row(name, cur=cur)
        if before is None:
            raise AuthError(f"Utente sconosciuto: {username}.")
        now = audit.utcnow()
        fields = {**fields, "updated_at": now}
        store.update_user(cur, name, fields)
        after = store.user_row(name, cur=cur)
        public_after = _public(after)
        if revoke:
            public_after["sessioni_revocate"] = store.revoke_sessions(cur, at=now, reason=revoke, username=name)
        audit.record(store, cur, actor, action=action, table="users", key=name,
                     pro_com_t=after["comuni"] or None, before=_public(before), after=public_after)
    return user_from_row(after)


def set_password(store: Store, actor: User | None, username: str, password: str) -> User:
    """Set a new password (``manage_users``): every open session of the account is revoked and
    its failed-login counter reset."""
    name = normalise_username(username)
    check_password(password, username=name)
    user = _change(store, actor, name, {"password_hash": HASHER.hash(password)}, action="password_cambiata",
                   revoke="password cambiata")
    with store.transaction() as cur:
        store.clear_attempts(cur, "account", name)
    return user


def set_active(store: Store, actor: User | None, username: str, active: bool) -> User:
    """Enable or disable an account (``manage_users``); a disabled account cannot log in and its
    open sessions are revoked."""
    return _change(store, actor, username, {"active": bool(active)}, action="utente_modificato",
                   revoke=None if active else "utente disattivato")


def set_role(store: Store, actor: User | None, username: str, role: str, comuni: Iterable[str] = ()) -> User:
    """Change an account's role and comuni (``manage_users``)."""
    codes = _check_role(store, role, comuni)
    return _change(store, actor, username, {"role": role, "comuni": comuni_text(codes)}, action="utente_modificato")


def set_details(store: Store, actor: User | None, username: str, *, display_name: str | None = None,
                email: str | None = None) -> User:
    """Change the name shown and/or the e-mail of an account (``manage_users``)."""
    fields: dict = {}
    name = normalise_username(username)
    if display_name is not None:
        fields["display_name"] = _fold(display_name)[:120] or name
    if email is not None:
        fields["email"] = _check_email(store, email, username=name)
    return _change(store, actor, name, fields, action="utente_modificato")


# --------------------------------------------------------------------------------------------
# Login
# --------------------------------------------------------------------------------------------

def delay_after(failures: int, *, free: int, base: timedelta, cap: timedelta) -> timedelta:
    """How long the next attempt waits after ``failures`` recent failures: nothing up to
    ``free``, then ``base`` doubling with each failure, at most ``cap``."""
    if failures < free:
        return timedelta(0)
    return min(base * (2 ** min(failures - free, 20)), cap)


def client_delay(failures: int) -> timedelta:
    """Delay of a client address after ``failures`` failures (module notes)."""
    return delay_after(failures, free=CLIENT_FREE_FAILURES, base=CLIENT_DELAY_BASE, cap=CLIENT_DELAY_MAX)


def account_delay(failures: int) -> timedelta:
    """Delay on an account name after ``failures`` failures (module notes)."""
    return delay_after(failures, free=ACCOUNT_FREE_FAILURES, base=ACCOUNT_DELAY_BASE, cap=ACCOUNT_DELAY_MAX)


def _in_networks(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: str | None, forwarded_for: str | None = None, *,
                   trusted_proxies: Iterable[str] = ()) -> str:
    """The address a login attempt comes from.

    ``peer`` is the address of the connection; ``forwarded_for`` the ``X-Forwarded-For``
    header. The header is believed only when the connection comes from one of
    ``trusted_proxies`` (addresses or CIDR networks, ``LANTERNA_TRUSTED_PROXIES``): then the
    address is the right-most one in the header that is not itself a trusted proxy (the left
    part of the header is written by the client and could be anything). Without a trusted proxy
    the header is ignored, so a client cannot pick its own address to escape its delays.
    """
    trusted = tuple(trusted_proxies)
    peer = (peer or "").strip()
    if not peer:
        return UNKNOWN_CLIENT
    if not forwarded_for or not trusted or not _in_networks(peer, trusted):
        return peer
    hops = [h.strip() for h in str(forwarded_for).split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed header from a trusted proxy: fall back to the proxy itself
        if not _in_networks(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _seconds(delta: timedelta) -> str:
    seconds = max(1, int(delta.total_seconds() + 0.999))
    if seconds < 120:
        return "1 secondo" if seconds == 1 else f"{seconds} secondi"
    return f"{(seconds + 59) // 60} minuti"


def _recent(row: dict | None, now: datetime) -> int:
    return row["failures"] if row is not None and now - row["last_failure"] < FAILURE_MEMORY else 0


def authenticate(store: Store, username: str, password: str, *, client: str | None = None,
                 now: datetime | None = None) -> User:
    """The active user whose login name and password match, or :class:`AuthError`.

    ``client`` is the address of the request (:func:`client_address`); throttling as in the
    module notes.

    Raises
    ------
    LoginDelayed
        This address (or this account, for an address that failed itself) must wait; no
        password is checked meanwhile and nothing is counted.
    AuthError
        Wrong name or password, or a disabled account (same message for all three).
    """
    now = (now or audit.utcnow()).replace(tzinfo=None)
    key = normalise_username(username)
    address = str(client or UNKNOWN_CLIENT)[:100]
    by_client = store.attempt_row("client", address)
    by_account = store.attempt_row("account", key)
    waits = []
    if by_client and by_client["next_allowed"] is not None and by_client["next_allowed"] > now:
        waits.append((by_client["next_allowed"], "client"))
    if (_recent(by_client, now) > 0 and by_account and by_account["next_allowed"] is not None
            and by_account["next_allowed"] > now):
        waits.append((by_account["next_allowed"], "account"))
    if waits:
        until, scope = max(waits)
        raise LoginDelayed(f"Troppi tentativi non riusciti: riprovare tra {_seconds(until - now)}.",
                           until=until, scope=scope)
    row = store.user_row(key)
    stored = row["password_hash"] if row and row["active"] and row["password_hash"] else None
    try:
        ok = HASHER.verify(stored or _dummy_hash(), password if isinstance(password, str) else "")
        ok = bool(ok) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    who = User(username=key or "?", role=row["role"] if row else "")
    if not ok:
        with store.transaction() as cur:
            n_client = _recent(store.attempt_row("client", address, cur=cur), now) + 1
            n_account = _recent(store.attempt_row("account", key, cur=cur), now) + 1
            wait_client, wait_account = client_delay(n_client), account_delay(n_account)
            store.set_attempt(cur, "client", address, failures=n_client, last_failure=now,
                              next_allowed=now + wait_client if wait_client else None)
            store.set_attempt(cur, "account", key, failures=n_account, last_failure=now,
                              next_allowed=now + wait_account if wait_account else None)
            store.prune_attempts(cur, now - FAILURE_MEMORY)
            audit.record(store, cur, who, action="rallentamento" if wait_client or wait_account else "accesso_fallito",
                         table="users", key=key,
                         after={"indirizzo": address, "tentativi_falliti_indirizzo": n_client,
                                "tentativi_falliti_utente": n_account,
                                "attesa_indirizzo_s": int(wait_client.total_seconds()),
                                "attesa_utente_s": int(wait_account.total_seconds())}, at=now)
        raise AuthError(GENERIC_FAILURE)
    user = user_from_row(row)
    with store.transaction() as cur:
        fields: dict = {"last_login": now}
        if HASHER.check_needs_rehash(stored):
            fields["password_hash"] = HASHER.hash(password)
        store.update_user(cur, key, fields)
        store.clear_attempts(cur, "account", key)
        audit.record(store, cur, user, action="accesso", table="users", key=key,
                     after={"metodo": "password", "hash_aggiornato": "password_hash" in fields,
                            "indirizzo": address}, at=now)
    return user


# --------------------------------------------------------------------------------------------
# Sessions (module notes)
# --------------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _session_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _token_signature(payload: str, username: str) -> str:
    key = keyring.load_keys().session
    return _b64(hmac.new(key, f"lanterna-session|{payload}|{username}".encode(), hashlib.sha256).digest())


def issue_session(store: Store, user: User, *, method: str = "password", client: str | None = None,
                  now: datetime | None = None) -> str:
    """Open a server-side session for ``user`` and return its token (for the cookie)."""
    now = (now or audit.utcnow()).replace(tzinfo=None)
    secret = _b64(secrets.token_bytes(32))
    expires = now + SESSION_MAX_AGE
    payload = f"{_FORMAT_VERSION}.{secret}.{int(expires.timestamp())}"
    token = f"{payload}.{_token_signature(payload, user.username)}"
    with store.transaction() as cur:
        store.prune_sessions(cur, now - SESSION_MAX_AGE)
        store.insert_session(cur, {"session_hash": _session_hash(secret), "username": user.username, "method": method,
                                   "created_at": now, "last_seen": now, "expires_at": expires,
                                   "client": None if client is None else str(client)[:100]})
    return token


def _session_of(store: Store, token: str | None) -> dict | None:
    """The session row a well-formed, correctly signed token names, or None."""
    if not token or not isinstance(token, str) or len(token) > 300:
        return None
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _FORMAT_VERSION:
        return None
    payload, signature = ".".join(parts[:3]), parts[3]
    row = store.session_row(_session_hash(parts[1]))
    if row is None or not hmac.compare_digest(signature, _token_signature(payload, str(row["username"]))):
        return None
    if not parts[2].isdigit() or abs(int(parts[2]) - int(row["expires_at"].timestamp())) > 1:
        return None
    return row


def resume_session(store: Store, token: str | None, *, now: datetime | None = None) -> User | None:
    """The active user of a valid session token, or None (module notes). An idle session is
    revoked here; ``last_seen`` is refreshed at most every :data:`SESSION_TOUCH_EVERY`."""
    now = (now or audit.utcnow()).replace(tzinfo=None)
    row = _session_of(store, token)
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
        return None
    if now - row["last_seen"] > SESSION_IDLE:
        with store.transaction() as cur:
            store.revoke_sessions(cur, at=now, reason="inattività", session_hash=row["session_hash"])
        return None
    user_row = store.user_row(str(row["username"]))
    if user_row is None or not user_row["active"]:
        return None
    if now - row["last_seen"] >= SESSION_TOUCH_EVERY:
        with store.transaction() as cur:
            store.touch_session(cur, row["session_hash"], now)
    return user_from_row(user_row)


def revoke_session(store: Store, token: str | None, *, reason: str = "uscita", now: datetime | None = None) -> bool:
    """Revoke the session of ``token`` (logout); True when there was an open one."""
    row = _session_of(store, token)
    if row is None:
        return False
    with store.transaction() as cur:
        return store.revoke_sessions(cur, at=(now or audit.utcnow()).replace(tzinfo=None), reason=reason,
                                     session_hash=row["session_hash"]) > 0


def user_for_identity(store: Store, email: str | None, *, email_verified: object = None,
                      provider: str | None = None) -> User:
    """The Lanterna account of an OpenID Connect identity (matched by e-mail), or :class:`AuthError`.

    ``email_verified`` is the provider's claim: an explicit false refuses the identity.
    """
    if not email or not EMAIL_PATTERN.fullmatch(str(email).strip()):
        raise AuthError("Il provider non ha comunicato un indirizzo e-mail: impossibile associare un utente Lanterna.")
    if email_verified is False or str(email_verified).lower() == "false":
        raise AuthError(f"L'indirizzo {email} non risulta verificato dal provider: accesso negato.")
    matches = [r for r in store.users_by_email(str(email)) if r["active"]]
    if not matches:
        raise AuthError(f"Nessun utente Lanterna attivo è associato a {email}. Chiedere alla Prefettura di creare "
                        "l'utente (python -m geo users add … --email).")
    if len(matches) > 1:
        raise AuthError(f"L'indirizzo {email} è associato a più utenti: accesso negato.")
    user = user_from_row(matches[0])
    now = audit.utcnow()
    with store.transaction() as cur:
        store.update_user(cur, user.username, {"last_login": now})
        audit.record(store, cur, user, action="accesso", table="users", key=user.username,
                     after={"metodo": "oidc", "provider": provider or "predefinito"}, at=now)
    return user


def record_logout(store: Store, user: User, *, token: str | None = None) -> None:
    """Record that ``user`` logged out, revoking the session of ``token`` in the same transaction."""
    row = _session_of(store, token)
    with store.transaction() as cur:
        revoked = 0
        if row is not None and row["username"] == user.username:
            revoked = store.revoke_sessions(cur, at=audit.utcnow(), reason="uscita", session_hash=row["session_hash"])
        audit.record(store, cur, user, action="uscita", table="users", key=user.username,
                     after={"sessione_revocata": bool(revoked)})


# --------------------------------------------------------------------------------------------
# OpenID Connect configuration (the [auth] section of .streamlit/secrets.toml)
# --------------------------------------------------------------------------------------------

_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def oidc_available() -> bool:
    """True when Authlib, which Streamlit's ``st.login`` needs, is installed."""
    import importlib.util

    return importlib.util.find_spec("authlib") is not None


def oidc_providers(section: Mapping | None) -> list[str | None]:
    """Providers configured in an ``[auth]`` secrets section: ``None`` for the unnamed one (its
    keys directly in ``[auth]``), then the names of ``[auth.<name>]`` sub-sections. Empty when
    the shared ``redirect_uri`` and ``cookie_secret`` are missing."""
    if not section or not all(section.get(k) for k in ("redirect_uri", "cookie_secret")):
        return []
    providers: list[str | None] = []
    if all(section.get(k) for k in _PROVIDER_KEYS):
        providers.append(None)
    for name, value in section.items():
        if isinstance(value, Mapping) and all(value.get(k) for k in _PROVIDER_KEYS):
            providers.append(str(name))
    return providers


def oidc_problems(section: Mapping | None) -> list[str]:
    """Italian sentences on what is wrong with an ``[auth]`` section that has no usable provider."""
    if not section:
        return []
    problems = [f"manca «{k}» nella sezione [auth]" for k in ("redirect_uri", "cookie_secret") if not section.get(k)]
    redirect = str(section.get("redirect_uri") or "")
    if redirect and not redirect.rstrip("/").endswith("/oauth2callback"):
        problems.append("«redirect_uri» deve terminare con /oauth2callback")
    if not problems and not oidc_providers(section):
        problems.append("nessun provider completo (servono client_id, client_secret e server_metadata_url)")
    return problems


# --------------------------------------------------------------------------------------------
# Demo accounts
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoAccount:
    """A demo login: name, password (documented, demo only), role and comuni."""

    username: str
    password: str
    role: str
    comuni: tuple[str, ...]
    display_name: str


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:25] or "comune"


def demo_accounts(comuni: pd.DataFrame, *, n_comuni: int = 2) -> list[DemoAccount]:
    """The demo logins for a territory: one per role, and one Comune officer for each of the
    ``n_comuni`` most populous comuni (``comune-<name>``). The password of all of them is
    :data:`DEMO_PASSWORD`."""
    accounts = [
        DemoAccount("prefettura", "", "prefettura", (), "Prefettura – Ufficio di Gabinetto (demo)"),
        DemoAccount("polizia", "", "forze_polizia", (), "Questura – Forze di polizia (demo)"),
        DemoAccount("regione", "", "regione", (), "Regione – Settore sicurezza urbana (demo)"),
        DemoAccount("osservatore", "", "osservatore", (), "Osservatore (demo)"),
    ]
    ranked = comuni.sort_values(["residenti", "pro_com_t"], ascending=[False, True]).head(n_comuni)
    seen: set[str] = set()
    for code, name in zip(ranked["pro_com_t"], ranked["nome"], strict=True):
        username = f"comune-{_slug(str(name))}"
        if username in seen:
            username = f"comune-{code}"
        seen.add(username)
        accounts.append(DemoAccount(username, "", "comune", (str(code),), f"Comune di {name} – Polizia locale (demo)"))
    return [DemoAccount(a.username, DEMO_PASSWORD, a.role, a.comuni, a.display_name) for a in accounts]


def create_demo_accounts(store: Store, *, cur=None) -> list[DemoAccount]:
    """Create the :func:`demo_accounts` that do not exist yet (as :data:`SYSTEM`); returns them all.

    For demo databases only: their passwords are public.
    """
    accounts = demo_accounts(store.comuni() if cur is None else cur.execute(
        "SELECT pro_com_t, nome, residenti FROM comuni").df())
    for account in accounts:
        if store.user_row(account.username, cur=cur) is None:
            add_user(store, SYSTEM, username=account.username, password=account.password, role=account.role,
                     comuni=account.comuni, display_name=account.display_name, cur=cur)
    return accounts


def ensure_demo_accounts(store: Store) -> list[DemoAccount]:
    """On a demo database without any account (e.g. built before accounts existed), create the
    demo accounts; otherwise do nothing. Returns the accounts created."""
    if store.get_meta("demo") != "true" or store.count_users() > 0:
        return []
    return create_demo_accounts(store)


__all__ = [
    "AuthError", "DemoAccount", "LoginDelayed", "PermissionDenied", "User", "add_user", "authenticate",
    "check_password", "check_username", "client_address", "create_demo_accounts", "demo_accounts",
    "ensure_demo_accounts", "get_user", "issue_session", "list_users", "oidc_problems", "oidc_providers",
    "record_logout", "resume_session", "revoke_session", "set_active", "set_details", "set_password", "set_role",
    "user_for_identity",
]
