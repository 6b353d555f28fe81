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
