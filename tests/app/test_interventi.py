"""The *Interventi* page through AppTest: the demo interventions, their evaluation, the report,
the create form, and what each role sees."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import DASHBOARD, login_as

PAGE = "pages/interventi.py"


def _open(role: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    login_as(at, role)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("demo_db")
def test_prefettura_sees_the_demo_interventions_and_a_real_evaluation():
    at = _open("prefettura")
    assert at.title[0].value == "Interventi"
    table = next(d.value for d in at.dataframe if d.value.columns[0] == "Codice")
    assert len(table) >= 2
    assert set(table["Sintetico"]) == {"sì"}
    metrics = {m.label: m.value for m in at.metric}
    effect = int(metrics["Effetto stimato"].replace("%", "").replace("−", "-").strip())
    assert -50 <= effect <= -10  # the planted -30 %
    assert any("Metodo" in c.value for c in at.caption)
    assert any("Conteggi" in c.value for c in at.caption)  # a cleared role
    at.button(key="interv_report").click().run()
    assert {b.label for b in at.get("download_button")} >= {"Scarica HTML", "Scarica CSV"}
    assert at.button(key="interv_new_submit")  # the create form is there for the Prefettura
    assert any("decoro da segnalazioni" in e.label for e in at.expander)


@pytest.mark.usefixtures("demo_db")
def test_the_regione_sees_estimates_only_and_no_form():
    at = _open("regione")
    assert not any("Conteggi" in c.value for c in at.caption)
    assert not at.get("form")
    assert not any(b.key == "interv_new_submit" for b in at.button)


def test_prefettura_starts_the_lighting_plan_as_an_intervention_and_the_regione_cannot(writable_db):
    from geo.data.storage import open_store

    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    login_as(at, "prefettura")
    at.run()
    at.switch_page("pages/illuminazione.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Avvia intervento dal piano" in e.label for e in at.expander)
    title = at.text_input(key="il_start_title").value
    assert title.startswith("Piano di illuminazione")
    cost = at.number_input(key="il_start_cost").value
    assert cost > 0
    next(b for b in at.button if b.label == "Avvia intervento").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("registrato" in s.value for s in at.success), [e.value for e in at.error]
    frame = open_store(str(writable_db)).interventions_frame()  # the app's own connection
    mine = frame[frame["kind"].eq("illuminazione") & ~frame["synthetic"]]
    assert len(mine) == 1
    assert mine["cost_eur"].iloc[0] == cost
    assert mine["title"].iloc[0] == title
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    login_as(at, "regione")
    at.run()
    at.switch_page("pages/illuminazione.py").run()
    assert not any("Avvia intervento" in e.label for e in at.expander)
