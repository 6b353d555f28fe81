"""The *Agenda CPOSP* page through AppTest: what is to be discussed and the interventions decided,
per role, with its exports."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from geo.access import auth
from geo.data.storage import open_store
from geo.reports import workflow as reports
from tests.app.conftest import DASHBOARD, login_as

PAGE = "pages/agenda.py"


def _open(role: str | None = None, *, username: str | None = None) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    login_as(at, role, username=username)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest):
    return next(d.value for d in at.dataframe if d.value.columns[0] == "Codice")


def test_prefettura_sees_the_whole_agenda_with_exports(demo_db):
    at = _open("prefettura")
    assert at.title[0].value == "Agenda del CPOSP"
    table = _table(at)
    expected = reports.agenda(open_store(demo_db), auth.get_user(open_store(demo_db), "prefettura"))
    assert table["Codice"].tolist() == expected["Codice"].tolist()
    assert len(table) > 0
    assert set(table["Stato"]) <= {"All'ordine del giorno del CPOSP", "Intervento programmato"}
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Da discutere"].replace(".", "")) == int((table["Stato"] == "All'ordine del giorno del CPOSP")
                                                                 .sum())
    assert "Lat" not in table.columns
    labels = {b.label for b in at.get("download_button")}
    assert {"Scarica CSV", "Pagina da stampare"} <= labels


@pytest.mark.usefixtures("demo_db")
def test_a_comune_sees_only_its_own_items():
    at = _open("comune")
    assert set(_table(at)["Comune"]) == {"Massa"}
    carrara = _open(None, username="comune-carrara")
    assert set(_table(carrara)["Comune"]) == {"Carrara"}


@pytest.mark.usefixtures("demo_db")
@pytest.mark.parametrize("role", ["regione", "osservatore"])
def test_roles_without_the_agenda_do_not_reach_it(role):
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    login_as(at, role)
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
