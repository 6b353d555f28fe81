"""Shared pieces of the dashboard's pages: the store, first-start build, the login session,
filters, notices.

Pages stay thin: they call these helpers and the ``geo`` library, never SQL.

Session
-------
A successful login (:mod:`geo.access.auth`, from ``pages/login.py``) stores the username, the
method, two times and, for a password login, a **session token** (:func:`geo.access.auth.issue_session`)
under :data:`SESSION_KEY` in ``st.session_state``. The token also goes into the cookie
:data:`COOKIE_NAME` (written by :func:`cookie_script`, which the router places on every page),
so that after a browser reload — a new Streamlit session — :func:`current_user` finds it in
``st.context.cookies`` and resumes the session. Every run checks the token against the server's
``sessions`` table and reloads the account: a logout (in any tab), a password change, a disabled
account or a changed role take effect at the next interaction, and a session idle for more than
:data:`IDLE_TIMEOUT` ends. The cookie cannot be ``HttpOnly`` (Streamlit has no HTTP response
of its own to set it, so JavaScript writes it): it is ``SameSite=Strict``, ``Secure`` on HTTPS,
and worthless once revoked (docs/AUTH.md, *Sessions*). The legacy keys ``role`` and
``user_comuni`` that some pages read are overwritten from the account on every run, so they
cannot grant anything.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import streamlit as st

from geo import config
from geo.access import auth
from geo.access.audit import utcnow
from geo.access.permissions import PermissionDenied, User, require
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.schemas import INCIDENT_CATEGORIES, TIME_BANDS
from geo.data.storage import StorageError, StorageInUseError, Store, open_store

#: Role used for what is drawn before anybody is logged in (the login page only): no police
#: clearance, so nothing under the threshold could show.
DEFAULT_ROLE = "osservatore"
#: Session key of the logged-in user (see the module notes).
SESSION_KEY = "_lanterna_session"
#: A session without interaction for this long must log in again.
IDLE_TIMEOUT = timedelta(minutes=60)
#: Set when a session ended by itself (idle, account disabled), for a notice on the login page.
ENDED_KEY = "_lanterna_session_ended"
#: Cookie that carries the session token across browser reloads.
COOKIE_NAME = "lanterna_sessione"
#: Session keys: the cookie must be cleared; a cookie token already refused (not tried again).
_CLEAR_COOKIE_KEY = "_lanterna_clear_cookie"
_REFUSED_COOKIE_KEY = "_lanterna_refused_cookie"

MONTHS_IT = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]


def month_label(d: date) -> str:
    return f"{MONTHS_IT[d.month - 1]} {d.year}"


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Store:
    store = open_store(path)
    if store.is_built():
        auth.ensure_demo_accounts(store)  # a demo database built before accounts existed
    return store


ROUTED_KEY = "_lanterna_routed"
#: Session key where the router lists the url paths of the navigation it built (for tests and
#: diagnostics; the navigation itself is the authority).
NAV_KEY = "_lanterna_nav"


def ensure_routed() -> None:
    """Make sure ``dashboard.py`` routes this request.

    With a ``pages/`` folder beside the entry script, Streamlit serves the very first request of
    a fresh server in its legacy "pages directory" mode (``PagesManager.uses_pages_directory``):
    a bookmarked page URL then runs that page alone, without the router, the page config or our
    navigation. ``st.navigation`` switches the process to the new mode; when a page finds the
    legacy mode still on, it switches it and reruns, so the router handles the same URL (the page
    hashes match because every ``url_path`` equals its file name). Only a session the router has
    never served, or served for another login, is rerun: Streamlit's ``AppTest`` resets the legacy
    flag before every run, and a rerun there would swallow the widget events of that run; but after
    a login, a logout or a change of the account the navigation must be rebuilt by the router.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and (
            ROUTED_KEY not in st.session_state or st.session_state[ROUTED_KEY] != routing_token(current_user())):
        PagesManager.uses_pages_directory = False
        st.rerun()


def routing_token(user: User | None) -> str:
    """What the router's navigation depends on: the user, its role and its comuni ("" for nobody)."""
    return "" if user is None else f"{user.username}|{user.role}|{','.join(user.comuni)}"


def get_store() -> Store:
    """The process-wide store, built from the bundled demo data on first start."""
    ensure_routed()
    return _store()


def _store() -> Store:
    """:func:`get_store` without the routing check (for the router itself)."""
    path = config.db_path()
    if not _built(path):
        _build_with_progress()
    try:
        return _open(str(path))
    except StorageError as exc:
        st.error(str(exc))
        st.stop()


def _built(path) -> bool:
    if not path.exists():
        return False
    try:
        return _open(str(path)).is_built()
    except StorageInUseError as exc:
        st.error(str(exc))
        st.stop()
    except StorageError:
        return False


def _build_with_progress() -> None:
    from geo.data.territory_builder import resolve_territory
    from geo.demo.build import build_demo

    bar = st.progress(0.0, text="Preparazione dei dati dimostrativi al primo avvio…")

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    _open.clear()
    from geo.data.storage import close_all

    close_all()
    # LANTERNA_TERRITORY may name a province without a folder yet (BG): it is made here first.
    progress(0.0, "Preparazione della cartella del territorio dai dati nazionali…")
    from geo.data.territory import TerritoryError

    try:
        territory = resolve_territory()
    except TerritoryError as exc:
        bar.empty()
        st.error(str(exc))
        st.stop()
    build_demo(territory, progress=progress, force=True)
    bar.empty()


# --------------------------------------------------------------------------------------------
# Login session
# --------------------------------------------------------------------------------------------

def request_client() -> str:
    """The address of this request's client: the connection's, or ``X-Forwarded-For`` from a
    trusted proxy (``LANTERNA_TRUSTED_PROXIES``; :func:`geo.access.auth.client_address`)."""
    try:
        peer = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except (AttributeError, RuntimeError, KeyError):
        peer, forwarded = None, None
    peer = peer if isinstance(peer, str) else None  # only real strings (test harnesses give mocks)
    forwarded = forwarded if isinstance(forwarded, str) else None
    return auth.client_address(peer, forwarded, trusted_proxies=config.trusted_proxies())


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except (AttributeError, RuntimeError, KeyError):
        return None
    return value if isinstance(value, str) and value else None


def start_session(user: User, *, method: str, provider: str | None = None, token: str | None = None) -> None:
    """Record a successful login in this browser session (see the module notes); a password
    login gets a server-side session and its token (``token``: one resumed from the cookie)."""
    now = utcnow()
    if token is None and method == "password":
        token = auth.issue_session(_store(), user, method=method, client=request_client())
    st.session_state[SESSION_KEY] = {"username": user.username, "method": method, "provider": provider,
                                     "login_at": now, "seen_at": now, "token": token}
    st.session_state.pop(ENDED_KEY, None)
    st.session_state.pop(_CLEAR_COOKIE_KEY, None)
    _sync_legacy_keys(user)


def _sync_legacy_keys(user: User | None) -> None:
    st.session_state["role"] = user.role if user else DEFAULT_ROLE
    st.session_state["user_comuni"] = tuple(user.comuni) if user else ()


def end_session(*, reason: str | None = None, record: bool = True) -> None:
    """Log out: forget the session (and the provider's cookie for an OpenID Connect login)."""
    session = st.session_state.pop(SESSION_KEY, None)
    _sync_legacy_keys(None)
    if reason:
        st.session_state[ENDED_KEY] = reason
    token = session.get("token") if session else None
    if token:
        st.session_state[_CLEAR_COOKIE_KEY] = True
        st.session_state[_REFUSED_COOKIE_KEY] = token  # the cookie of this connection is no longer valid
    if session and record:
        store = _store()
        user = auth.get_user(store, session["username"])
        if user is not None:
            auth.record_logout(store, user, token=token)
    elif token:
        auth.revoke_session(_store(), token, reason=reason or "uscita")
    if session and session.get("method") == "oidc":
        st.logout()


def _oidc_identity_email() -> str | None:
    try:
        if not st.user.is_logged_in:
            return None
        return st.user.get("email")
    except (AttributeError, KeyError):
        return None


def current_user() -> User | None:
    """The logged-in user, reloaded from the database; None when nobody is logged in."""
    session = st.session_state.get(SESSION_KEY) or _resume_from_cookie()
    if not session:
        _sync_legacy_keys(None)
        return None
    user = auth.get_user(_store(), session["username"])
    now = utcnow()
    seen = session.get("seen_at")
    if user is None or not user.active:
        end_session(reason="L'utente è stato disattivato: accesso terminato.", record=False)
        return None
    if isinstance(seen, datetime) and now - seen > IDLE_TIMEOUT:
        end_session(reason="Sessione scaduta per inattività: accedere di nuovo.")
        return None
    if session.get("token") and auth.resume_session(_store(), session["token"], now=now) is None:
        end_session(reason="Sessione terminata (uscita, password cambiata o scadenza): accedere di nuovo.",
                    record=False)
        return None
    if session.get("method") == "oidc":
        email = _oidc_identity_email()
        if not email or (user.email or "").lower() != email.lower():
            end_session(reason="L'identità del provider non corrisponde più all'utente: accedere di nuovo.")
            return None
    session["seen_at"] = now
    _sync_legacy_keys(user)
    return user


def _resume_from_cookie() -> dict | None:
    """After a browser reload: the session of the cookie's token, if it is still valid."""
    token = _cookie_token()
    if not token or st.session_state.get(_REFUSED_COOKIE_KEY) == token:
        return None
    user = auth.resume_session(_store(), token)
    if user is None:
        st.session_state[_REFUSED_COOKIE_KEY] = token
        st.session_state[_CLEAR_COOKIE_KEY] = True
        return None
    start_session(user, method="password", token=token)
    return st.session_state[SESSION_KEY]


def cookie_script() -> str | None:
    """The script that writes (after a login) or clears (after a logout, or when the cookie was
    refused) the session cookie; None when there is nothing to do. For ``st.html`` with
    JavaScript allowed: the token is server-made (no user input reaches the script)."""
    session = st.session_state.get(SESSION_KEY)
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    if session and session.get("token"):
        max_age = int(auth.SESSION_MAX_AGE.total_seconds())
        value = json.dumps(f"{COOKIE_NAME}={session['token']}; Path=/; Max-Age={max_age}; SameSite=Strict")
        return f"<script>document.cookie = {value} + {secure};</script>"
    if st.session_state.get(_CLEAR_COOKIE_KEY):
        value = json.dumps(f"{COOKIE_NAME}=; Path=/; Max-Age=0; SameSite=Strict")
        return f"<script>document.cookie = {value} + {secure};</script>"
    return None


def anchored(data, fmt: str, *, kind: str | None = None):
    """The ``data`` of a download button (bytes, text or a function that returns them) with the
    audit chain's anchor printed in it (:func:`geo.access.audit.stamp`). The anchor is taken, and
    appended to the anchor file, when the file is downloaded (the button gets a function)."""
    from geo.access import audit

    def build() -> bytes:
        payload = data() if callable(data) else data
        store = _store()
        return audit.stamp(payload, audit.anchor(store, reason=kind or f"esportazione {fmt}"), fmt)

    return build


def current_role() -> str:
    """Role of the logged-in user (:data:`DEFAULT_ROLE` when nobody is logged in)."""
    user = current_user()
    return user.role if user else DEFAULT_ROLE


def require_page(action: str) -> User:
    """The logged-in user when it may ``action`` (a page's own check, besides the navigation);
    otherwise an Italian message and the end of the script."""
    ensure_routed()
    user = current_user()
    try:
        require(user, action)
    except PermissionDenied as exc:
        st.error(str(exc), icon=":material/lock:")
        st.stop()
    return user


def demo_notice(store: Store) -> None:
    """A visible notice whenever generated data is on screen."""
    if store.get_meta("demo") == "true":
        st.warning(
            "**Dati dimostrativi.** Delitti, punti luce, segnalazioni, scuole primarie e secondarie e "
            "servizi per persone senza dimora sono **generati** (calibrati sui totali ufficiali ISTAT e "
            "Ministero dell'Interno); confini, popolazione, località, scuole dell'infanzia e beni "
            "confiscati sono reali. Vedere la pagina *Dati*.",
            icon=":material/warning:",
        )


def sidebar_filters(store: Store) -> Filters:
    """Draw the common filters in the sidebar and return them.

    Values survive page changes: they are kept in ``st.session_state['filters']`` and used as the
    widgets' defaults.
    """
    saved: Filters | None = st.session_state.get("filters")
    comuni = store.comuni()
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    period = store.period()
    sb = st.sidebar
    sb.header("Filtri")
    chosen = sb.multiselect(
        "Comuni",
        options=list(names),
        default=list(saved.comuni) if saved else [],
        format_func=names.get,
        placeholder="Tutta la provincia",
        key="f_comuni",
    )
    start = end = None
    if period:
        months = _month_range(*period)
        default = (saved.start, saved.end) if saved and saved.start in months and saved.end in months else (
            months[max(0, len(months) - 12)], months[-1])
        start, end = sb.select_slider(
            "Periodo", options=months, value=default, format_func=month_label, key="f_period"
        )
    cats = sb.multiselect(
        "Categorie di delitto",
        options=list(INCIDENT_CATEGORIES),
        default=list(saved.categories) if saved else [],
        format_func=INCIDENT_CATEGORIES.get,
        placeholder="Tutte le categorie",
        key="f_categories",
    )
    band_options = ["tutte", *TIME_BANDS]
    band = sb.radio(
        "Fascia oraria",
        options=band_options,
        index=band_options.index(saved.time_band) if saved and saved.time_band else 0,
        format_func=lambda b: "Giorno e notte" if b == "tutte" else TIME_BANDS[b],
        horizontal=True,
        key="f_band",
    )
    area = comuni.loc[comuni["pro_com_t"].isin(chosen), "area_km2"].sum() if chosen else comuni["area_km2"].sum()
    auto = hexgrid.suggest_resolution(float(area))
    res_options = ["auto", *config.VIEW_RESOLUTIONS]
    res_choice = sb.selectbox(
        "Risoluzione esagoni H3",
        options=res_options,
        index=0,
        format_func=lambda r: f"Automatica ({auto}, ≈ {hexgrid.cell_area_km2(auto):.2f} km²)" if r == "auto"
        else f"{r} (≈ {hexgrid.cell_area_km2(r):.3f} km² per esagono)",
        key="f_res",
    )
    filters = Filters(
        res=auto if res_choice == "auto" else int(res_choice),
        comuni=tuple(chosen),
        start=start,
        end=end,
        categories=tuple(cats),
        time_band=None if band == "tutte" else band,
    )
    st.session_state["filters"] = filters
    return filters


def _month_range(first: date, last: date) -> list[date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def pact_label(key: str) -> str:
    """'Patto, art. 5' when the territory's pact numbers the feature ``key`` (``pact.articles`` of
    territory.json, :data:`geo.data.territory.PACT_ARTICLE_KEYS`), 'Patto' otherwise."""
    from geo.data.territory import TerritoryError, territory_of_store

    try:
        article = territory_of_store(_store()).pact.get("articles", {}).get(key)
    except TerritoryError:
        article = None
    return f"Patto, art. {article}" if article else "Patto"


def role_caption(role: str | None) -> None:
    """The sidebar line saying who is looking and whether small incident counts are masked."""
    from geo.access.privacy import ROLES, can_see_exact

    ref = "Patto"
    if not can_see_exact(role):
        article = pact_label("dati_anonimi").removeprefix("Patto, ")
        ref = f"{article} del Patto" if article != "Patto" else "Patto"
    st.sidebar.caption(
        f"Profilo: **{ROLES.get(role, role)}**"
        + ("" if can_see_exact(role)
           else f" · conteggi di delitti protetti con il metodo della chiave di cella ({ref}).")
    )
