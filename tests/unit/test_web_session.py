"""The dashboard's login session on a plain dict (geo.access.web_session): start, the check of
every run (disabled account, idle time, revoked token, changed OIDC identity), logout, the
cookie and its resumption after a reload."""

from __future__ import annotations

from datetime import timedelta

import pytest

from geo.access import auth, web_session
from geo.access.audit import utcnow
from geo.access.permissions import SYSTEM
from tests.unit.auth_store import CHEAP, demo_users


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setattr(auth, "HASHER", CHEAP)
    monkeypatch.setenv("LANTERNA_SECRETS_FILE", str(tmp_path / "secrets" / "keys.json"))
    monkeypatch.delenv("LANTERNA_AUDIT_KEY", raising=False)
    monkeypatch.delenv("LANTERNA_SESSION_KEY", raising=False)


@pytest.fixture
def store(mc_store):
    demo_users(mc_store)
    return mc_store


def _login(store, name="prefettura", method="password"):
    state: dict = {}
    web_session.start(state, store, auth.get_user(store, name), method=method, client="198.51.100.7")
    return state


def test_a_password_login_gets_a_token_and_stays_valid(store):
    state = _login(store)
    session = state[web_session.SESSION_KEY]
    assert session["username"] == "prefettura"
    assert session["token"].startswith("v1.")
    assert state["role"] == "prefettura"
    user, logout = web_session.current(state, store)
    assert user.username == "prefettura"
    assert not logout
    script = web_session.state_cookie_script(state)
    assert f"{web_session.COOKIE_NAME}={session['token']}" in script
    assert "SameSite=Strict" in script


def test_idle_session_ends_and_is_recorded(store):
    state = _login(store)
    later = utcnow() + web_session.IDLE_TIMEOUT + timedelta(seconds=1)
    user, _ = web_session.current(state, store, now=later)
    assert user is None
    assert state[web_session.ENDED_KEY] == web_session.IDLE
    assert web_session.SESSION_KEY not in state
    assert state["role"] == web_session.DEFAULT_ROLE
    assert state[web_session.CLEAR_COOKIE_KEY] is True
    assert "Max-Age=0" in web_session.state_cookie_script(state)
    assert store.query("SELECT count(*) AS n FROM audit_log WHERE action = 'uscita'")["n"].iloc[0] == 1


def test_a_session_just_inside_the_idle_time_stands(store):
    state = _login(store)
    at = state[web_session.SESSION_KEY]["seen_at"] + web_session.IDLE_TIMEOUT
    assert web_session.current(state, store, now=at)[0] is not None


def test_disabled_account_ends_the_session_without_a_logout_record(store):
    state = _login(store)
    auth.set_active(store, SYSTEM, "prefettura", False)
    user, _ = web_session.current(state, store)
    assert user is None
    assert state[web_session.ENDED_KEY] == web_session.DISABLED


def test_revoked_token_ends_the_session(store):
    state = _login(store)
    auth.revoke_session(store, state[web_session.SESSION_KEY]["token"])
    user, _ = web_session.current(state, store)
    assert user is None
    assert state[web_session.ENDED_KEY] == web_session.REVOKED


def test_oidc_identity_must_stay_the_accounts_email(store):
    user = auth.get_user(store, "prefettura")
    state: dict = {}
    web_session.start(state, store, user, method="oidc", provider="test")
    assert state[web_session.SESSION_KEY]["token"] is None
    if user.email:
        same, _ = web_session.current(state, store, oidc_email=lambda: user.email.upper())
        assert same is not None
    other, logout = web_session.current(state, store, oidc_email=lambda: "qualcun.altro@example.org")
    assert other is None
    assert logout is True
    assert state[web_session.ENDED_KEY] == web_session.IDENTITY_CHANGED


def test_logout_refuses_the_cookie_and_a_reload_does_not_resume(store):
    state = _login(store)
    token = state[web_session.SESSION_KEY]["token"]
    assert web_session.end(state, store) is False
    assert auth.resume_session(store, token) is None
    reloaded: dict = {}
    assert web_session.current(reloaded, store, cookie_token=token) == (None, False)
    assert reloaded[web_session.REFUSED_COOKIE_KEY] == token
    assert reloaded[web_session.CLEAR_COOKIE_KEY]


def test_a_valid_cookie_resumes_the_session_after_a_reload(store):
    token = _login(store)[web_session.SESSION_KEY]["token"]
    reloaded: dict = {}
    user, _ = web_session.current(reloaded, store, cookie_token=token)
    assert user.username == "prefettura"
    assert reloaded[web_session.SESSION_KEY]["token"] == token


def test_nobody_logged_in_has_the_default_role_and_no_cookie():
    state: dict = {"role": "prefettura", "user_comuni": ("045010",)}
    web_session.sync_legacy_keys(state, None)
    assert state == {"role": web_session.DEFAULT_ROLE, "user_comuni": ()}
    assert web_session.cookie_script(None) is None
    assert web_session.routing_token(None) == ""
