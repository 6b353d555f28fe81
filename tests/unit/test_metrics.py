"""Figures per hexagon, KPI strip and hexagon details, against hand-computed values
(see :mod:`tests.unit.tiny_store`)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo.access.privacy import COUNT_LABEL, DERIVED_LABEL
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.overview import metrics
from tests.unit.tiny_store import CARRARA, CELL_A, CELL_B, CELL_C, PERIOD_2024, build_tiny_store

CHILD_AREA = hexgrid.cell_area_km2(10)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = build_tiny_store(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    yield s
    s.close()


@pytest.fixture
def filters() -> Filters:
    return Filters(res=8, start=PERIOD_2024[0], end=PERIOD_2024[1])


@pytest.fixture
def frame(store, filters) -> pd.DataFrame:
    return metrics.hex_metrics(store, filters).set_index("cell")


def test_one_row_per_hexagon_with_hand_computed_figures(frame):
    assert sorted(frame.index) == sorted([CELL_A, CELL_B, CELL_C])
    a, b, c = frame.loc[CELL_A], frame.loc[CELL_B], frame.loc[CELL_C]
    assert (a["incidents"], a["night"], a["day"]) == (10, 5, 5)
    assert a["residents"] == pytest.approx(490)
    assert a["rate_per_1000"] == pytest.approx(10 / 490 * 1000)
    assert a["per_km2"] == pytest.approx(10 / (49 * CHILD_AREA))
    assert a["night_share"] == pytest.approx(0.5)
    assert (a["reports_open"], a["lights"], a["lights_broken"], a["lights_old"], a["schools"]) == (2, 4, 1, 1, 1)
    assert a["lights_broken_share"] == pytest.approx(0.25)
    assert a["comune"] == "Massa" and a["h3"] == hexgrid.to_str([CELL_A])[0]
    # 49 residents: under the minimum, no rate.
    assert b["incidents"] == 2 and np.isnan(b["rate_per_1000"]) and b["services"] == 2
    assert c["incidents"] == 3 and c["night_share"] == 0 and c["confiscated"] == 1
    assert c["comune"] == "Carrara" and np.isnan(c["lights_broken_share"])


def test_rates_are_annualised(store, filters):
    half = replace(filters, end=date(2024, 6, 1))  # 6 months: January-June
    a = metrics.hex_metrics(store, half).set_index("cell").loc[CELL_A]
    assert a["incidents"] == 10
    assert a["rate_per_1000"] == pytest.approx(10 / 490 * 1000 * 2)


def test_filters_change_the_figures(store, filters):
    robberies = metrics.hex_metrics(store, replace(filters, categories=("rapine",))).set_index("cell")
    assert robberies["incidents"].to_dict() == {CELL_A: 3, CELL_B: 0, CELL_C: 0}
    night = metrics.hex_metrics(store, replace(filters, time_band="notte")).set_index("cell")
    assert night.loc[CELL_A, "incidents"] == 5 and night.loc[CELL_C, "incidents"] == 0
    carrara = metrics.hex_metrics(store, replace(filters, comuni=(CARRARA,)))
    assert carrara["cell"].tolist() == [CELL_C]


def test_services_not_public_are_left_out_for_roles_without_clearance(store, filters):
    public = metrics.hex_metrics(store, filters, include_private_services=False).set_index("cell")
    assert public.loc[CELL_B, "services"] == 1


def test_kpis_are_totals_of_the_filters(store, filters):
    k = metrics.kpis(store, filters)
    assert (k.incidents, k.previous, k.night, k.months) == (15, 5, 6, 12)
    assert k.change_pct == pytest.approx(200.0)
    assert k.rate_per_1000 == pytest.approx(15 / 637 * 1000)
    assert k.night_share == pytest.approx(6 / 15)
    assert (k.reports_open, k.lights, k.lights_broken, k.schools, k.services) == (2, 6, 1, 1, 2)
    cards = {c.label: c for c in metrics.kpi_cards(k, "osservatore")}
    assert cards["Delitti nel periodo"].value == "15"
    change = cards["Variazione sul periodo prec."]
    assert change.value == "+200,0 %" and change.delta == "+10 delitti" and change.delta_color == "inverse"
    assert cards["Quota notturna (20-6)"].value == "40 %"
    assert cards["Punti luce guasti"].value == "16,7 %"


def test_previous_period_not_covered_gives_no_change(store, filters):
    k = metrics.kpis(store, replace(filters, start=date(2023, 1, 1), end=date(2024, 12, 1)))
    assert k.previous is None
    cards = {c.label: c for c in metrics.kpi_cards(k, "forze_polizia")}
    assert cards["Variazione sul periodo prec."].value == "n.d."


def test_kpi_strip_hides_small_totals(store, filters):
    damage = replace(filters, categories=("danneggiamenti",))  # a single incident in hexagon B
    k = metrics.kpis(store, damage)
    assert k.incidents == 1
    hidden = {c.label: c.value for c in metrics.kpi_cards(k, "comune")}
    assert hidden["Delitti nel periodo"] == COUNT_LABEL
    assert hidden["Tasso per 1.000 ab./anno"] == DERIVED_LABEL
    assert hidden["Quota notturna (20-6)"] == DERIVED_LABEL
    assert hidden["Variazione sul periodo prec."] in (DERIVED_LABEL, "n.d.")
    exact = {c.label: c.value for c in metrics.kpi_cards(k, "prefettura")}
    assert exact["Delitti nel periodo"] == "1"


def test_cell_details_and_monthly_series(store, filters):
    d = metrics.cell_details(store, CELL_A, filters)
    assert d.comune == "Massa" and d.res == 8
    assert d.series["incidents"].tolist() == [5, 3, 2] + [0] * 9
    assert d.series["month"].tolist()[0] == date(2024, 1, 1)
    police = metrics.details_series(d, "forze_polizia")
    assert police["shown"].tolist()[:3] == ["5", "3", "2"]
    seen = metrics.details_series(d, "osservatore")
    # March (2) is hidden, and February too: with the total (10) published, March = 10 - 5 - 3.
    # January as well: hexagon B (2 incidents, hidden) shares Massa with A, whose comune total is
    # published, so A's total is hidden to protect B (secondary suppression) and its months,
    # which add up to it, follow.
    assert seen["shown"].tolist()[:3] == [DERIVED_LABEL, DERIVED_LABEL, COUNT_LABEL]
    assert seen["incidents"].isna().tolist()[:3] == [True, True, True]
    without_b = metrics.hex_metrics(store, filters).query("cell != @CELL_B")
    alone = metrics.cell_details(store, CELL_A, filters, frame=without_b)
    assert alone.figures["cell"] == CELL_A and len(alone.context) == 2
    assert metrics.details_series(alone, "osservatore")["shown"].tolist()[:3] == ["5", DERIVED_LABEL, COUNT_LABEL]
    assert metrics.cell_details(store, 0x88283082803FFFF, filters) is None


def test_details_table_hides_small_counts_and_what_they_reveal(store, filters):
    d = metrics.cell_details(store, CELL_B, filters)
    seen = dict(zip(*metrics.details_table(d, "osservatore").to_dict("list").values(), strict=True))
    assert seen["Delitti nel periodo"] == COUNT_LABEL
    assert seen["Delitti per km² all'anno"] == DERIVED_LABEL
    assert seen["Quota notturna (20-6)"] == DERIVED_LABEL
    assert seen["Servizi per persone senza dimora"] == "2"
    police = dict(zip(*metrics.details_table(d, "forze_polizia").to_dict("list").values(), strict=True))
    assert police["Delitti nel periodo"] == "2"
    assert police["Quota notturna (20-6)"] == "50 %"
    assert police["Delitti ogni 1.000 residenti all'anno"] == "–"  # fewer than 50 residents


def test_map_table_never_carries_a_hidden_number(frame):
    values, text, hidden = metrics.map_table(frame.reset_index(), "osservatore")
    row_b = frame.reset_index().index[frame.index == CELL_B][0]
    assert text.loc[row_b, "Delitti"] == COUNT_LABEL
    assert np.isnan(values.loc[row_b, "Delitti"]) and hidden.loc[row_b, "Delitti"]
    assert np.isnan(values.loc[row_b, "Delitti per km² all'anno"])
    assert text.loc[row_b, "Quota notturna (%)"] == DERIVED_LABEL
    police_values, _, police_hidden = metrics.map_table(frame.reset_index(), "forze_polizia")
    assert police_values.loc[row_b, "Delitti"] == 2 and not police_hidden.to_numpy().any()


def test_styled_table_displays_hidden_values_as_labels(frame):
    styler = metrics.styled_table(frame.reset_index(), "regione")
    shown = styler.to_string(delimiter=";")
    assert COUNT_LABEL in shown and DERIVED_LABEL in shown
    assert not (styler.data["Delitti"] == 2).any()


def test_csv_is_for_italian_spreadsheets_and_neutralises_formulas(frame):
    data = frame.reset_index()
    data.loc[data["cell"] == CELL_A, "comune"] = "=HYPERLINK(\"http://x\")"
    raw = metrics.table_csv(data, "osservatore")
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype=str)
    assert "Delitti" in table.columns
    assert table.loc[table["Esagono H3"] == hexgrid.to_str([CELL_B])[0], "Delitti"].item() == COUNT_LABEL
    assert table.loc[table["Esagono H3"] == hexgrid.to_str([CELL_A])[0], "Comune"].item().startswith("'=")
    assert metrics.neutralise_formula("-2+3") == "'-2+3"
    assert metrics.neutralise_formula("@SUM(A1)") == "'@SUM(A1)"
    assert metrics.neutralise_formula("Massa") == "Massa"


def test_order_for_a_role_does_not_leak_hidden_values():
    frame = pd.DataFrame({"h3": ["a", "b", "c", "d", "e"], "incidents": [1, 2, 0, 7, 1],
                          "night": [0, 0, 0, 3, 0], "day": [1, 2, 0, 4, 1],
                          "rate_per_1000": [5.0, 9.0, 0.0, 3.0, 1.0], "per_km2": [1.0] * 5,
                          "night_share": [0.0, 0.0, np.nan, 0.43, 0.0]})
    assert metrics.sort_for_role(frame, "incidents", "forze_polizia")["h3"].tolist() == ["d", "b", "a", "e", "c"]
    # 1 and 2 are both "< 3": one tie in H3 order, between 3+ and 0.
    assert metrics.sort_for_role(frame, "incidents", "osservatore")["h3"].tolist() == ["d", "a", "b", "e", "c"]
    # Hidden rates go last, with the missing ones.
    assert metrics.sort_for_role(frame, "rate_per_1000", "osservatore")["h3"].tolist() == ["d", "c", "a", "b", "e"]


def test_data_version_changes_with_the_data(store):
    before = metrics.data_version(store)
    with store.transaction() as cur:
        store.set_meta(cur, "built_at", "altro")
    try:
        assert metrics.data_version(store) != before
    finally:
        with store.transaction() as cur:
            store.set_meta(cur, "built_at", "2026-01-01T00:00:00")


def test_metric_registry_points_at_existing_columns(frame):
    for code, spec in metrics.METRICS.items():
        assert spec.column in frame.columns, code
        label, unit, column, higher_is_worse = spec[:4]
        assert label and unit and isinstance(higher_is_worse, bool)
