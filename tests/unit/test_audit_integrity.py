"""The keyed audit chain (issue 15): the four forgeries of the issue are detected, anchors catch
truncation, id gaps are reported, the key lives outside the database with owner-only permissions,
rotation keeps old entries verifiable, and ``python -m geo audit verifica`` says what is wrong."""

from __future__ import annotations

import json
import stat
from datetime import date

import pytest

from geo.access import audit, auth, keys
from geo.access.permissions import SYSTEM
from geo.reports import workflow as reports
from tests.unit.auth_store import CHEAP, MASSA, demo_users, points_in


@pytest.fixture(autouse=True)
def isolated_keys(monkeypatch, tmp_path):
    """Each test gets its own key file (and the cheap hasher)."""
    monkeypatch.setattr(auth, "HASHER", CHEAP)
    monkeypatch.setenv("LANTERNA_SECRETS_FILE", str(tmp_path / "secrets" / "keys.json"))
    for name in ("LANTERNA_AUDIT_KEY", "LANTERNA_AUDIT_OLD_KEYS", "LANTERNA_SESSION_KEY", "LANTERNA_AUDIT_ANCHORS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(mc_store):
    demo_users(mc_store)
    officer = auth.get_user(mc_store, "comune-massa")
    for i, (lat, lon) in enumerate(points_in(mc_store, MASSA, 4)):
        reports.create_report(mc_store, officer, lat=lat, lon=lon, category="rifiuti_abbandonati", severity=2,
                              description=f"Rifiuti {i}", today=date(2026, 3, 2))
    assert audit.verify_chain(mc_store).ok
    return mc_store


def _sql(store, statement: str, params=()):
    store.cursor().execute(statement, list(params))


def _rechain_with_entry_hash(store, first_id: int) -> None:
    """What a forger with the product's code but not the key does: recompute every hash from
    ``first_id`` on with the public function, fixing the links."""
    log = store.audit_frame()
    previous = audit.GENESIS if first_id == 1 else log.loc[log["audit_id"] < first_id, "entry_hash"].iloc[-1]
    for row in log[log["audit_id"] >= first_id].to_dict("records"):
        row["prev_hash"] = previous
        row["entry_hash"] = audit.entry_hash(row)
        _sql(store, "UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE audit_id = ?",
             [row["prev_hash"], row["entry_hash"], row["audit_id"]])
        previous = row["entry_hash"]


def test_forgery_1_deleting_the_newest_entry(store):
    last = int(store.audit_frame()["audit_id"].max())
    _sql(store, "DELETE FROM audit_log WHERE audit_id = ?", [last])
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == last
    assert "troncato" in check.message
    assert f"n. {last}" in check.message


def test_forgery_1b_deleting_the_newest_entry_and_replaying_an_old_head_is_caught_by_the_anchor(store):
    old_head = store.get_meta("audit_head")
    with store.transaction() as cur:
        audit.record(store, cur, SYSTEM, action="commento", table="report_events", key="X#1")
    last = int(store.audit_frame()["audit_id"].max())
    printed = audit.anchor(store, reason="esportazione CSV")
    assert printed.audit_id == last
    assert f"voce n. {last}" in printed.text
    _sql(store, "DELETE FROM audit_log WHERE audit_id = ?", [last])
    _sql(store, "UPDATE meta SET value = ? WHERE key = 'audit_head'", [old_head])  # a head copied earlier
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == last
    assert "ancora" in check.message


def test_forgery_2_changing_a_row_and_recomputing_the_chain(store):
    log = store.audit_frame()
    target = int(log["audit_id"].iloc[-3])
    _sql(store, "UPDATE audit_log SET username = 'qualcun-altro' WHERE audit_id = ?", [target])
    _rechain_with_entry_hash(store, target)
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == target
    assert "modificata" in check.message
    # nor with a MAC under a key of the forger's own
    row = store.audit_frame().set_index("audit_id").loc[target].to_dict()
    row["audit_id"] = target
    forged = audit.entry_mac(row, b"x" * 32, store.get_meta("audit_chain_id"))
    _sql(store, "UPDATE audit_log SET entry_hash = ? WHERE audit_id = ?", [forged, target])
    assert audit.verify_chain(store).first_bad == target


def test_forgery_3_deleting_a_middle_entry_and_recomputing(store):
    log = store.audit_frame()
    target = int(log["audit_id"].iloc[len(log) // 2])
    _sql(store, "DELETE FROM audit_log WHERE audit_id = ?", [target])
    _rechain_with_entry_hash(store, target + 1)
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == target
    assert f"manca la voce n. {target}" in check.message
    # closing the gap by renumbering does not help either
    _sql(store, "UPDATE audit_log SET audit_id = audit_id - 1 WHERE audit_id > ?", [target])
    _rechain_with_entry_hash(store, target)
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == target


def test_forgery_4_changing_a_row_without_recomputing(store):
    target = int(store.audit_frame()["audit_id"].iloc[2])
    _sql(store, "UPDATE audit_log SET after_json = '{}' WHERE audit_id = ?", [target])
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == target
    assert "HMAC" in check.message


def test_removing_the_head_or_rewriting_entries_without_key_is_detected(store):
    _sql(store, "DELETE FROM meta WHERE key = 'audit_head'")
    assert "testa" in audit.verify_chain(store).message
    _sql(store, "INSERT INTO meta VALUES ('audit_head', ?)", [json.dumps({"audit_id": 1, "mac": "0", "key_id": "x"})])
    assert "non è autentica" in audit.verify_chain(store).message


def test_the_key_is_outside_the_database_owner_only_and_in_every_entry(store, tmp_path):
    path = tmp_path / "secrets" / "keys.json"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    ring = keys.load_keys()
    log = store.audit_frame()
    assert set(log["key_id"]) == {ring.current}
    secret = ring.audit_key(ring.current).decode()
    assert store.query("SELECT count(*) AS n FROM audit_log WHERE entry_hash = ? OR before_json LIKE ? "
                       "OR after_json LIKE ?", [secret, f"%{secret}%", f"%{secret}%"])["n"].iloc[0] == 0
    assert secret not in json.dumps(store.query("SELECT * FROM meta").to_dict("records"))


def test_without_the_key_nothing_verifies(store, monkeypatch, tmp_path):
    monkeypatch.setenv("LANTERNA_SECRETS_FILE", str(tmp_path / "other" / "keys.json"))
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == 1
    assert "non disponibile" in check.message


def test_key_from_the_environment(mc_store, monkeypatch):
    monkeypatch.setenv("LANTERNA_AUDIT_KEY", "k" * 40)
    demo_users(mc_store)
    assert set(mc_store.audit_frame()["key_id"]) == {keys.key_id(b"k" * 40)}
    assert audit.verify_chain(mc_store).ok
    monkeypatch.setenv("LANTERNA_AUDIT_KEY", "short")
    with pytest.raises(keys.KeyStoreError, match="almeno 32"):
        keys.load_keys()


def test_rotation_keeps_old_entries_verifiable_and_refuses_the_old_key_afterwards(store):
    before = keys.load_keys().current
    old, new = audit.rotate_key(store)
    assert old == before
    assert new != old
    assert keys.load_keys().current == new
    auth.authenticate(store, "prefettura", auth.DEMO_PASSWORD)
    log = store.audit_frame()
    assert log["action"].iloc[-2] == "rotazione_chiave"
    assert log["key_id"].iloc[-1] == new
    assert audit.verify_chain(store).ok
    # an entry appended after the rotation but signed with the retired key is refused
    row = log.iloc[-1].to_dict()
    chain = store.get_meta("audit_chain_id")
    row["entry_hash"] = audit.entry_mac(row, keys.load_keys().audit_key(old), chain)
    _sql(store, "UPDATE audit_log SET key_id = ?, entry_hash = ? WHERE audit_id = ?",
         [old, row["entry_hash"], int(row["audit_id"])])
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == int(row["audit_id"])
    assert "rotazione" in check.message


def test_unkeyed_entries_of_schema_2_are_accepted_only_before_the_keyed_ones(store):
    log = store.audit_frame()
    # turn the first three entries into schema-2 entries (unkeyed SHA-256) as a migrated file has them
    previous = audit.GENESIS
    for row in log.head(3).to_dict("records"):
        row["prev_hash"], row["key_id"] = previous, None
        row["entry_hash"] = audit.entry_hash(row)
        _sql(store, "UPDATE audit_log SET prev_hash = ?, entry_hash = ?, key_id = NULL WHERE audit_id = ?",
             [row["prev_hash"], row["entry_hash"], row["audit_id"]])
        previous = row["entry_hash"]
    # the fourth (keyed) entry was chained to the original third one: re-sign it as an upgrade would
    ring = keys.load_keys()
    fourth = store.audit_frame().iloc[3].to_dict()
    fourth["prev_hash"] = previous
    fourth["entry_hash"] = audit.entry_mac(fourth, ring.audit_key(ring.current), store.get_meta("audit_chain_id"))
    _sql(store, "UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE audit_id = 4",
         [fourth["prev_hash"], fourth["entry_hash"]])
    _rechain_keyed(store, 5)
    check = audit.verify_chain(store)
    assert check.ok
    assert "3 voci anteriori" in check.message
    # rewriting an old unkeyed entry breaks the link of the first keyed one
    _sql(store, "UPDATE audit_log SET username = 'x' WHERE audit_id = 2")
    _rechain_with_entry_hash(store, 2)
    assert audit.verify_chain(store).first_bad == 4


def _rechain_keyed(store, first_id: int) -> None:
    """Re-sign entries from ``first_id`` with the real key (the test's own shortcut, not a forgery)."""
    ring = keys.load_keys()
    chain = store.get_meta("audit_chain_id")
    log = store.audit_frame()
    previous = log.loc[log["audit_id"] < first_id, "entry_hash"].iloc[-1]
    row = None
    for row in log[log["audit_id"] >= first_id].to_dict("records"):
        row["prev_hash"] = previous
        row["entry_hash"] = audit.entry_mac(row, ring.audit_key(row["key_id"]), chain)
        _sql(store, "UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE audit_id = ?",
             [row["prev_hash"], row["entry_hash"], row["audit_id"]])
        previous = row["entry_hash"]
    head = {"audit_id": int(row["audit_id"]), "mac": row["entry_hash"], "key_id": row["key_id"]}
    head["head_mac"] = audit._head_mac(ring.audit_key(row["key_id"]), chain, head["audit_id"], head["mac"])
    _sql(store, "UPDATE meta SET value = ? WHERE key = 'audit_head'", [json.dumps(head)])


def test_anchor_file_is_append_only_owner_only_and_confirms_the_chain(store):
    first = audit.anchor(store, reason="agenda")
    auth.authenticate(store, "prefettura", auth.DEMO_PASSWORD)
    second = audit.anchor(store, reason="registro")
    path = store.path.with_name(store.path.name + ".anchors")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["audit_id"] == first.audit_id
    assert second.audit_id == first.audit_id + 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    check = audit.verify_chain(store)
    assert check.ok
    assert check.anchors == 2
    assert "2 ancore confermate" in check.message


def test_cli_verifica_says_what_is_wrong_and_from_which_entry(store, capsys):
    from geo.cli.main import main

    store.close()
    assert main(["audit", "verifica", "--db", str(store.path)]) == 0
    assert "Registro integro" in capsys.readouterr().out
    from geo.data.storage import Store, close_all

    close_all()
    with Store(store.path) as raw:
        raw.cursor().execute("UPDATE audit_log SET action = 'commento' WHERE audit_id = 3")
    assert main(["audit", "verifica", "--db", str(store.path)]) == 1
    out = capsys.readouterr().out
    assert "dalla voce n. 3" in out
    assert "la voce n. 3 è stata modificata" in out
    close_all()


def test_a_schema_2_file_is_migrated_and_its_unkeyed_log_is_sealed_by_the_next_entry(mc_db_file, tmp_path):
    import shutil

    import duckdb

    from geo.data.storage import SCHEMA_VERSION, Store

    path = tmp_path / "v2.duckdb"
    shutil.copy(mc_db_file, path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE sessions")
    con.execute("DROP TABLE login_attempts")
    con.execute("ALTER TABLE audit_log DROP COLUMN key_id")
    con.execute("CREATE TABLE login_throttle (username VARCHAR PRIMARY KEY, failures INTEGER NOT NULL, "
                "locked_until TIMESTAMP, last_failure TIMESTAMP NOT NULL)")
    previous = audit.GENESIS
    for i in (1, 2):  # two entries as schema 2 wrote them (plain SHA-256)
        entry = {"audit_id": i, "logged_at": audit.utcnow(), "username": "sistema", "role": "sistema",
                 "action": "utente_creato", "table_name": "users", "record_key": f"u{i}", "pro_com_t": None,
                 "before_json": None, "after_json": "{}", "prev_hash": previous}
        entry["entry_hash"] = audit.entry_hash(entry)
        con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(entry.values()))
        previous = entry["entry_hash"]
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    with Store(path) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert {"sessions", "login_attempts"} <= set(store.query(
            "SELECT table_name FROM information_schema.tables")["table_name"])
        assert "login_throttle" not in set(store.query("SELECT table_name FROM information_schema.tables")
                                           ["table_name"])
        assert audit.verify_chain(store).ok
        auth.add_user(store, SYSTEM, username="dopo.migrazione", password="password-valida-1", role="osservatore")
        log = store.audit_frame()
        assert log["key_id"].isna().tolist() == [True, True, False]
        assert log["prev_hash"].iloc[2] == previous
        check = audit.verify_chain(store)
        assert check.ok
        assert "2 voci anteriori" in check.message
        # the old entries cannot be rewritten any more: the keyed entry is chained to them
        store.cursor().execute("UPDATE audit_log SET record_key = 'altro' WHERE audit_id = 1")
        previous = audit.GENESIS
        for row in store.audit_frame().head(2).to_dict("records"):
            row["prev_hash"] = previous
            row["entry_hash"] = audit.entry_hash(row)
            store.cursor().execute("UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE audit_id = ?",
                                   [row["prev_hash"], row["entry_hash"], row["audit_id"]])
            previous = row["entry_hash"]
        assert audit.verify_chain(store).first_bad == 3


def test_exports_print_the_anchor_in_each_format(store):
    import io

    import pandas as pd

    found = audit.anchor(store, reason="test")
    csv = audit.stamp("\ufeffa;b\r\n1;2\r\n".encode(), found, "csv")
    assert csv.startswith(b"\xef\xbb\xbf")
    assert csv.endswith(f"# {found.text}\r\n".encode())
    table = pd.read_csv(io.BytesIO(csv), sep=";", encoding="utf-8-sig", comment="#")
    assert table.to_dict("list") == {"a": [1], "b": [2]}  # the table itself is unchanged
    geo = json.loads(audit.stamp(b'{"type": "FeatureCollection", "features": []}', found, "geojson"))
    assert geo["features"] == []
    assert geo["lanterna_registro"]["voce"] == found.audit_id
    assert geo["lanterna_registro"]["impronta"] == store.audit_frame()["entry_hash"].iloc[-1]
    page = audit.stamp("<html><body><h1>Agenda</h1></body></html>", found, "html").decode()
    assert page.index(f"voce n. {found.audit_id}") < page.index("</body>")
    assert "<h1>Agenda</h1>" in page
    with pytest.raises(ValueError, match="formato sconosciuto: pdf"):
        audit.stamp(b"x", found, "pdf")


def test_rotation_with_keys_from_the_environment(mc_store, monkeypatch):
    monkeypatch.setenv("LANTERNA_AUDIT_KEY", "a" * 40)
    demo_users(mc_store)
    with pytest.raises(keys.KeyStoreError, match="già la chiave"):
        audit.rotate_key(mc_store)
    monkeypatch.setenv("LANTERNA_AUDIT_KEY", "b" * 40)
    monkeypatch.setenv("LANTERNA_AUDIT_OLD_KEYS", "a" * 40)
    old, new = audit.rotate_key(mc_store)
    assert (old, new) == (keys.key_id(b"a" * 40), keys.key_id(b"b" * 40))
    auth.authenticate(mc_store, "prefettura", auth.DEMO_PASSWORD)
    assert audit.verify_chain(mc_store).ok
    monkeypatch.delenv("LANTERNA_AUDIT_OLD_KEYS")  # the old key lost: its entries cannot be verified
    assert "non disponibile" in audit.verify_chain(mc_store).message
