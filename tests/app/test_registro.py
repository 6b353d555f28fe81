"""The *Registro delle modifiche* page through AppTest: the audit log for the Prefettura only,
its integrity check, filters and export."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from geo.access import auth
from geo.data.storage import open_store
from geo.reports import workflow as reports
from tests.app.conftest import DASHBOARD, login_as, open_page

PAGE = "pages/registro.py"
SCRIPT = "<script>alert('x')</script>"


def _open(role: str = "prefettura") -> AppTest:
    return open_page(PAGE, role, timeout=90)


def _entries(at: AppTest):
    return next(d.value for d in at.dataframe if d.value.columns[0] == "N.")


def test_prefettura_reads_the_log_newest_first(writable_db):
    store = open_store(writable_db)
    officer = auth.get_user(store, "comune-massa")
    rid = reports.create_report(store, officer, lat=44.035474, lon=10.139555, category="altro", severity=1,
                                description=SCRIPT, confirm_duplicates=True)
    at = _open()
    assert any("Registro integro" in s.value for s in at.success)
    table = _entries(at)
    assert table["Utente"].iloc[0] == "comune-massa"
    assert table["Chiave"].iloc[0] == rid
    assert table["Azione"].iloc[0] == "Creazione"
    assert SCRIPT in table["Dopo"].iloc[0]
    at.text_input(key="reg_user").input("sistema").run()
    assert set(_entries(at)["Utente"]) == {"sistema"}
    assert any(b.label == "Scarica CSV" for b in at.get("download_button"))


def test_tampering_is_shown(writable_db):
    store = open_store(writable_db)
    store.cursor().execute("UPDATE audit_log SET username = 'nessuno' WHERE audit_id = 1")
    at = _open()
    assert any("alterato" in e.value and "n. 1" in e.value for e in at.error)


@pytest.mark.usefixtures("demo_db")
@pytest.mark.parametrize("role", ["forze_polizia", "regione", "comune", "osservatore"])
def test_only_the_prefettura_reaches_it(role):
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    login_as(at, role)
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
    alone = AppTest.from_file(os.path.join(os.path.dirname(DASHBOARD), PAGE), default_timeout=60)
    login_as(alone, role)
    alone.run()
    assert any("non può consultare il registro" in e.value for e in alone.error)
    assert not alone.dataframe
