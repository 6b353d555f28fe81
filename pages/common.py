"""Shared pieces of the dashboard's pages: the store, first-start build, the login session,
filters, notices. Pages stay thin: they call these helpers and the ``geo`` library, never SQL.

The session (what is kept, the cookie, the check of every run) is described and computed in
:mod:`geo.access.web_session`. The legacy keys ``role`` and ``user_comuni`` that some pages read
are overwritten from the account on every run, so they cannot grant anything.
"""

from __future__ import annotations

import streamlit as st

from geo import config
from geo.access import auth, notices, web_session
from geo.access.permissions import PermissionDenied, User, require
from geo.access.web_session import (  # noqa: F401 (re-exported)
    COOKIE_NAME,
    DEFAULT_ROLE,
    ENDED_KEY,
    IDLE_TIMEOUT,
    SESSION_KEY,
    routing_token,
)
from geo.data import filter_form as form
from geo.data.filters import Filters
from geo.data.periods import MONTHS_IT, default_period, month_label, month_options  # noqa: F401 (re-exported)
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.data.storage import StorageError, StorageInUseError, Store, open_store


@st.cache_resource(show_spinner=False, validate=lambda store: not store.closed)
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
    """Make sure ``dashboard.py`` routes this request: a fresh server serves its first request in
    Streamlit's legacy "pages directory" mode; a page that finds it on switches it off and reruns,
    once per login, so the router handles the same URL (why: the notes of ``dashboard.py``)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and (
            ROUTED_KEY not in st.session_state or st.session_state[ROUTED_KEY] != routing_token(current_user())):
        PagesManager.uses_pages_directory = False
        st.rerun()


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
    from geo.data.territory import TerritoryError
    from geo.demo.first_start import build_first_start

    bar = st.progress(0.0, text="Preparazione dei dati dimostrativi al primo avvio…")
    _open.clear()
    try:
        build_first_start(lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0), text=text))
    except TerritoryError as exc:
        st.error(str(exc))
        st.stop()
    finally:
        bar.empty()


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
    """Record a successful login in this browser session (:func:`geo.access.web_session.start`)."""
    client = request_client() if token is None and method == "password" else None
    web_session.start(st.session_state, _store(), user, method=method, provider=provider, token=token, client=client)


def end_session(*, reason: str | None = None, record: bool = True) -> None:
    """Log out: forget the session (and the provider's cookie for an OpenID Connect login)."""
    if web_session.end(st.session_state, _store(), reason=reason, record=record):
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
    user, provider_logout = web_session.current(st.session_state, _store(), cookie_token=_cookie_token(),
                                                oidc_email=_oidc_identity_email)
    if provider_logout:
        st.logout()
    return user


def cookie_script() -> str | None:
    """The script that writes (after a login) or clears (after a logout, or when the cookie was
    refused) the session cookie; None when there is nothing to do (for ``st.html`` with JavaScript)."""
    return web_session.state_cookie_script(st.session_state)


def anchored(data, fmt: str, *, kind: str | None = None, then=None):
    """The ``data`` of a download button (bytes, text or a function returning them) stamped with the
    audit chain's anchor (:func:`geo.access.audit.stamp`), taken when the file is downloaded; ``then``
    converts the stamped file (e.g. HTML to PDF). The store is taken now, in the script's thread."""
    from geo.access import audit

    store = _store()

    def build() -> bytes:
        payload = data() if callable(data) else data
        stamped = audit.stamp(payload, audit.anchor(store, reason=kind or f"esportazione {fmt}"), fmt)
        return stamped if then is None else then(stamped)

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
        st.warning(notices.DEMO_NOTICE, icon=":material/warning:")


def sidebar_filters(store: Store) -> Filters:
    """Draw the common filters in the sidebar and return them (:mod:`geo.data.filter_form`).

    Values survive page changes: they are kept in ``st.session_state['filters']`` and used as the
    widgets' defaults.
    """
    saved: Filters | None = st.session_state.get("filters")
    comuni = store.comuni()
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    period = store.period()
    sb = st.sidebar
    sb.header("Filtri")
    chosen = sb.multiselect("Comuni", options=list(names), default=list(saved.comuni) if saved else [],
                            format_func=names.get, placeholder="Tutta la provincia", key="f_comuni")
    start_end = (None, None)
    if period:
        months = month_options(*period)
        default = default_period(months, (saved.start, saved.end) if saved else None)
        start_end = sb.select_slider("Periodo", options=months, value=default, format_func=month_label,
                                     key="f_period")
    cats = sb.multiselect("Categorie di delitto", options=list(INCIDENT_CATEGORIES),
                          default=list(saved.categories) if saved else [], format_func=INCIDENT_CATEGORIES.get,
                          placeholder="Tutte le categorie", key="f_categories")
    band = sb.radio("Fascia oraria", options=form.BAND_OPTIONS, index=form.band_index(saved),
                    format_func=form.band_label, horizontal=True, key="f_band")
    auto = form.auto_resolution(comuni, chosen)
    res_choice = sb.selectbox("Risoluzione esagoni H3", options=form.RES_OPTIONS, index=0,
                              format_func=lambda r: notices.resolution_label(r, auto), key="f_res")
    filters = form.make_filters(chosen=chosen, period=start_end, categories=cats, band=band, res_choice=res_choice,
                                auto=auto)
    st.session_state["filters"] = filters
    return filters


def _pact_articles() -> dict:
    from geo.data.territory import TerritoryError, territory_of_store

    try:
        return territory_of_store(_store()).pact.get("articles", {})
    except TerritoryError:
        return {}


def pact_label(key: str) -> str:
    """'Patto, art. 5' when the territory's pact numbers the feature ``key``, 'Patto' otherwise."""
    return notices.pact_label(_pact_articles(), key)


def role_caption(role: str | None) -> None:
    """The sidebar line saying who is looking and whether small incident counts are masked."""
    st.sidebar.caption(notices.role_caption(role, _pact_articles()))
