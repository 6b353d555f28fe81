"""The *Dossier CPOSP* page through AppTest: the dossier for the role, its downloads, and what a
role without clearance is told about the sections it may not see."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import DASHBOARD, login_as

PAGE = "pages/dossier.py"


def _open(role: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=240)
    login_as(at, role)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("demo_db")
def test_the_prefettura_gets_the_whole_dossier_with_html_and_pdf():
    at = _open("prefettura")
    assert at.title[0].value == "Dossier per il CPOSP"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sezioni"] == "8"
    assert metrics["Redatto il"].count("/") == 2  # dd/mm/yyyy
    buttons = {b.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Scarica HTML", "Scarica PDF"}
    assert not at.info  # nothing withheld
    assert at.select_slider(key="dossier_budget").format_func(1_500_000.0) == "1.500.000 €"
    at.number_input(key="dossier_top").set_value(2).run()
    assert not at.exception


@pytest.mark.usefixtures("demo_db")
def test_the_observer_is_told_which_sections_it_cannot_see():
    at = _open("osservatore")
    assert {m.label: m.value for m in at.metric}["Sezioni"] == "4"
    note = at.info[0].value
    for title in ("Piano dell'illuminazione pubblica", "Segnalazioni all'ordine del giorno", "Interventi e loro esito",
                  "Videosorveglianza"):
        assert title in note
