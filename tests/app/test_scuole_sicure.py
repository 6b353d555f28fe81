"""The *Scuole sicure* page through Streamlit's AppTest, on the demo database.

AppTest cannot run the map's iframe (streamlit-folium): the map is checked in
``tests/unit/test_exposure.py``; here the controls, the figures (recomputed independently through
:mod:`geo.services.schools` on the same database), the ranked table, the role's privacy and the exports.
The page is reached through the router (``dashboard.py``); ``LANTERNA_TEST_DASHBOARD`` may point at
another router file that registers it (local runs before the page is in the menu).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.data.storage import open_store
from geo.services import schools as exposure
from tests.app.conftest import login_as

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = os.environ.get("LANTERNA_TEST_DASHBOARD", str(ROOT / "dashboard.py"))
PAGE = "pages/scuole_sicure.py"
RANKED_FIRST_COLUMN = "Rango"


def sign_in(at: AppTest, role: str) -> None:
    """Log in as the demo account of ``role`` (``conftest.login_as``)."""
    login_as(at, role)


@pytest.fixture
def open_page(request):
    request.getfixturevalue("demo_db")  # LANTERNA_DB points at the session's demo copy

    def _open(role: str | None = None, **state) -> AppTest:
        at = AppTest.from_file(DASHBOARD, default_timeout=90)
        sign_in(at, role or "osservatore")
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open


def ranked(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe
                if d.value.columns[0] == RANKED_FIRST_COLUMN and "Motivi" in d.value.columns)


def expected(at, demo_db, **kw) -> exposure.Exposure:
    """What the page computes; ``role="osservatore"`` (the default) gives the protected figures."""
    f = at.session_state["filters"]
    params = {"walk_m": 300.0, "basis": "tutte", "levels": (), "role": "osservatore"} | kw
    return exposure.compute_exposure(open_store(demo_db), start=f.start, end=f.end, comuni=f.comuni,
                                     months=f.months, **params)


def test_page_renders_figures_of_the_library(open_page, demo_db):
    at = open_page()
    assert at.title[0].value == "Scuole sicure"
    result = exposure.role_view(expected(at, demo_db), "osservatore")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Scuole analizzate"] == str(len(result.schools))
    assert metrics["A esposizione alta"] == str(int((result.schools["exposure_level"] == "alta").sum()))
    table = ranked(at)
    assert len(table) == len(result.schools)
    assert table["Scuola"].tolist() == result.schools["name"].tolist()
    assert table["Rango"].tolist() == list(range(1, len(table) + 1))
    assert any("Orario scolastico" in c.value and "stimato" in c.value for c in at.caption)
    labels = [b.label for b in at.get("download_button")]
    assert labels.count("Scarica CSV") == 3
    assert "Scarica GeoJSON" in labels


def test_observer_never_sees_small_counts_but_police_do(open_page, demo_db):
    at = open_page()
    table = ranked(at)
    exact = expected(at, demo_db, role=None).schools
    assert exact["spaccio_all"].between(1, 2).any()  # the demo has schools with 1-2 drug offences
    assert not table["Spaccio (delitti)"].isin([1, 2]).any()
    assert not table["Spaccio (delitti)"].isna().any()  # protected numbers, nothing withheld
    assert "Riservata" not in set(table["Esposizione"])
    police = ranked(open_page(role="forze_polizia"))
    assert police["Spaccio (delitti)"].isin([1, 2]).any()
    assert not police["Spaccio (delitti)"].isna().any()
    assert "Riservata" not in set(police["Esposizione"])


def test_walking_distance_changes_the_areas(open_page, demo_db):
    at = open_page()
    at.slider(key="scuole_distanza").set_value(600).run()
    assert not at.exception
    assert any("entro 600 m a piedi" in c.value for c in at.caption)
    assert "Spaccio e violenza entro 600 m" in {m.label for m in at.metric}
    result = exposure.role_view(expected(at, demo_db, walk_m=600.0), "osservatore")
    assert ranked(at)["Scuola"].tolist() == result.schools["name"].tolist()
    near = exposure.comune_table(result, "osservatore")
    shown = next(d.value for d in at.dataframe if d.value.columns[0] == "Comune" and "Scuole" in d.value.columns)
    assert shown["Spaccio e violenza entro 600 m dalle scuole"].tolist() == \
        near["Spaccio e violenza entro 600 m dalle scuole"].tolist()


def test_school_hours_basis_and_levels(open_page, demo_db):
    at = open_page()
    at.radio(key="scuole_base").set_value("scuola").run()
    at.multiselect(key="scuole_gradi").set_value(["infanzia"]).run()
    assert not at.exception
    result = exposure.role_view(expected(at, demo_db, basis="scuola", levels=("infanzia",)), "osservatore")
    table = ranked(at)
    assert set(table["Grado"]) == {"Scuola dell'infanzia"}
    assert table["Scuola"].tolist() == result.schools["name"].tolist()
    # NaN (shown "dato insufficiente") below the minimum expected count
    visible = result.schools["rr"].where(result.schools["expected"] >= exposure.MIN_EXPECTED)
    assert table["Rapporto con aree simili"].round(6).tolist() == pytest.approx(
        visible.replace([float("inf")], float("nan")).round(6).tolist(), nan_ok=True)


def test_selected_school_details(open_page, demo_db):
    at = open_page()
    result = exposure.role_view(expected(at, demo_db), "osservatore")
    second = result.schools.iloc[1]
    at.selectbox(key="scuole_scelta").set_value(second["code"]).run()
    assert not at.exception
    md_escape = page_functions()["md_escape"]
    assert any(m.value.startswith(f"**2. {md_escape(second['name'])}**") for m in at.markdown)
    details = at.table[0].value
    assert details.loc["Esagoni nell'area (ris. 10)", "Valore"] == str(int(second["n_cells"]))


def page_functions() -> dict:
    """The page's pure helpers (in :mod:`geo.services.school_views`, which the page imports)."""
    from geo.services import school_views

    return {"md_escape": school_views.md_escape, "near_share_text": school_views.near_share_text}


def test_school_names_are_escaped_in_markdown():
    md_escape = page_functions()["md_escape"]
    assert md_escape("![](http://x/t)") == r"\!\[\]\(http\://x/t\)"
    assert md_escape("Scuola *A* <img src=x> $x$ :red[y]\nriga") == (
        r"Scuola \*A\* \<img src\=x\> \$x\$ \:red\[y\] riga")
    assert md_escape("Liceo Galilei") == "Liceo Galilei"


def test_near_share_kpi_is_the_share_of_the_shown_counts():
    near_share_text = page_functions()["near_share_text"]
    assert near_share_text(3, 50) == "6 %"
    assert near_share_text(10, 40) == "25 %"
    assert near_share_text(0, 0) == "–"


def test_role_without_clearance_sees_protected_numbers_and_no_withheld_label(open_page, demo_db):
    """Issue 11: the Regione's details, table and captions show numbers computed from protected
    counts (or 'dato insufficiente'); never '< 3' nor 'riservato'."""
    at = open_page("regione")
    result = expected(at, demo_db, role="regione")
    table = ranked(at)
    assert table["Spaccio (delitti)"].tolist() == result.schools["spaccio_all"].astype(float).tolist()
    texts = [str(v) for d in at.dataframe for v in d.value.to_numpy().ravel()]
    texts += [t.value.to_string() for t in at.table] + [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert not any("< 3" in t or "riservato" in t.lower() or "riservata" in t.lower() for t in texts)
    details = at.table[0].value
    first = result.schools.iloc[0]
    assert details.loc["Esagoni nell'area (ris. 10)", "Valore"] == str(int(first["n_cells"]))
    assert details.loc["Spaccio (delitti nel periodo)", "Valore"] == str(int(first["spaccio_all"]))
    ratio = details.loc["Rapporto con aree simili (IC 95 %)", "Valore"]
    if first["exposure_level"] == "ins":
        assert ratio == exposure.INSUFFICIENT_LABEL
    else:
        assert ratio.startswith(exposure._rr_text(first["rr"]))
    police = open_page("prefettura").table[0].value
    exact = expected(at, demo_db, role=None).schools.iloc[0]
    assert police.loc["Spaccio (delitti nel periodo)", "Valore"] == str(int(exact["spaccio_all"]))
