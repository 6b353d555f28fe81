"""The charts and tables of the Andamento page (geo.overview.trend_views), on hand-made frames."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from geo.overview import trend_views as views
from geo.overview.trends import Ranking


def test_fmt_dec_signs_only_positive_values():
    assert views.fmt_dec(1234.56, 1) == "1.234,6"
    assert views.fmt_dec(2.5, 1, sign=True) == "+2,5"
    assert views.fmt_dec(-2.5, 1, sign=True) == "-2,5"
    assert views.fmt_dec(0.0, 1, sign=True) == "0,0"
    assert views.fmt_dec(np.nan, 1, sign=True) == "–"


def test_change_metric_texts_and_missing():
    assert views.change_metric(pd.Series({"delta": 30.0, "delta_pct": 12.5})) == ("+12,5 %", "+30 delitti")
    assert views.change_metric(pd.Series({"delta": np.nan, "delta_pct": np.nan})) == ("n.d.", None)


def _change() -> pd.DataFrame:
    return pd.DataFrame({
        "key": ["furti", "rapine", "totale"], "label": ["Furti", "Rapine", "Totale"],
        "current": [120.0, 0.0, 120.0], "previous": [100.0, 3.0, 103.0],
        "delta": [20.0, -3.0, 17.0], "delta_pct": [20.0, -100.0, 16.5],
        "current_shown": ["120", "0", "120"], "previous_shown": ["100", "3", "103"],
    })


def test_change_table_arrows_colours_and_bold_total():
    styled = views.change_table(_change(), first_column="Categoria")
    shown = styled.data
    assert list(shown.columns) == ["Categoria", "Periodo attuale", "Periodo precedente", "Variazione",
                                   "Variazione %", ""]
    assert list(shown[""]) == ["▲", "▼", "▲"]
    assert list(shown["Variazione"]) == ["+20", "-3", "+17"]
    html = styled.to_html()
    assert views.INCREASE in html
    assert views.DECREASE in html
    assert "font-weight: bold" in html


def test_change_table_missing_previous_is_a_dash_not_reserved():
    change = _change().assign(previous=np.nan, delta=np.nan, delta_pct=np.nan, previous_shown="n.d.")
    shown = views.change_table(change, first_column="Categoria").data
    assert set(shown["Variazione"]) == {"–"}
    assert set(shown[""]) == {"–"}


def test_series_table_yearly_has_months_column_and_year_labels():
    series = pd.DataFrame({
        "period": [date(2023, 1, 1), date(2023, 1, 1), date(2024, 1, 1), date(2024, 1, 1)],
        "label": ["Furti", "Rapine"] * 2, "shown": ["10", "0", "12", "3"], "months": [12, 12, 5, 5],
    })
    table = views.series_table(series, freq="Y")
    assert list(table.columns) == ["Periodo", "Mesi", "Furti", "Rapine"]
    assert list(table["Periodo"]) == ["2023", "2024"]
    assert list(table["Mesi"]) == [12, 5]
    monthly = views.series_table(series.assign(period=[date(2024, 3, 1)] * 2 + [date(2024, 4, 1)] * 2), freq="M")
    assert list(monthly["Periodo"]) == ["mar 2024", "apr 2024"]
    assert "Mesi" not in monthly


def test_rates_table_ranks_and_missing():
    rates = pd.DataFrame({"anno": [2022, 2023], "tasso": [31.234, np.nan], "mediana_regionale": [30.0, 29.5],
                          "mediana_nazionale": [28.0, 27.0], "rank": [37, np.nan], "n": [106, 106]})
    table = views.rates_table(rates, name="Massa-Carrara", region="Toscana")
    assert list(table.columns) == ["Anno", "Massa-Carrara", "Mediana Toscana", "Mediana nazionale", "Posizione"]
    assert list(table["Massa-Carrara"]) == ["31,23", "–"]
    assert list(table["Posizione"]) == ["37° su 106", "–"]
    assert views.median_label(None) == "Mediana regionale"


def _official() -> pd.DataFrame:
    return pd.DataFrame({
        "anno": [2023, 2023, 2024], "categoria": ["totale", "furti", "totale"], "label": ["Totale", "Furti", "Totale"],
        "ufficiali": [1000.0, 400.0, 1100.0], "fonte": ["ISTAT", "Ministero", None],
        "dataset": [990.0, 410.0, 500.0], "mesi": [12, 12, 6], "scarto_pct": [-1.0, 2.5, np.nan],
        "ufficiali_shown": ["1.000", "400", "1.100"], "dataset_shown": ["990", "410", "500"],
    })


def test_official_tables():
    totals = views.official_totals(_official())
    assert list(totals["Anno"]) == ["2023", "2024"]
    assert list(totals["Scarto %"]) == ["-1,0 %", "–"]
    assert list(totals["Fonte ufficiale"]) == ["ISTAT", "–"]
    cats = views.official_by_category(_official())
    assert list(cats["Categoria"]) == ["Furti"]
    assert list(cats["Scarto %"]) == ["+2,5 %"]
    assert views.official_by_category(_official().assign(dataset_shown="–")).empty


def test_charts_use_the_italian_locale():
    series = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-02-01"]), "label": ["Totale"] * 2,
                           "incidents": [3.0, 4.0], "shown": ["3", "4"]})
    for chart in (views.total_chart(series, freq="M"), views.series_chart(series, freq="Y", title="t")):
        spec = chart.to_dict()
        assert spec["config"]["locale"]["number"]["decimal"] == ","
    table = pd.DataFrame({"ref_area": ["ITI11", "ITI12"], "territorio": ["Massa-Carrara", "Lucca"],
                          "regione": ["Toscana", "Toscana"], "delitti": [6000, 9000], "popolazione": [190000, 380000],
                          "tasso_per_1000": [31.6, 23.7], "rank": [1, 2], "ours": [True, False]})
    ranking = Ranking(2023, "ITI11", table, 1, 2, 31.6, "Massa-Carrara", "Toscana", 27.6, 27.6)
    spec = views.ranking_chart(ranking).to_dict()
    assert "Massa-Carrara 1°" in str(spec)
    assert "Mediana Toscana 27,6" in str(spec)
