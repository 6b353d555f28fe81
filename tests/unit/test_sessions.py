"""Server-side login sessions (geo.access.auth, issue 15): a signed, expiring token backed by the
``sessions`` table, revoked at logout, on a password change and when the account is disabled,
ended after an idle time; the table never holds a usable token."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from geo.access import auth
from geo.access.permissions import SYSTEM
from tests.unit.auth_store import CHEAP, demo_users

T0 = datetime(2026, 3, 1, 9, 0, 0)


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


def _token(store, name="prefettura", at=T0):
    return auth.issue_session(store, auth.get_user(store, name), client="198.51.100.20", now=at)


def test_a_token_resumes_its_session_until_it_expires(store):
    token = _token(store)
    assert token.startswith("v1.")
    assert len(token.split(".")) == 4
    assert auth.resume_session(store, token, now=T0 + timedelta(minutes=5)).username == "prefettura"
    # kept alive by use, it still ends at the absolute expiry
    at = T0
    while at < T0 + auth.SESSION_MAX_AGE - timedelta(minutes=30):
        at += timedelta(minutes=30)
        assert auth.resume_session(store, token, now=at) is not None
    assert auth.resume_session(store, token, now=T0 + auth.SESSION_MAX_AGE + timedelta(seconds=1)) is None


def test_the_table_holds_no_usable_token(store):
    token = _token(store)
    rows = store.query("SELECT * FROM sessions")
    assert len(rows) == 1
    assert rows["username"].iloc[0] == "prefettura"
    secret = token.split(".")[1]
    assert secret not in " ".join(str(v) for v in rows.iloc[0].tolist())
    assert rows["client"].iloc[0] == "198.51.100.20"


@pytest.mark.parametrize("forge", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
    lambda t: ".".join([*t.split(".")[:2], str(int(t.split(".")[2]) + 86400), t.split(".")[3]]),  # expiry moved
    lambda t: "v2." + t[3:],
    lambda t: t.split(".")[0] + ".x." + ".".join(t.split(".")[2:]),  # another secret
    lambda _t: "",
    lambda t: t + "." * 300,
])
def test_forged_tokens_are_refused(store, forge):
    token = _token(store)
    assert auth.resume_session(store, forge(token), now=T0) is None
    assert auth.resume_session(store, token, now=T0) is not None


def test_a_token_signed_with_another_key_is_refused(store, monkeypatch, tmp_path):
    token = _token(store)
    monkeypatch.setenv("LANTERNA_SECRETS_FILE", str(tmp_path / "other" / "keys.json"))
    assert auth.resume_session(store, token, now=T0) is None


def test_idle_sessions_end(store):
    token = _token(store)
    assert auth.resume_session(store, token, now=T0 + auth.SESSION_IDLE - timedelta(minutes=1)) is not None
    late = T0 + 2 * auth.SESSION_IDLE + timedelta(minutes=1)
    assert auth.resume_session(store, token, now=late) is None
    assert store.query("SELECT revoked_reason FROM sessions")["revoked_reason"].iloc[0] == "inattività"
    assert auth.resume_session(store, token, now=T0 + timedelta(minutes=5)) is None  # revoked for good


def test_logout_revokes_and_is_recorded(store):
    token = _token(store)
    user = auth.get_user(store, "prefettura")
    auth.record_logout(store, user, token=token)
    assert auth.resume_session(store, token, now=T0) is None
    entry = store.audit_frame(action="uscita").iloc[-1]
    assert entry["username"] == "prefettura"
    assert '"sessione_revocata":true' in entry["after_json"]
    assert auth.revoke_session(store, token) is False  # already revoked


def test_password_change_and_disabling_revoke_every_session(store):
    first, second = _token(store), _token(store)
    other = _token(store, "polizia")
    auth.set_password(store, SYSTEM, "prefettura", "nuova-password-lunga")
    assert auth.resume_session(store, first, now=T0) is None
    assert auth.resume_session(store, second, now=T0) is None
    assert auth.resume_session(store, other, now=T0) is not None
    assert '"sessioni_revocate":2' in store.audit_frame(action="password_cambiata")["after_json"].iloc[-1]
    auth.set_active(store, SYSTEM, "polizia", False)
    assert auth.resume_session(store, other, now=T0) is None
