"""The *Illuminazione* page (lighting investment planner, pact art. 5) through Streamlit's AppTest,
on the demo database.

AppTest cannot run the map's iframe (streamlit-folium): the map layers are built by the page's
functions and checked in the browser. Here: the plan and its range, a budget change, the
constraints, the parameters with their sources, the exports and the role's privacy, with
figures computed independently through :mod:`geo.lighting.need` and :mod:`geo.lighting.plan` on the
same database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from geo.access.privacy import COUNT_LABEL, DERIVED_LABEL, format_decimal, format_int
from geo.data.storage import open_store
from geo.lighting.effects import EffectModel
from geo.lighting.need import lighting_need
from geo.lighting.plan import PlanOptions, build_candidates, optimise
from geo.lighting.report import totals_hidden
from tests.app.conftest import login_as

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/illuminazione.py"
pytestmark = pytest.mark.usefixtures("demo_db")  # LANTERNA_DB points at the session's demo database


def _open(role: str = "regione", **widgets) -> AppTest:
    """The page as ``role`` (the Regione plans lighting, art. 5), after setting ``widgets``."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    login_as(at, role)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if widgets:
        for key, value in widgets.items():
            widget = at.number_input(key=key) if key.startswith(("il_budget", "il_f_", "il_c_")) else at.toggle(key=key)
            widget.set_value(value)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at) -> dict:
    return {m.label: m for m in at.metric}


def _plan_table(at):
    return next(d.value for d in at.dataframe if len(d.value.columns) and d.value.columns[0] == "Posizione")


def _expected_plan(at, demo_db, budget: float, *, role: str | None = None, effects: EffectModel | None = None,
                   **options):
    """The plan the page computes: on protected counts for a ``role`` without clearance."""
    f = at.session_state["filters"]
    store = open_store(demo_db)
    need = lighting_need(store, res=9, comuni=f.comuni, start=f.start, end=f.end, categories=f.categories or None,
                         role=role)
    return optimise(build_candidates(need, effects=effects), PlanOptions(budget=budget, **options))


def _texts(at) -> list[str]:
    """Every text and table cell the page shows."""
    out = [e.value for kind in ("markdown", "caption", "info", "warning", "error") for e in at.get(kind)]
    out += [m.value for m in at.metric] + [str(m.delta) for m in at.metric]
    for d in at.dataframe:
        out += d.value.astype(str).to_numpy().ravel().tolist()
    return out


@pytest.fixture(scope="module")
def default_page(demo_db):  # noqa: ARG001 - the fixture sets LANTERNA_DB
    return _open()


@pytest.fixture(scope="module")
def cleared_page(demo_db):  # noqa: ARG001 - the fixture sets LANTERNA_DB
    return _open(role="forze_polizia")


def test_page_shows_the_optimal_plan_with_its_range(cleared_page, demo_db):
    at = cleared_page
    assert at.title[0].value == "Illuminazione – piano di investimento"
    expected = _expected_plan(at, demo_db, 1_000_000.0)
    t = expected.totals
    m = _metrics(at)
    assert m["Costo del piano"].value == f"{format_int(t['cost_eur'])} €"
    assert t["cost_eur"] <= 1_000_000.0
    effect = m["Delitti evitati all'anno"]
    assert effect.value == format_decimal(t["prevented_central"], 1)
    # never the central value without its range
    low, high = format_decimal(t["prevented_low"], 1), format_decimal(t["prevented_high"], 1)
    assert effect.delta == f"intervallo {low}–{high}"
    assert "Ritorno LED" in m
    assert "Energia risparmiata all'anno" in m
    table = _plan_table(at)
    assert len(table) == len(expected.selected)
    assert table["Intervento"].tolist() == expected.selected["id"].tolist()
    assert (np.diff(table["Costo cumulato (€)"].to_numpy()) >= 0).all()
    assert any("intervallo" in md.value for md in at.markdown)


def test_the_regione_sees_its_plan_effect_per_comune_and_on_the_frontier(default_page, demo_db):
    """issue 11: the plan of a role without clearance is computed on protected counts, so its
    prevented incidents, their range, the per-comune shares and the frontier are all shown."""
    at = default_page
    expected = _expected_plan(at, demo_db, 1_000_000.0, role="regione")
    exact = _expected_plan(at, demo_db, 1_000_000.0)
    assert totals_hidden(exact, "regione")  # the exact plan would have had to hide them
    assert not totals_hidden(expected, "regione")
    t = expected.totals
    m = _metrics(at)
    assert m["Delitti evitati all'anno"].value == format_decimal(t["prevented_central"], 1)
    low, high = format_decimal(t["prevented_low"], 1), format_decimal(t["prevented_high"], 1)
    assert m["Delitti evitati all'anno"].delta == f"intervallo {low}–{high}"
    assert m["Costo del piano"].value == f"{format_int(t['cost_eur'])} €"
    effect = next(md.value for md in at.markdown if "Effetto atteso" in md.value)
    assert DERIVED_LABEL not in effect
    assert format_decimal(t["prevented_central"], 1) in effect
    by = next(d.value for d in at.dataframe if "Quota del piano" in d.value.columns)
    exp_by = expected.by_comune.set_index("pro_com_t")
    assert len(by) == len(exp_by)
    for label, col in (("basso", "prevented_low"), ("centrale", "prevented_central"), ("alto", "prevented_high")):
        shown = by[f"Delitti evitati/anno ({label})"]
        assert np.issubdtype(shown.dtype, np.number)
        assert sorted(shown.tolist()) == pytest.approx(sorted(exp_by[col].round(2).tolist()), abs=1e-9)
    assert (by["Delitti evitati/anno (basso)"] <= by["Delitti evitati/anno (alto)"]).all()
    front = next(d.value for d in at.dataframe if "Budget (€)" in d.value.columns)
    for label in ("basso", "centrale", "alto"):
        col = front[f"Delitti evitati/anno ({label})"]
        assert np.issubdtype(col.dtype, np.number)
        assert col.notna().all()
    assert front["Delitti evitati/anno (centrale)"].iloc[-1] > 0
    texts = _texts(at)
    assert not any(DERIVED_LABEL in t or COUNT_LABEL in t for t in texts)


def test_families_count_as_the_evidence_says_and_a_change_changes_the_plan(demo_db):
    at = _open()
    families = next(d.value for d in at.dataframe if "Conta nel piano" in d.value.columns).set_index("Famiglia")
    assert families.loc["Danneggiamenti (vandalismo)", "Conta nel piano"] == "no"
    assert families.loc["Rapine", "Conta nel piano"] == "sì"
    assert (families["Basso"] == "0 %").all()
    assert "Welsh & Farrington 2008" in families.iloc[0]["Fonte"]
    assert any("Contano le famiglie di reato misurate dagli studi" in md.value for md in at.markdown)
    before = _metrics(at)["Delitti evitati all'anno"].value
    at.number_input(key="il_f_danneggiamenti_high").set_value(30.0)
    at.number_input(key="il_f_danneggiamenti_central").set_value(15.0)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    changed = EffectModel(families=(("danneggiamenti", 0.0, 0.15, 0.30),))
    expected = _expected_plan(at, demo_db, 1_000_000.0, role="regione", effects=changed)
    after = _metrics(at)["Delitti evitati all'anno"].value
    assert after == format_decimal(expected.totals["prevented_central"], 1)
    assert after != before


def test_budget_change_recomputes_the_plan(demo_db):
    at = _open(il_budget=300_000.0)
    expected = _expected_plan(at, demo_db, 300_000.0, role="regione")
    assert _metrics(at)["Costo del piano"].value == f"{format_int(expected.totals['cost_eur'])} €"
    table = _plan_table(at)
    assert table["Costo cumulato (€)"].max() <= 300_000.0
    assert table["Intervento"].tolist() == expected.selected["id"].tolist()


def test_outskirts_only_keeps_the_plan_in_the_outskirts():
    at = _open(il_outskirts=True)
    table = _plan_table(at)
    assert len(table)
    assert (table["Periferia"] == "sì").all()


def test_frontier_is_shown_and_non_decreasing(cleared_page):
    front = next(d.value for d in cleared_page.dataframe if "Budget (€)" in d.value.columns)
    central = front["Delitti evitati/anno (centrale)"].to_numpy()
    assert len(front) >= 10
    assert (np.diff(central) >= -1e-9).all()
    assert (front["Delitti evitati/anno (basso)"] <= front["Delitti evitati/anno (alto)"]).all()
    assert np.diff(front["Budget (€)"].to_numpy())[0] == 100_000


def test_every_parameter_is_editable_with_its_source(default_page):
    helps = {n.label: n.help or "" for n in default_page.number_input}
    assert "prezzario" in helps["Riparazione di un punto luce guasto (€/punto)"].lower()
    assert "ISPRA" in helps["Fattore di emissione (kg CO₂/kWh)"]
    assert "4.200" in helps["Ore di accensione all'anno (h)"]
    # one effect per crime family, each with its citation next to it
    assert "Welsh & Farrington" in default_page.number_input(key="il_f_furti_central").help
    assert "Chalfin" in default_page.number_input(key="il_f_violenze_high").help
    assert "Steinbach" in default_page.number_input(key="il_f_rapine_low").help
    assert default_page.number_input(key="il_f_furti_low").value == 0.0
    assert default_page.number_input(key="il_f_stupefacenti_central").value == 0.0
    assert "effetto 0" in default_page.number_input(key="il_f_altro_high").help
    sources = [c.value for c in default_page.caption if c.value.startswith("Fonte:")]
    assert len(sources) >= 18
    params = default_page.table[0].value
    assert list(params.columns) == ["Parametro", "Valore", "Fonte"]
    assert {"Costi unitari", "Energia", "Effetti", "Effetti per famiglia di reato", "Fabbisogno"} <= set(params.index)


def test_exports_are_offered(default_page):
    labels = [b.label for b in default_page.get("download_button")]
    assert labels == ["Piano CSV", "Piano GeoJSON", "Riepilogo per il CPOSP (HTML)"]


def test_inconsistent_effects_give_an_italian_error():
    at = _open()
    at.number_input(key="il_f_furti_low").set_value(50.0)
    at.run()
    assert any("basso ≤ centrale ≤ alto" in e.value for e in at.error)


@pytest.mark.parametrize("role", ["regione", "forze_polizia"])
def test_small_counts_follow_the_role(role):
    at = _open(role=role)
    table = _plan_table(at)
    col = table["Delitti notturni all'aperto nel periodo"].astype(str)
    if role == "regione":
        assert not col.isin(["1", "2"]).any()
        assert not (col == COUNT_LABEL).any()
        assert not (table["Delitti evitati/anno (centrale)"].astype(str) == "riservato").any()
    else:
        assert not (col == COUNT_LABEL).any()
        assert col.isin(["1", "2"]).any()


@pytest.mark.parametrize("role", ["osservatore", "comune"])
def test_roles_without_the_lighting_permission_do_not_get_the_page(role):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    login_as(at, role)
    at.run()
    assert not at.exception
    # the page is not in their navigation (geo.access.permissions: plan_lighting), so not even its URL works
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
