"""The audit log (geo.access.audit): what an entry holds, append-only (no API to change it, tampering
detected), who may read and export it, and CSV exports that neutralise formulas."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from geo.access import audit, auth
from geo.access.permissions import SYSTEM, PermissionDenied, User
from geo.data import storage as storage_module
from geo.reports import workflow as reports
from tests.unit.auth_store import FORMULA, MASSA, SCRIPT, points_in

pytestmark = pytest.mark.usefixtures("cheap_hasher")


@pytest.fixture
def store(users_store):
    return users_store


def _file_report(store, user, *, description="Rifiuti ingombranti sul marciapiede", at=0):
    lat, lon = points_in(store, MASSA, 8)[at]
    return reports.create_report(store, user, lat=lat, lon=lon, category="rifiuti_abbandonati", severity=2,
                                 description=description, today=date(2026, 3, 2))


def test_every_write_is_recorded_with_who_when_what_before_after(store):
    officer = auth.get_user(store, "comune-massa")
    start = audit.utcnow()
    rid = _file_report(store, officer)
    reports.change_status(store, officer, rid, "presa_in_carico", comment="Sopralluogo fissato")
    log = store.audit_frame()
    created = log[(log["action"] == "creazione") & (log["record_key"] == rid)].iloc[0]
    assert created["username"] == "comune-massa"
    assert created["role"] == "comune"
    assert created["table_name"] == "reports"
    assert created["pro_com_t"] == MASSA
    assert pd.isna(created["before_json"])
    assert json.loads(created["after_json"])["status"] == "nuova"
    assert created["logged_at"] >= start - timedelta(seconds=1)
    moved = log[(log["action"] == "transizione") & (log["record_key"] == rid)].iloc[0]
    assert json.loads(moved["before_json"])["status"] == "nuova"
    after = json.loads(moved["after_json"])
    assert after["status"] == "presa_in_carico"
    assert after["commento"] == "Sopralluogo fissato"


def test_a_failed_write_leaves_no_entry(store):
    before = store.audit_count()
    carrara = auth.get_user(store, "comune-carrara")
    with pytest.raises(PermissionDenied):
        _file_report(store, carrara)
    with pytest.raises(reports.ReportError):
        reports.change_status(store, SYSTEM, "SEG-NON-ESISTE", "risolta")
    assert store.audit_count() == before


def test_no_api_changes_or_removes_entries(store):
    _file_report(store, auth.get_user(store, "comune-massa"))
    for module in (audit, storage_module.Store):
        names = [n for n in dir(module) if not n.startswith("__")]
        assert not [n for n in names if any(w in n.lower() for w in ("delete_audit", "update_audit",
                                                                       "remove_audit", "clear_audit",
                                                                       "edit_audit", "purge"))]
    # the store's generic writers refuse the log
    with pytest.raises(ValueError, match="tabella sconosciuta"), store.transaction() as cur:
        storage_module.Store.write_frame(cur, "audit_log", pd.DataFrame({"audit_id": [1]}), mode="replace")
    with pytest.raises(ValueError, match="tabella sconosciuta"):
        store.table("audit_log")
    assert audit.verify_chain(store).ok


def test_tampering_with_sql_is_detected(store):
    officer = auth.get_user(store, "comune-massa")
    for i in range(3):
        _file_report(store, officer, at=i)
    assert audit.verify_chain(store).ok
    log = store.audit_frame()
    target = int(log["audit_id"].iloc[-2])
    store.cursor().execute("UPDATE audit_log SET username = 'qualcun-altro' WHERE audit_id = ?", [target])
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == target
    assert "alterato" in check.message
    store.cursor().execute("UPDATE audit_log SET username = 'comune-massa' WHERE audit_id = ?", [target])
    assert audit.verify_chain(store).ok
    store.cursor().execute("DELETE FROM audit_log WHERE audit_id = ?", [target])
    check = audit.verify_chain(store)
    assert not check.ok
    assert check.first_bad == target
    assert "manca la voce" in check.message


def test_hash_chain_links_each_entry_to_the_previous(store):
    _file_report(store, auth.get_user(store, "comune-massa"))
    log = store.audit_frame()
    assert log["prev_hash"].iloc[0] == audit.GENESIS
    assert (log["prev_hash"].iloc[1:].to_numpy() == log["entry_hash"].iloc[:-1].to_numpy()).all()
    assert log["audit_id"].is_monotonic_increasing


def test_only_prefettura_reads_and_exports(store):
    for name in ("polizia", "regione", "comune-massa", "osservatore"):
        user = auth.get_user(store, name)
        with pytest.raises(PermissionDenied):
            audit.entries(store, user)
        with pytest.raises(PermissionDenied):
            audit.export_csv(store, user)
    with pytest.raises(PermissionDenied):
        audit.entries(store, None)
    prefettura = auth.get_user(store, "prefettura")
    assert len(audit.entries(store, prefettura)) == store.audit_count()


def test_filters(store):
    prefettura = auth.get_user(store, "prefettura")
    _file_report(store, auth.get_user(store, "comune-massa"))
    assert set(audit.entries(store, prefettura, username="comune-massa")["action"]) == {"creazione"}
    assert set(audit.entries(store, prefettura, table="users")["table_name"]) == {"users"}
    today = audit.utcnow().date()
    assert len(audit.entries(store, prefettura, start=today, end=today)) == store.audit_count()
    assert audit.entries(store, prefettura, end=today - timedelta(days=2)).empty
    assert len(audit.entries(store, prefettura, limit=2)) == 2


def test_export_is_csv_for_excel_neutralises_formulas_and_is_recorded(store):
    officer = auth.get_user(store, "comune-massa")
    _file_report(store, officer, description=FORMULA + " " + SCRIPT)
    auth.add_user(store, SYSTEM, username="formula", password=None, role="osservatore", display_name="@SUM(A1)")
    prefettura = auth.get_user(store, "prefettura")
    before = store.audit_count()
    data = audit.export_csv(store, prefettura, table="reports")
    assert data.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(data), sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert list(table.columns)[:4] == ["N.", "Data e ora (UTC)", "Utente", "Ruolo"]
    after = table["Dopo"].iloc[-1]
    assert SCRIPT in after  # exported as text, not interpreted
    for column in table.columns:
        assert not table[column].str.match(r"^[=+\-@]").any(), column
    assert store.audit_count() == before + 1
    exported = store.audit_frame(action="esportazione").iloc[-1]
    assert exported["username"] == "prefettura"
    assert json.loads(exported["after_json"])["filtri"] == {
        "table": "reports"}


def test_csv_neutralisation_of_every_dangerous_start():
    frame = pd.DataFrame({"a": ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", None]})
    assert audit.csv_bytes(frame).decode("utf-8-sig").startswith("a\r\n'=1+1\r\n'+1\r\n'-1\r\n'@x")
    values = pd.read_csv(io.BytesIO(audit.csv_bytes(frame)), sep=";", dtype=str, encoding="utf-8-sig",
                         keep_default_na=False)["a"].tolist()
    assert values == ["'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "ok", ""]


def test_secrets_never_enter_the_log():
    text = audit.to_json({"password": "x", "password_hash": "$argon2id$...", "data": b"\x89PNG", "nome": "ok",
                          "quando": datetime(2026, 1, 2, 3, 4, 5), "numeri": [1, 2.5, float("nan")]})
    assert json.loads(text) == {"password": "***", "password_hash": "***", "data": "***", "nome": "ok",
                                "quando": "2026-01-02T03:04:05", "numeri": [1, 2.5, None]}


def test_record_needs_an_open_transaction_and_keeps_the_actor(store):
    actor = User("mario", "comune", comuni=(MASSA,))
    with store.transaction() as cur:
        entry_id = audit.record(store, cur, actor, action="commento", table="report_events", key="X#1",
                                pro_com_t=MASSA, after={"testo": SCRIPT})
    row = store.audit_frame().set_index("audit_id").loc[entry_id]
    assert row["username"] == "mario"
    assert json.loads(row["after_json"])["testo"] == SCRIPT
    def record_then_fail() -> None:
        with store.transaction() as cur:
            audit.record(store, cur, actor, action="commento", table="report_events")
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError, match="rollback"):
        record_then_fail()
    assert entry_id == store.audit_frame()["audit_id"].max()


def test_homeless_census_writes_are_in_the_audit_log(store):
    from geo.services import homeless
    lat, lon = points_in(store, MASSA, 1)[0]
    record = {"name": "Docce comunali <b>", "operator": "Comune", "types": ["docce"], "hours": "Mo-Fr 09:00-12:00",
              "open_24h": False, "capacity": None, "public": True, "lat": lat, "lon": lon}
    sid = homeless.add_service(store, record, role="comune", user_comuni=(MASSA,), user_name="comune-massa")
    homeless.edit_service(store, sid, {**record, "hours": "24/7", "open_24h": True}, role="comune",
                          user_comuni=(MASSA,), user_name="comune-massa")
    homeless.close_service(store, sid, role="prefettura", reason="Trasferito", user_name="prefettura")
    log = store.audit_frame(table="services")
    assert log["action"].tolist() == ["aggiunto", "modificato", "chiuso"]
    assert log["username"].tolist() == ["comune-massa", "comune-massa", "prefettura"]
    assert log["record_key"].eq(sid).all()
    assert log["pro_com_t"].eq(MASSA).all()
    assert json.loads(log["before_json"].iloc[1])["hours"] == "Mo-Fr 09:00-12:00"
    assert json.loads(log["after_json"].iloc[2]) == {"motivo": "Trasferito"}
    with pytest.raises(homeless.ServicePermissionError):
        homeless.add_service(store, record, role="comune", user_comuni=("045003",), user_name="comune-carrara")
    assert len(store.audit_frame(table="services")) == 3
    assert audit.verify_chain(store).ok


def test_data_version_follows_data_changes_not_logins(store):
    from geo.overview import metrics
    before = metrics.data_version(store)
    auth.authenticate(store, "prefettura", auth.DEMO_PASSWORD)
    audit.export_csv(store, auth.get_user(store, "prefettura"))
    assert metrics.data_version(store) == before  # logins and exports do not invalidate the caches
    rid = _file_report(store, auth.get_user(store, "comune-massa"))
    after_create = metrics.data_version(store)
    assert after_create != before
    reports.change_status(store, auth.get_user(store, "comune-massa"), rid, "presa_in_carico")
    assert metrics.data_version(store) != after_create  # same row count, new status: a new version
