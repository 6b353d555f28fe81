"""Local accounts (geo.access.auth): argon2id hashes, verification, rehash, throttling per address and account, account
management rights, OpenID Connect mapping and configuration, demo accounts, schema migration."""

from __future__ import annotations

import contextlib
import json
import shutil
from datetime import datetime, timedelta

import duckdb
import pytest
from argon2 import PasswordHasher

from geo.access import audit, auth
from geo.access.permissions import SYSTEM, PermissionDenied, User
from geo.data.storage import SCHEMA_VERSION, StorageError, Store
from tests.unit.auth_store import CARRARA, CHEAP, MASSA

T0 = datetime(2026, 3, 1, 9, 0, 0)


pytestmark = pytest.mark.usefixtures("cheap_hasher")


@pytest.fixture
def store(users_store):
    return users_store


def test_password_is_stored_as_argon2id_never_in_clear(store):
    auth.add_user(store, SYSTEM, username="Mario.Rossi", password="una-password-lunga", role="comune",
                  comuni=["45010"], display_name="Mario Rossi", email="Mario@Comune.example")
    row = store.user_row("mario.rossi")
    assert row["password_hash"].startswith("$argon2id$")
    assert "una-password-lunga" not in row["password_hash"]
    assert row["comuni"] == MASSA
    assert row["email"] == "Mario@Comune.example"
    log = store.audit_frame(action="utente_creato")
    entry = log[log["record_key"] == "mario.rossi"].iloc[0]
    assert "argon2" not in entry["after_json"]
    assert "una-password-lunga" not in entry["after_json"]
    assert '"password_impostata":true' in entry["after_json"]


def test_production_hasher_is_argon2id_with_the_library_defaults():
    real = PasswordHasher()
    assert auth.HASHER is CHEAP  # the fixture swapped it; the module's own one:
    import importlib

    fresh = importlib.reload(auth)
    try:
        assert fresh.HASHER.type.name == "ID"
        assert (fresh.HASHER.time_cost, fresh.HASHER.memory_cost, fresh.HASHER.parallelism) == (
            real.time_cost, real.memory_cost, real.parallelism)
    finally:
        importlib.reload(auth)


def test_authenticate_right_and_wrong(store):
    user = auth.authenticate(store, "  Comune-Massa ", auth.DEMO_PASSWORD, now=T0)
    assert user.role == "comune"
    assert user.comuni == (MASSA,)
    assert store.user_row("comune-massa")["last_login"] == T0
    for name, password in (("comune-massa", "sbagliata-123"), ("nessuno", auth.DEMO_PASSWORD)):
        with pytest.raises(auth.AuthError) as exc:
            auth.authenticate(store, name, password, now=T0)
        assert str(exc.value) == auth.GENERIC_FAILURE  # same answer: no account enumeration
    auth.set_active(store, SYSTEM, "regione", False)
    with pytest.raises(auth.AuthError, match=auth.GENERIC_FAILURE):
        auth.authenticate(store, "regione", auth.DEMO_PASSWORD, now=T0)
    actions = store.audit_frame(table="users")["action"].tolist()
    assert "accesso" in actions
    assert "accesso_fallito" in actions


def test_unknown_user_is_verified_against_a_dummy_hash(store, monkeypatch):
    seen = []

    class Spy(PasswordHasher):
        def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
            seen.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(auth, "HASHER", Spy(time_cost=1, memory_cost=8, parallelism=1))
    with pytest.raises(auth.AuthError):
        auth.authenticate(store, "non-esiste", "qualcosa-di-lungo", now=T0)
    assert len(seen) == 1
    assert seen[0].startswith("$argon2")


def test_rehash_when_parameters_change(store, monkeypatch):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, salt_len=8)
    monkeypatch.setattr(auth, "HASHER", weak)
    auth.add_user(store, SYSTEM, username="vecchio", password="password-del-2019", role="osservatore")
    old = store.user_row("vecchio")["password_hash"]
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(auth, "HASHER", stronger)
    auth.authenticate(store, "vecchio", "password-del-2019", now=T0)
    new = store.user_row("vecchio")["password_hash"]
    assert new != old
    assert "t=2" in new
    assert not stronger.check_needs_rehash(new)
    auth.authenticate(store, "vecchio", "password-del-2019", now=T0)  # the new hash verifies
    assert store.user_row("vecchio")["password_hash"] == new


ATTACKER, OFFICE = "203.0.113.7", "198.51.100.20"


def _fail(store, name, *, client, at, password="sbagliata-123"):
    with pytest.raises(auth.AuthError) as exc:
        auth.authenticate(store, name, password, client=client, now=at)
    return exc.value


def test_progressive_delays_per_client_address(store):
    for i in range(auth.CLIENT_FREE_FAILURES - 1):
        assert not isinstance(_fail(store, "prefettura", client=ATTACKER, at=T0 + timedelta(seconds=i)),
                              auth.LoginDelayed)
    # the failure that reaches the limit starts the delay (recorded), the next attempt waits
    _fail(store, "regione", client=ATTACKER, at=T0 + timedelta(seconds=10))
    delayed = _fail(store, "polizia", client=ATTACKER, at=T0 + timedelta(seconds=10.5))
    assert isinstance(delayed, auth.LoginDelayed)
    assert delayed.scope == "client"
    assert delayed.until == T0 + timedelta(seconds=10) + auth.CLIENT_DELAY_BASE
    assert "riprovare tra" in str(delayed)
    # while delayed even the right password is refused, without being checked or counted
    assert isinstance(_fail(store, "prefettura", client=ATTACKER, at=T0 + timedelta(seconds=11),
                            password=auth.DEMO_PASSWORD), auth.LoginDelayed)
    assert store.attempt_row("client", ATTACKER)["failures"] == auth.CLIENT_FREE_FAILURES
    # after the wait one more failure doubles it, up to the maximum
    later = T0 + timedelta(minutes=1)
    _fail(store, "prefettura", client=ATTACKER, at=later)
    assert store.attempt_row("client", ATTACKER)["next_allowed"] == later + 2 * auth.CLIENT_DELAY_BASE
    assert auth.client_delay(60) == auth.CLIENT_DELAY_MAX
    assert auth.account_delay(60) == auth.ACCOUNT_DELAY_MAX
    log = store.audit_frame(table="users")
    delays = log[log["action"] == "rallentamento"]
    assert len(delays) == 2
    assert json.loads(delays["after_json"].iloc[0])["indirizzo"] == ATTACKER


def test_a_stranger_cannot_lock_out_an_account(store):
    """Hundreds of wrong passwords for the Prefettura from other addresses: the Prefettura, from
    its own office, signs in at once, every time."""
    at = T0
    for i in range(200):
        at = T0 + timedelta(seconds=i * 5)
        with contextlib.suppress(auth.AuthError):
            auth.authenticate(store, "prefettura", "sbagliata-123", client=f"203.0.113.{i % 50}", now=at)
    assert store.attempt_row("account", "prefettura")["next_allowed"] > at  # the account is under attack...
    user = auth.authenticate(store, "prefettura", auth.DEMO_PASSWORD, client=OFFICE, now=at + timedelta(seconds=1))
    assert user.role == "prefettura"  # ...and its owner is not delayed
    assert store.attempt_row("account", "prefettura") is None  # the success resets the account counter
    # an attacking address that failed itself is delayed by the account counter too
    for i in range(auth.ACCOUNT_FREE_FAILURES):
        _fail(store, "prefettura", client=f"192.0.2.{i}", at=at + timedelta(seconds=2 + i))
    assert isinstance(_fail(store, "prefettura", client="192.0.2.0", at=at + timedelta(seconds=6.5)),
                      auth.LoginDelayed)


def test_logging_into_ones_own_account_buys_no_more_guesses(store):
    for i in range(auth.CLIENT_FREE_FAILURES):
        _fail(store, "prefettura", client=ATTACKER, at=T0 + timedelta(seconds=i))
    later = T0 + timedelta(minutes=5)
    auth.authenticate(store, "osservatore", auth.DEMO_PASSWORD, client=ATTACKER, now=later)
    _fail(store, "prefettura", client=ATTACKER, at=later + timedelta(seconds=1))
    assert isinstance(_fail(store, "prefettura", client=ATTACKER, at=later + timedelta(seconds=2)), auth.LoginDelayed)


def test_delays_also_for_names_that_do_not_exist(store):
    for i in range(auth.CLIENT_FREE_FAILURES):
        _fail(store, "fantasma", client=ATTACKER, at=T0 + timedelta(seconds=i), password="qualcosa-di-lungo")
    assert isinstance(_fail(store, "fantasma", client=ATTACKER, at=T0 + timedelta(seconds=5)), auth.LoginDelayed)


def test_old_failures_are_forgotten(store):
    for i in range(auth.CLIENT_FREE_FAILURES - 1):
        _fail(store, "regione", client=ATTACKER, at=T0 + timedelta(seconds=i))
    exc = _fail(store, "regione", client=ATTACKER, at=T0 + auth.FAILURE_MEMORY + timedelta(hours=1))
    assert not isinstance(exc, auth.LoginDelayed)
    assert store.attempt_row("client", ATTACKER)["failures"] == 1
    assert store.attempt_row("account", "regione")["failures"] == 1


@pytest.mark.parametrize(("peer", "header", "trusted", "expected"), [
    ("203.0.113.7", None, (), "203.0.113.7"),
    ("203.0.113.7", "1.2.3.4", (), "203.0.113.7"),  # no trusted proxy: the header is ignored
    ("10.0.0.5", "1.2.3.4", ("198.51.100.1",), "10.0.0.5"),  # not from the proxy: ignored
    ("10.0.0.5", "1.2.3.4, 203.0.113.9", ("10.0.0.0/8",), "203.0.113.9"),  # right-most untrusted hop
    ("10.0.0.5", "203.0.113.9, 10.0.0.7", ("10.0.0.0/8",), "203.0.113.9"),
    ("10.0.0.5", "spazzatura", ("10.0.0.0/8",), "10.0.0.5"),
    ("::1", "2001:db8::1", ("::1",), "2001:db8::1"),
    (None, "1.2.3.4", ("10.0.0.0/8",), auth.UNKNOWN_CLIENT),
])
def test_client_address_believes_only_trusted_proxies(peer, header, trusted, expected):
    assert auth.client_address(peer, header, trusted_proxies=trusted) == expected


@pytest.mark.parametrize(("password", "message"), [
    ("corta", "almeno"), (" spazi-intorno ", "spazi"), ("x" * 2000, "al massimo"),
    ("io-sono-mario.rossi!", "nome utente"),
])
def test_password_policy(store, password, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.add_user(store, SYSTEM, username="mario.rossi", password=password, role="osservatore")
    assert store.user_row("mario.rossi") is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"username": "ab"}, "Nome utente non valido"),
    ({"username": "sistema"}, "Nome utente non valido"),
    ({"username": "Mario Rossi"}, "Nome utente non valido"),
    ({"role": "sistema"}, "Ruolo sconosciuto"),
    ({"role": "amministratore"}, "Ruolo sconosciuto"),
    ({"role": "comune", "comuni": []}, "almeno un codice ISTAT"),
    ({"role": "regione", "comuni": [MASSA]}, "Solo il ruolo"),
    ({"role": "comune", "comuni": ["099999"]}, "non presenti nel territorio"),
    ({"username": "prefettura"}, "esiste già"),
    ({"email": "non-una-mail"}, "e-mail non valido"),
])
def test_account_validation(store, kwargs, message):
    args = {"username": "nuovo.utente", "password": "password-valida-1", "role": "osservatore", "comuni": ()}
    args.update(kwargs)
    before = store.count_users()
    with pytest.raises(auth.AuthError, match=message):
        auth.add_user(store, SYSTEM, **args)
    assert store.count_users() == before


def test_only_manage_users_may_change_accounts(store):
    for role, comuni in (("forze_polizia", ()), ("comune", (MASSA,)), ("regione", ()), ("osservatore", ())):
        actor = User("x", role, comuni=comuni)
        with pytest.raises(PermissionDenied):
            auth.add_user(store, actor, username="intruso", password="password-valida-1", role="prefettura")
        with pytest.raises(PermissionDenied):
            auth.set_role(store, actor, "comune-massa", "prefettura")
        with pytest.raises(PermissionDenied):
            auth.set_password(store, actor, "prefettura", "password-nuova-1")
        with pytest.raises(PermissionDenied):
            auth.list_users(store, actor)
    assert store.user_row("intruso") is None
    assert store.user_row("comune-massa")["role"] == "comune"
    prefettura = auth.get_user(store, "prefettura")
    changed = auth.set_role(store, prefettura, "comune-carrara", "comune", [CARRARA, MASSA])
    assert changed.comuni == (CARRARA, MASSA)
    entry = store.audit_frame(action="utente_modificato").iloc[-1]
    assert entry["username"] == "prefettura"
    assert '"comuni":"045003"' in entry["before_json"]


def test_password_change_and_disable(store):
    auth.set_password(store, SYSTEM, "osservatore", "nuova-password-2026")
    with pytest.raises(auth.AuthError):
        auth.authenticate(store, "osservatore", auth.DEMO_PASSWORD, now=T0)
    assert auth.authenticate(store, "osservatore", "nuova-password-2026", now=T0).username == "osservatore"
    auth.set_active(store, SYSTEM, "osservatore", False)
    assert not auth.get_user(store, "osservatore").active
    entry = store.audit_frame(action="password_cambiata").iloc[-1]
    assert "nuova-password-2026" not in (entry["after_json"] + entry["before_json"])


def test_oidc_identity_is_mapped_by_email(store):
    auth.add_user(store, SYSTEM, username="anna.bianchi", password=None, role="comune", comuni=[CARRARA],
                  email="anna.bianchi@comune.carrara.example")
    user = auth.user_for_identity(store, "Anna.Bianchi@Comune.Carrara.example", email_verified=True,
                                  provider="ente")
    assert user.username == "anna.bianchi"
    assert user.comuni == (CARRARA,)
    with pytest.raises(auth.AuthError, match="non risulta verificato"):
        auth.user_for_identity(store, "anna.bianchi@comune.carrara.example", email_verified=False)
    with pytest.raises(auth.AuthError, match="Nessun utente Lanterna"):
        auth.user_for_identity(store, "chiunque@example.org")
    with pytest.raises(auth.AuthError, match="e-mail"):
        auth.user_for_identity(store, None)
    # an account without a password cannot log in locally
    with pytest.raises(auth.AuthError):
        auth.authenticate(store, "anna.bianchi", "", now=T0)
    auth.set_active(store, SYSTEM, "anna.bianchi", False)
    with pytest.raises(auth.AuthError, match="Nessun utente Lanterna attivo"):
        auth.user_for_identity(store, "anna.bianchi@comune.carrara.example")
    assert "oidc" in store.audit_frame(action="accesso")["after_json"].iloc[-1]


def test_email_is_unique(store):
    auth.set_details(store, SYSTEM, "regione", email="sicurezza@regione.example")
    with pytest.raises(auth.AuthError, match="già associato"):
        auth.add_user(store, SYSTEM, username="altro", password=None, role="osservatore",
                      email="SICUREZZA@regione.example")


def test_oidc_configuration():
    assert auth.oidc_providers({}) == []
    assert auth.oidc_problems(None) == []
    shared = {"redirect_uri": "https://lanterna.example/oauth2callback", "cookie_secret": "s" * 32}
    provider = {"client_id": "id", "client_secret": "secret", "server_metadata_url": "https://idp/.well-known"}
    assert auth.oidc_providers({**shared, **provider}) == [None]
    assert auth.oidc_providers({**shared, "ente": provider, "altro": {"client_id": "x"}}) == ["ente"]
    assert auth.oidc_providers(provider) == []  # no redirect_uri / cookie_secret
    assert any("redirect_uri" in p for p in auth.oidc_problems(provider))
    bad = {**shared, "redirect_uri": "https://lanterna.example/", **provider}
    assert any("oauth2callback" in p for p in auth.oidc_problems(bad))
    assert any("nessun provider" in p for p in auth.oidc_problems(shared))


def test_demo_accounts_one_per_role(store):
    accounts = auth.demo_accounts(store.comuni())
    assert {a.role for a in accounts} == {"prefettura", "forze_polizia", "regione", "comune", "osservatore"}
    comuni = {a.username: a.comuni for a in accounts if a.role == "comune"}
    assert comuni == {"comune-massa": (MASSA,), "comune-carrara": (CARRARA,)}
    for a in accounts:
        assert auth.authenticate(store, a.username, auth.DEMO_PASSWORD, now=T0).role == a.role
    assert auth.ensure_demo_accounts(store) == []  # accounts exist: nothing to do
    assert store.audit_frame(action="utente_creato")["username"].eq("sistema").all()


def test_ensure_demo_accounts_only_on_demo_databases_without_accounts(mc_store):
    assert mc_store.count_users() == 0
    assert auth.ensure_demo_accounts(mc_store) == []  # not a demo database
    with mc_store.transaction() as cur:
        mc_store.set_meta(cur, "demo", "true")
    assert len(auth.ensure_demo_accounts(mc_store)) == 6
    assert mc_store.count_users() == 6


def test_version_1_file_is_migrated_in_place(mc_db_file, tmp_path):
    path = tmp_path / "v1.duckdb"
    shutil.copy(mc_db_file, path)
    con = duckdb.connect(str(path))
    for table in ("users", "audit_log", "report_events", "report_photos", "sessions", "login_attempts"):
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StorageError, match="aggiornarlo"):
        Store(path, read_only=True)
    with Store(path) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert store.count_users() == 0
        assert store.audit_count() == 0
        auth.add_user(store, SYSTEM, username="dopo.migrazione", password="password-valida-1", role="osservatore")
        assert audit.verify_chain(store).ok
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StorageError, match="ricostruirlo"):
        Store(path)
