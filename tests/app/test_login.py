"""The login gate (dashboard.py, pages/login.py, pages/common.py) through AppTest on the demo
database: only the login page without a session, password login with lockout, the user in the
sidebar, logout, sessions that end, and the OpenID Connect path (st.login / st.user)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from geo.access import auth
from geo.access.permissions import SYSTEM
from geo.data.storage import open_store
from pages.common import NAV_KEY, SESSION_KEY
from tests.app.conftest import DASHBOARD, login_as

OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "c" * 40, "client_id": "lanterna",
        "client_secret": "segreto", "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}


@pytest.fixture
def fresh(request):
    request.getfixturevalue("writable_db")  # each test its own database: logins write

    def _make() -> AppTest:
        return AppTest.from_file(DASHBOARD, default_timeout=90)

    return _make


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Accedi").click()
    at.run()
    return at


def _sidebar_text(at: AppTest) -> str:
    return " ".join(t.value for t in at.sidebar.text)


def test_without_login_only_the_login_page(app):
    at = app()
    at.run()
    assert not at.exception
    assert at.title[0].value == "Lanterna"
    assert at.session_state[NAV_KEY] == ["login"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/mappa.py")
    info = " ".join(i.value for i in at.info)
    assert "lanterna-demo" in info
    assert "comune-massa" in info
    assert "solo per la demo" in info
    assert not at.sidebar.button  # no logout without a user


def test_password_login_shows_the_user_and_its_pages(fresh):
    at = fresh()
    at.run()
    _login(at, "comune-massa", auth.DEMO_PASSWORD)
    assert not at.exception
    assert at.title[0].value == "Mappa integrata"
    assert "Utente: Comune di Massa" in _sidebar_text(at)
    assert "(Comune)" in _sidebar_text(at)
    assert at.session_state[SESSION_KEY]["username"] == "comune-massa"
    assert at.session_state["role"] == "comune"
    assert at.session_state["user_comuni"] == ("045010",)
    assert "segnalazioni" in at.session_state[NAV_KEY]
    assert "registro" not in at.session_state[NAV_KEY]


def test_wrong_password_and_delay(fresh, monkeypatch):
    monkeypatch.setattr(auth, "CLIENT_DELAY_BASE", timedelta(minutes=5))  # longer than a few AppTest runs
    at = fresh()
    at.run()
    _login(at, "prefettura", "sbagliata-123")
    assert [e.value for e in at.error] == [auth.GENERIC_FAILURE]
    assert SESSION_KEY not in at.session_state
    for _ in range(auth.CLIENT_FREE_FAILURES):
        _login(at, "prefettura", "sbagliata-123")
    assert "riprovare tra" in at.error[0].value  # this client waits; no lockout of the account
    _login(at, "prefettura", auth.DEMO_PASSWORD)  # delayed: the right password waits too
    assert "riprovare tra" in at.error[0].value
    assert at.session_state[NAV_KEY] == ["login"]


def test_session_state_role_alone_grants_nothing(fresh):
    at = fresh()
    at.session_state["role"] = "prefettura"
    at.session_state["user_comuni"] = ("045010",)
    at.run()
    assert at.session_state[NAV_KEY] == ["login"]
    assert at.session_state["role"] == "osservatore"


def test_logout(fresh):
    at = fresh()
    login_as(at, "prefettura")
    at.run()
    assert at.title[0].value == "Mappa integrata"
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "Lanterna"
    assert at.session_state[NAV_KEY] == ["login"]
    assert open_store(os.environ["LANTERNA_DB"]).audit_frame(action="uscita")["username"].tolist() == ["prefettura"]


def test_disabled_account_and_changed_role_take_effect_at_once(fresh, writable_db):
    at = fresh()
    login_as(at, "regione")
    at.run()
    assert "illuminazione" in at.session_state[NAV_KEY]
    store = open_store(writable_db)
    auth.set_role(store, SYSTEM, "regione", "osservatore")
    at.run()
    assert "illuminazione" not in at.session_state[NAV_KEY]
    assert "(Osservatore)" in _sidebar_text(at)
    auth.set_active(store, SYSTEM, "regione", False)
    at.run()
    assert at.session_state[NAV_KEY] == ["login"]
    assert "disattivato" in " ".join(i.value for i in at.info)


def test_idle_session_expires(fresh):
    at = fresh()
    login_as(at, "prefettura")
    at.session_state[SESSION_KEY]["seen_at"] -= timedelta(hours=2)
    at.run()
    assert at.session_state[NAV_KEY] == ["login"]
    assert "inattività" in " ".join(i.value for i in at.info)


def test_oidc_button_and_missing_authlib(fresh, monkeypatch):
    monkeypatch.setattr(auth, "oidc_available", lambda: False)
    at = fresh()
    at.secrets["auth"] = OIDC
    at.run()
    assert any("Authlib" in w.value for w in at.warning)
    monkeypatch.setattr(auth, "oidc_available", lambda: True)
    at.run()
    assert any(b.label == "Accedi con il provider dell'ente" for b in at.button)
    incomplete = fresh()
    incomplete.secrets["auth"] = {k: v for k, v in OIDC.items() if k != "cookie_secret"}
    incomplete.run()
    assert any("cookie_secret" in w.value for w in incomplete.warning)


def test_oidc_identity_is_mapped_to_its_account(fresh, writable_db, monkeypatch):
    monkeypatch.setattr(auth, "oidc_available", lambda: True)
    auth.set_details(open_store(writable_db), SYSTEM, "comune-carrara", email="polizia.locale@comune.carrara.example")
    at = fresh()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": True, "email": "Polizia.Locale@comune.carrara.example", "email_verified": True}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Mappa integrata"
    assert at.session_state[SESSION_KEY]["method"] == "oidc"
    assert "(Comune)" in _sidebar_text(at)
    stranger = fresh()
    stranger.secrets["auth"] = OIDC
    stranger.user = {"is_logged_in": True, "email": "chiunque@example.org"}
    stranger.run()
    assert "Nessun utente Lanterna" in stranger.error[0].value
    assert stranger.session_state[NAV_KEY] == ["login"]
    assert any(b.label == "Esci dal provider" for b in stranger.button)
