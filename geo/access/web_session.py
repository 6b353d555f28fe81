"""The dashboard's login session, without Streamlit: what ``pages/common.py`` keeps in
``st.session_state`` (passed here as ``state``, any mutable mapping) and in the session cookie,
and the check of every run.

A successful login (:mod:`geo.access.auth`, from ``pages/login.py``) stores :func:`new_session`
(the username, the method, two times and, for a password login, a **session token** from
:func:`geo.access.auth.issue_session`). The token also goes into the cookie :data:`COOKIE_NAME`
(:func:`cookie_script`), so that after a browser reload — a new Streamlit session — the session is
resumed from ``st.context.cookies``. Every run checks the session (:func:`check_session`) against
the server's ``sessions`` table and reloads the account: a logout (in any tab), a password change,
a disabled account or a changed role take effect at the next interaction, and a session idle for
more than :data:`IDLE_TIMEOUT` ends. The cookie cannot be ``HttpOnly`` (Streamlit has no HTTP
response of its own to set it, so JavaScript writes it): it is ``SameSite=Strict``, ``Secure`` on
HTTPS, and worthless once revoked (docs/AUTH.md, *Sessions*).
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from geo.access import auth
from geo.access.audit import utcnow
from geo.access.permissions import User
from geo.data.storage import Store

#: Role used for what is drawn before anybody is logged in (the login page only): no police
#: clearance, so nothing under the threshold could show.
DEFAULT_ROLE = "osservatore"
#: Key of the logged-in user's session record (:func:`new_session`) in the browser session state.
SESSION_KEY = "_lanterna_session"
#: Set when a session ended by itself (idle, account disabled), for a notice on the login page.
ENDED_KEY = "_lanterna_session_ended"
#: State keys: the cookie must be cleared; a cookie token already refused (not tried again).
CLEAR_COOKIE_KEY = "_lanterna_clear_cookie"
REFUSED_COOKIE_KEY = "_lanterna_refused_cookie"

#: A session without interaction for this long must log in again.
IDLE_TIMEOUT = timedelta(minutes=60)
#: Cookie that carries the session token across browser reloads.
COOKIE_NAME = "lanterna_sessione"

DISABLED = "L'utente è stato disattivato: accesso terminato."
IDLE = "Sessione scaduta per inattività: accedere di nuovo."
REVOKED = "Sessione terminata (uscita, password cambiata o scadenza): accedere di nuovo."
IDENTITY_CHANGED = "L'identità del provider non corrisponde più all'utente: accedere di nuovo."


def routing_token(user: User | None) -> str:
    """What the router's navigation depends on: the user, its role and its comuni ("" for nobody)."""
    return "" if user is None else f"{user.username}|{user.role}|{','.join(user.comuni)}"


def new_session(user: User, *, method: str, provider: str | None, token: str | None, now: datetime) -> dict:
    """The session record kept in the browser session after a login."""
    return {"username": user.username, "method": method, "provider": provider, "login_at": now, "seen_at": now,
            "token": token}


@dataclass(frozen=True)
class Check:
    """Outcome of :func:`check_session`: the user, or why the session ended (``reason``) and
    whether the end is a logout to record in the audit log (``record``)."""

    user: User | None
    reason: str | None = None
    record: bool = False


def check_session(store: Store, session: dict, *, now: datetime, oidc_email: str | None = None,
                  idle_timeout: timedelta = IDLE_TIMEOUT) -> Check:
    """Whether ``session`` still stands at ``now``: the account exists and is active, the session
    was not idle too long, its token is valid on the server, and for an OpenID Connect login the
    provider's identity (``oidc_email``) still is the account's e-mail."""
    user = auth.get_user(store, session["username"])
    if user is None or not user.active:
        return Check(None, DISABLED, record=False)
    seen = session.get("seen_at")
    if isinstance(seen, datetime) and now - seen > idle_timeout:
        return Check(None, IDLE, record=True)
    if session.get("token") and auth.resume_session(store, session["token"], now=now) is None:
        return Check(None, REVOKED, record=False)
    if session.get("method") == "oidc" and (not oidc_email or (user.email or "").lower() != oidc_email.lower()):
        return Check(None, IDENTITY_CHANGED, record=True)
    return Check(user)


def cookie_script(token: str | None, *, clear: bool = False) -> str | None:
    """The script that writes the session cookie for ``token``, or clears it (``clear``); None
    when there is nothing to do. The token is server-made: no user input reaches the script."""
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    if token:
        max_age = int(auth.SESSION_MAX_AGE.total_seconds())
        value = json.dumps(f"{COOKIE_NAME}={token}; Path=/; Max-Age={max_age}; SameSite=Strict")
    elif clear:
        value = json.dumps(f"{COOKIE_NAME}=; Path=/; Max-Age=0; SameSite=Strict")
    else:
        return None
    return f"<script>document.cookie = {value} + {secure};</script>"


# --------------------------------------------------------------------------------------------
# The session in the browser session's state
# --------------------------------------------------------------------------------------------

def sync_legacy_keys(state: MutableMapping, user: User | None) -> None:
    """The keys ``role`` and ``user_comuni`` some pages read, from the account (never trusted)."""
    state["role"] = user.role if user else DEFAULT_ROLE
    state["user_comuni"] = tuple(user.comuni) if user else ()


def start(state: MutableMapping, store: Store, user: User, *, method: str, provider: str | None = None,
          token: str | None = None, client: str | None = None, now: datetime | None = None) -> None:
    """Record a successful login; a password login gets a server-side session and its token
    (``token``: one resumed from the cookie)."""
    now = now or utcnow()
    if token is None and method == "password":
        token = auth.issue_session(store, user, method=method, client=client)
    state[SESSION_KEY] = new_session(user, method=method, provider=provider, token=token, now=now)
    state.pop(ENDED_KEY, None)
    state.pop(CLEAR_COOKIE_KEY, None)
    sync_legacy_keys(state, user)


def end(state: MutableMapping, store: Store, *, reason: str | None = None, record: bool = True) -> bool:
    """Log out: forget the session, revoke its token and (``record``) write the logout to the
    audit log. Returns True when the identity provider's cookie must go too (an OpenID Connect login)."""
    session = state.pop(SESSION_KEY, None)
    sync_legacy_keys(state, None)
    if reason:
        state[ENDED_KEY] = reason
    token = session.get("token") if session else None
    if token:
        state[CLEAR_COOKIE_KEY] = True
        state[REFUSED_COOKIE_KEY] = token  # the cookie of this connection is no longer valid
    if session and record:
        user = auth.get_user(store, session["username"])
        if user is not None:
            auth.record_logout(store, user, token=token)
    elif token:
        auth.revoke_session(store, token, reason=reason or "uscita")
    return bool(session and session.get("method") == "oidc")


def resume_from_cookie(state: MutableMapping, store: Store, token: str | None) -> dict | None:
    """After a browser reload: the session of the cookie's ``token`` if it is still valid (a token
    refused once is not tried again, and the cookie is then cleared)."""
    if not token or state.get(REFUSED_COOKIE_KEY) == token:
        return None
    user = auth.resume_session(store, token)
    if user is None:
        state[REFUSED_COOKIE_KEY] = token
        state[CLEAR_COOKIE_KEY] = True
        return None
    start(state, store, user, method="password", token=token)
    return state[SESSION_KEY]


def current(state: MutableMapping, store: Store, *, cookie_token: str | None = None,
            oidc_email: Callable[[], str | None] = lambda: None, idle_timeout: timedelta = IDLE_TIMEOUT,
            now: datetime | None = None) -> tuple[User | None, bool]:
    """The logged-in user (reloaded from the database; None when nobody is logged in or the
    session has just ended, :func:`check_session`) and whether the provider's logout is due."""
    session = state.get(SESSION_KEY) or resume_from_cookie(state, store, cookie_token)
    if not session:
        sync_legacy_keys(state, None)
        return None, False
    now = now or utcnow()
    email = oidc_email() if session.get("method") == "oidc" else None
    check = check_session(store, session, now=now, oidc_email=email, idle_timeout=idle_timeout)
    if check.user is None:
        return None, end(state, store, reason=check.reason, record=check.record)
    session["seen_at"] = now
    sync_legacy_keys(state, check.user)
    return check.user, False


def state_cookie_script(state: MutableMapping) -> str | None:
    """:func:`cookie_script` for the session in ``state``."""
    session = state.get(SESSION_KEY) or {}
    return cookie_script(session.get("token"), clear=bool(state.get(CLEAR_COOKIE_KEY)))
