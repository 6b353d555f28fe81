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
* **Lockout with backoff**: after :data:`MAX_FAILURES` consecutive failures for a name (existing
  or not) logins for it are refused for :data:`LOCK_BASE`, doubling with each further failure
  up to :data:`LOCK_MAX`; a success resets the count. Failures older than
  :data:`FAILURE_MEMORY` are forgotten.
* Passwords are at least :data:`MIN_PASSWORD_LENGTH` characters and never contain the
  login name; the command line reads them with ``getpass`` or from standard input, never
  from its arguments.

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

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geo.access import audit
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
MAX_FAILURES = 5
LOCK_BASE = timedelta(minutes=1)
LOCK_MAX = timedelta(minutes=60)
FAILURE_MEMORY = timedelta(hours=24)
#: Password of every demo account: documented in the README, for the demo database only.
DEMO_PASSWORD = "lanterna-demo"

GENERIC_FAILURE = "Nome utente o password non validi."


class AuthError(ValueError):
    """A login or an account change that cannot be done; ``str(exc)`` is Italian."""


class AccountLocked(AuthError):  # noqa: N818 - a kind of AuthError, named for what happened
    """Too many failed logins: refused until :attr:`until` (UTC)."""

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message)
        self.until = until


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


def _change(store: Store, actor: User | None, username: str, fields: dict, *, action: str) -> User:
    require(actor, "manage_users")
    name = normalise_username(username)
    with store.transaction() as cur:
        before = store.user_row(name, cur=cur)
        if before is None:
            raise AuthError(f"Utente sconosciuto: {username}.")
        fields = {**fields, "updated_at": audit.utcnow()}
        store.update_user(cur, name, fields)
        after = store.user_row(name, cur=cur)
        audit.record(store, cur, actor, action=action, table="users", key=name,
                     pro_com_t=after["comuni"] or None, before=_public(before), after=_public(after))
    return user_from_row(after)


def set_password(store: Store, actor: User | None, username: str, password: str) -> User:
    """Set a new password (``manage_users``); failed-login counters of the name are reset."""
    name = normalise_username(username)
    check_password(password, username=name)
    user = _change(store, actor, name, {"password_hash": HASHER.hash(password)}, action="password_cambiata")
    with store.transaction() as cur:
        store.clear_throttle(cur, name)
    return user


def set_active(store: Store, actor: User | None, username: str, active: bool) -> User:
    """Enable or disable an account (``manage_users``); a disabled account cannot log in and its
    open sessions end at their next interaction."""
    return _change(store, actor, username, {"active": bool(active)}, action="utente_modificato")


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

def lock_duration(failures: int) -> timedelta:
    """How long a name is locked after ``failures`` consecutive failures (zero below the limit)."""
    if failures < MAX_FAILURES:
        return timedelta(0)
    return min(LOCK_BASE * (2 ** min(failures - MAX_FAILURES, 16)), LOCK_MAX)


def _minutes(delta: timedelta) -> str:
    minutes = max(1, int((delta.total_seconds() + 59) // 60))
    return "1 minuto" if minutes == 1 else f"{minutes} minuti"


def authenticate(store: Store, username: str, password: str, *, now: datetime | None = None) -> User:
    """The active user whose login name and password match, or :class:`AuthError`.

    Raises
    ------
    AccountLocked
        The name is locked after too many failures (no password is checked meanwhile).
    AuthError
        Wrong name or password, or a disabled account (same message for all three).
    """
    now = (now or audit.utcnow()).replace(tzinfo=None)
    key = normalise_username(username)
    throttle = store.throttle_row(key)
    if throttle and throttle["locked_until"] is not None and throttle["locked_until"] > now:
        until = throttle["locked_until"]
        raise AccountLocked(f"Troppi tentativi non riusciti: accesso bloccato per {_minutes(until - now)}.",
                            until=until)
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
            current = store.throttle_row(key, cur=cur)
            recent = current is not None and now - current["last_failure"] < FAILURE_MEMORY
            failures = (current["failures"] if recent else 0) + 1
            lock = lock_duration(failures)
            store.set_throttle(cur, key, failures=failures, locked_until=now + lock if lock else None,
                               last_failure=now)
            store.prune_throttle(cur, now - FAILURE_MEMORY)
            audit.record(store, cur, who, action="blocco" if lock else "accesso_fallito", table="users", key=key,
                         after={"tentativi_falliti": failures,
                                "bloccato_fino": (now + lock).isoformat() if lock else None}, at=now)
        if lock:
            raise AccountLocked(f"Troppi tentativi non riusciti: accesso bloccato per {_minutes(lock)}.",
                                until=now + lock)
        raise AuthError(GENERIC_FAILURE)
    user = user_from_row(row)
    with store.transaction() as cur:
        fields: dict = {"last_login": now}
        if HASHER.check_needs_rehash(stored):
            fields["password_hash"] = HASHER.hash(password)
        store.update_user(cur, key, fields)
        store.clear_throttle(cur, key)
        audit.record(store, cur, user, action="accesso", table="users", key=key,
                     after={"metodo": "password", "hash_aggiornato": "password_hash" in fields}, at=now)
    return user


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


def record_logout(store: Store, user: User) -> None:
    """Record that ``user`` logged out."""
    with store.transaction() as cur:
        audit.record(store, cur, user, action="uscita", table="users", key=user.username)


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
    "AccountLocked", "AuthError", "DemoAccount", "PermissionDenied", "User", "add_user", "authenticate",
    "check_password", "check_username", "create_demo_accounts", "demo_accounts", "ensure_demo_accounts", "get_user",
    "list_users", "oidc_problems", "oidc_providers", "record_logout", "set_active", "set_details", "set_password",
    "set_role", "user_for_identity",
]
