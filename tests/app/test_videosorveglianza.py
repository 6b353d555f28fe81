"""The *Videosorveglianza* page through Streamlit's AppTest on the demo database: KPIs, plan within
the budget, police cameras hidden for a Comune role and shown to the police."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.camera_controls import euro, euro_options
from tests.app.conftest import login_as

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/videosorveglianza.py"
pytestmark = pytest.mark.usefixtures("demo_db")


def _open(role: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    login_as(at, role)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _inventory(at: AppTest):
    return next(df.value for df in at.dataframe if "Posizione" in df.value.columns)


def test_police_role_sees_exact_positions_and_plan_within_budget():
    at = _open("forze_polizia")
    assert "Videosorveglianza" in [t.value for t in at.title]
    inv = _inventory(at)
    assert (inv["Posizione"] == "esatta").all()
    assert (inv["Proprietario"] == "Forze di polizia").any()
    plan = next(df.value for df in at.dataframe if "Costo (€)" in df.value.columns and "Codice" in df.value.columns)
    cost = plan["Costo (€)"].str.replace(".", "", regex=False).astype(float)  # Italian "7.500"
    assert 0 < cost.sum() <= 150_000
    assert any("Welsh & Farrington 2009" in m.value for m in at.markdown)
    assert plan["Fonte del costo"].str.startswith("stima – ").all()
    assert any("(stima)" in m.value and m.value.startswith("- Costi unitari:") for m in at.markdown)
    budget = next(s for s in at.select_slider if s.label == "Budget")
    assert budget.value == 150_000
    assert euro(budget.value) == "150.000 €"
    assert {s.label for s in at.select_slider} >= {"Costo dome/PTZ", "Costo fissa"}
    costs = next(df.value for df in at.dataframe if "Fonte" in df.value.columns and "Valore" in df.value.columns)
    assert set(costs["Valore"]) == {"stima"}
    assert any(m.value.startswith("- Nessuna rete stradale importata") for m in at.markdown)


def test_comune_role_does_not_see_police_cameras():
    at = _open("comune")
    inv = _inventory(at)
    police = inv[inv["Proprietario"] == "Forze di polizia"]
    assert (police["Posizione"] != "esatta").all()
    assert not police["Codice"].str.startswith("TLC-").any()
    bands = next(df.value for df in at.dataframe if "Fascia oraria" in df.value.columns)
    assert set(bands["Fascia oraria"]) == {"Giorno (6-20)", "Notte (20-6)"}
    assert bands["Quota coperta"].str.endswith(("%", "riservato", "–")).all()
    zones = next(df.value for df in at.dataframe if "Zona" in df.value.columns)
    assert len(zones) > 0
    assert zones["Zona"].str.match(r"Z-[0-9A-Z]{4}(-\d+)? – ").all()  # stable id and place


def test_euro_figures_are_italian():
    assert euro(1_000_000) == "1.000.000 €"
    assert euro_options(500, 2000, 500, 1234.4) == [500, 1000, 1234, 1500, 2000]
