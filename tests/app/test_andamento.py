"""The *Andamento* page through Streamlit's AppTest, on the demo database.

The demo's yearly incident totals equal the official ISTAT totals of the province (6,912 crimes in
2024, 6,322 in 2023), and the provincial comparison uses the real ISTAT table, so the figures
checked here are real ones.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow as pa
import pytest

from geo.access.privacy import format_decimal
from tests.app.conftest import login_as

PAGE = "pages/andamento.py"


def _open(app, role: str | None = None):
    at = app()
    login_as(at, role or "osservatore")
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _datasets(chart) -> list[pd.DataFrame]:
    """The data frames sent with a chart (Arrow IPC streams in the proto)."""
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]


def _table(at, first_column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if d.value.columns[0] == first_column)


def _titles(specs: list[dict]) -> list[str]:
    return [s.get("title") if isinstance(s.get("title"), str) else (s.get("title") or {}).get("text") for s in specs]


@pytest.fixture
def page(app):
    return _open(app)


def _protected_change(page):
    """What the library gives the observer for the page's filters (cell-key protected totals)."""
    from geo.data.storage import open_store
    from geo.overview import trends

    store = open_store(os.environ["LANTERNA_DB"])
    return trends.period_change(store, page.session_state["filters"], role="osservatore").set_index("key")


def test_page_renders_metrics_and_charts(page):
    assert page.title[0].value.endswith("Andamento dei delitti")
    metrics = _metrics(page)
    # Default period: the last 12 months of data (2024: 6,912 incidents), against 2023 (6,322),
    # as the observer sees them: protected, within 3 of the truth.
    total = _protected_change(page).loc["totale"]
    assert metrics["Delitti nel periodo"] == total["current_shown"]
    assert abs(total["current"] - 6912) <= 3
    assert metrics["Periodo precedente"] == total["previous_shown"]
    assert abs(total["previous"] - 6322) <= 3
    assert metrics["Variazione"] == f"+{format_decimal(total['delta_pct'], 1)} %"  # about +9,3 %
    titles = _titles(_charts(page))
    for title in ("Totale dei delitti nel filtro", "Delitti per categoria", "Delitti per comune",
                  "Delitti denunciati per 1.000 abitanti", "Totali annui della provincia"):
        assert title in titles
    assert len(page.get("vega_lite_chart")) == 6  # plus the untitled ranking chart


def test_provincial_ranking(page):
    metrics = _metrics(page)
    assert metrics["Posizione"] == "33° su 106"
    assert metrics["Delitti per 1.000 abitanti"] == "36,97"
    assert metrics["Mediana Toscana"] == "39,33"
    assert metrics["Mediana nazionale"] == "32,47"
    chart = next(c for c in page.get("vega_lite_chart")
                 if "Massa-Carrara 33°" in json.dumps(json.loads(c.proto.spec), ensure_ascii=False))
    frames = _datasets(chart)
    provinces = next(f for f in frames if "territorio" in f.columns and len(f) == 106)
    ours = provinces[provinces["ours"]]
    assert ours["territorio"].tolist() == ["Massa-Carrara"]
    assert ours["gruppo"].tolist() == ["ours"]
    assert (provinces["gruppo"] == "region").sum() == 9  # the other Tuscan provinces
    assert provinces["tasso_per_1000"].is_monotonic_decreasing
    medians = next(f for f in frames if "etichetta" in f.columns)
    assert set(medians["etichetta"]) == {"Mediana nazionale 32,5", "Mediana Toscana 39,3"}
    page.selectbox(key="trend_rank_year").set_value(2020).run()
    assert _metrics(page)["Posizione"] == "37° su 106"
    assert _metrics(page)["Delitti per 1.000 abitanti"] == "30,35"


def test_change_tables(page):
    by_category = _table(page, "Categoria")
    assert list(by_category.columns[:5]) == ["Categoria", "Periodo attuale", "Periodo precedente", "Variazione",
                                            "Variazione %"]
    total = by_category[by_category["Categoria"] == "Totale"].iloc[0]
    lib = _protected_change(page).loc["totale"]
    assert (total["Periodo attuale"], total["Periodo precedente"]) == (lib["current_shown"], lib["previous_shown"])
    assert total["Variazione"] == f"+{int(lib['delta'])}"
    assert total.iloc[-1] == "▲"
    by_comune = _table(page, "Comune")
    assert "Massa" in set(by_comune["Comune"])
    assert len(by_comune) == 18


def test_filters_change_the_figures(page):
    before = _metrics(page)["Delitti nel periodo"]
    page.sidebar.multiselect(key="f_comuni").set_value(["045010"]).run()  # Massa only
    massa = _metrics(page)["Delitti nel periodo"]
    assert massa != before
    assert int(massa.replace(".", "")) < 6912
    assert list(_table(page, "Comune")["Comune"]) == ["Massa", "Totale"]
    page.sidebar.radio(key="f_band").set_value("notte").run()
    night = _metrics(page)["Delitti nel periodo"]
    assert int(night.replace(".", "")) < int(massa.replace(".", ""))


def test_yearly_aggregation(page):
    total_chart = next(s for s in _charts(page) if s.get("title") == "Totale dei delitti nel filtro")
    assert total_chart["encoding"]["x"]["axis"]["format"] == "%b %Y"
    page.radio(key="trend_freq").set_value("Y").run()
    assert not page.exception
    total_chart = next(s for s in _charts(page) if s.get("title") == "Totale dei delitti nel filtro")
    assert total_chart["encoding"]["x"]["axis"]["format"] == "%Y"
    values = next(d.value for d in page.dataframe if "Mesi" in d.value.columns and "Massa" in d.value.columns)
    assert values["Periodo"].tolist() == ["2024"]
    assert values["Mesi"].tolist() == [12]
    assert values["Massa"].iloc[0] == _table(page, "Comune").set_index("Comune").loc["Massa", "Periodo attuale"]


def test_official_totals_next_to_the_dataset(page):
    table = next(d.value for d in page.dataframe if "Delitti denunciati (ufficiali)" in d.value.columns)
    row = table[table["Anno"] == "2024"].iloc[0]
    # the official figure is published as it is; the dataset's total is protected (within 3)
    assert row["Delitti denunciati (ufficiali)"] == "6.912"
    assert abs(int(row["Delitti nel dataset"].replace(".", "")) - 6912) <= 3
    assert row["Scarto %"] in ("0,0 %", "+0,0 %", "-0,0 %", "−0,0 %")
    assert table[table["Anno"] == "2014"].iloc[0]["Delitti nel dataset"] == "–"  # demo starts in 2019


def _series_values(at, tab_label: str) -> list[str]:
    """All cells of the 'Valori del grafico' table of the chart by comune."""
    tables = [d.value for d in at.dataframe if "Periodo" in d.value.columns and "Massa" in d.value.columns]
    assert tables, tab_label
    return [str(v) for v in tables[0].drop(columns="Periodo").to_numpy().ravel()]


def test_small_counts_protected_for_roles_without_clearance(app):
    viewer = _open(app)
    viewer.sidebar.multiselect(key="f_categories").set_value(["rapine"]).run()
    values = _series_values(viewer, "viewer")
    assert "< 3" not in values
    assert "riservato" not in values
    assert not any(v in values for v in ("1", "2"))
    assert any("Ruolo *Osservatore*" in c.value and "chiave di cella" in c.value for c in viewer.caption)

    police = _open(app, role="forze_polizia")
    police.sidebar.multiselect(key="f_categories").set_value(["rapine"]).run()
    values = _series_values(police, "police")
    assert "< 3" not in values
    assert "riservato" not in values
    assert any(v in values for v in ("1", "2"))  # the very counts the viewer does not see
    assert not any("Ruolo *" in c.value for c in police.caption)
