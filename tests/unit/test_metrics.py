"""Figures per hexagon, KPI strip and hexagon details, against hand-computed values
(see :mod:`tests.unit.tiny_store`)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo.access import disclosure
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
    assert a["comune"] == "Massa"
    assert a["h3"] == hexgrid.to_str([CELL_A])[0]
    # 49 residents: under the minimum, no rate.
    assert b["incidents"] == 2
    assert np.isnan(b["rate_per_1000"])
    assert b["services"] == 2
    assert c["incidents"] == 3
    assert c["night_share"] == 0
    assert c["confiscated"] == 1
    assert c["comune"] == "Carrara"
    assert np.isnan(c["lights_broken_share"])


def test_rates_are_annualised(store, filters):
    half = replace(filters, end=date(2024, 6, 1))  # 6 months: January-June
    a = metrics.hex_metrics(store, half).set_index("cell").loc[CELL_A]
    assert a["incidents"] == 10
    assert a["rate_per_1000"] == pytest.approx(10 / 490 * 1000 * 2)


def test_filters_change_the_figures(store, filters):
    robberies = metrics.hex_metrics(store, replace(filters, categories=("rapine",))).set_index("cell")
    assert robberies["incidents"].to_dict() == {CELL_A: 3, CELL_B: 0, CELL_C: 0}
    night = metrics.hex_metrics(store, replace(filters, time_band="notte")).set_index("cell")
    assert night.loc[CELL_A, "incidents"] == 5
    assert night.loc[CELL_C, "incidents"] == 0
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
    cards = {c.label: c for c in metrics.kpi_cards(k, "forze_polizia")}
    assert cards["Delitti nel periodo"].value == "15"
    change = cards["Variazione sul periodo prec."]
    assert change.value == "+200,0 %"
    assert change.delta == "+10 delitti"
    assert change.delta_color == "inverse"
    assert cards["Quota notturna (20-6)"].value == "40 %"
    assert cards["Punti luce guasti"].value == "16,7 %"
    # without clearance: the totals protected (the same records give the same total), derived from them
    p = metrics.protect_kpis(k, "osservatore")
    total, night, previous = (int(disclosure.protect_counts([v], [key], "osservatore")[0]) for v, key in
                              ((15, k.incidents_key), (6, k.night_key), (5, k.previous_key)))
    assert (p.incidents, p.night, p.previous) == (total, min(night, total), previous)
    assert abs(total - 15) <= disclosure.MAX_NOISE
    assert p.protected
    public = {c.label: c for c in metrics.kpi_cards(k, "osservatore")}
    assert public["Delitti nel periodo"].value == str(total)
    assert "chiave di cella" in public["Delitti nel periodo"].help
    assert public["Punti luce guasti"].value == "16,7 %"


def test_previous_period_not_covered_gives_no_change(store, filters):
    k = metrics.kpis(store, replace(filters, start=date(2023, 1, 1), end=date(2024, 12, 1)))
    assert k.previous is None
    cards = {c.label: c for c in metrics.kpi_cards(k, "forze_polizia")}
    assert cards["Variazione sul periodo prec."].value == "n.d."


def test_kpi_strip_never_shows_a_small_total_and_never_a_false_label(store, filters):
    damage = replace(filters, categories=("danneggiamenti",))  # a single incident in hexagon B
    k = metrics.kpis(store, damage)
    assert k.incidents == 1
    shown = {c.label: c.value for c in metrics.kpi_cards(k, "comune")}
    expected = int(disclosure.protect_counts([1], [k.incidents_key], "comune")[0])
    assert shown["Delitti nel periodo"] == str(expected)
    assert expected in (0, 3)
    assert "< 3" not in shown.values()
    assert "riservato" not in shown.values()
    exact = {c.label: c.value for c in metrics.kpi_cards(k, "prefettura")}
    assert exact["Delitti nel periodo"] == "1"


def test_the_same_records_give_the_same_value_in_every_view(store, filters):
    """Hexagon B is alone in its resolution-7 parent's part of Massa: the map at resolution 8 and
    the monthly total of its only month publish the same protected value for the same records."""
    f8 = metrics.protect_frame(metrics.hex_metrics(store, filters), "osservatore").set_index("cell")
    exact = metrics.hex_metrics(store, filters).set_index("cell")
    assert not f8["incidents"].between(1, 2).any()
    for cell in (CELL_A, CELL_B, CELL_C):
        assert f8.loc[cell, "incidents"] == disclosure.protect_counts(
            [exact.loc[cell, "incidents"]], [exact.loc[cell, "incidents_key"]], "osservatore")[0]
    again = metrics.protect_frame(metrics.hex_metrics(store, filters), "osservatore").set_index("cell")
    assert (again["incidents"] == f8["incidents"]).all()  # repeated queries do not average the noise away


def test_cell_details_and_monthly_series(store, filters):
    d = metrics.cell_details(store, CELL_A, filters)
    assert d.comune == "Massa"
    assert d.res == 8
    assert d.series["incidents"].tolist() == [5, 3, 2] + [0] * 9
    assert d.series["month"].tolist()[0] == date(2024, 1, 1)
    police = metrics.details_series(d, "forze_polizia")
    assert police["shown"].tolist()[:3] == ["5", "3", "2"]
    seen = metrics.details_series(d, "osservatore")
    keys = d.series["incidents_key"].to_numpy()
    expected = disclosure.protect_counts(d.series["incidents"], keys, "osservatore")
    assert seen["incidents"].tolist() == expected.astype(float).tolist()
    assert seen["shown"].tolist() == [str(v) for v in expected]
    assert seen["suppressed"].isna().all()
    assert not np.isin(expected, [1, 2]).any()
    assert metrics.cell_details(store, 0x88283082803FFFF, filters) is None


def _protected_b(frame) -> int:
    return int(disclosure.protect_counts([2], [frame.loc[CELL_B, "incidents_key"]], "osservatore")[0])


def test_details_table_shows_protected_figures(store, filters, frame):
    d = metrics.cell_details(store, CELL_B, filters)
    seen = dict(zip(*metrics.details_table(d, "osservatore").to_dict("list").values(), strict=True))
    assert seen["Delitti nel periodo"] == str(_protected_b(frame))
    assert seen["Servizi per persone senza dimora"] == "2"
    police = dict(zip(*metrics.details_table(d, "forze_polizia").to_dict("list").values(), strict=True))
    assert police["Delitti nel periodo"] == "2"
    assert police["Quota notturna (20-6)"] == "50 %"
    assert police["Delitti ogni 1.000 residenti all'anno"] == "–"  # fewer than 50 residents


def test_map_table_carries_only_protected_numbers(frame):
    values, text, hidden = metrics.map_table(frame.reset_index(), "osservatore")
    row_b = frame.reset_index().index[frame.index == CELL_B][0]
    shown = _protected_b(frame)
    assert text.loc[row_b, "Delitti"] == str(shown)
    assert values.loc[row_b, "Delitti"] == shown
    assert not hidden.to_numpy().any()
    assert not values["Delitti"].between(1, 2).any()
    police_values, _, police_hidden = metrics.map_table(frame.reset_index(), "forze_polizia")
    assert police_values.loc[row_b, "Delitti"] == 2
    assert not police_hidden.to_numpy().any()


def test_styled_table_shows_no_label_instead_of_a_number(frame):
    styler = metrics.styled_table(frame.reset_index(), "regione")
    shown = styler.to_string(delimiter=";")
    assert "< 3" not in shown
    assert "riservato" not in shown
    assert not styler.data["Delitti"].between(1, 2).any()


def test_csv_is_for_italian_spreadsheets_and_neutralises_formulas(frame):
    data = frame.reset_index()
    data.loc[data["cell"] == CELL_A, "comune"] = "=HYPERLINK(\"http://x\")"
    raw = metrics.table_csv(data, "osservatore")
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype=str)
    assert "Delitti" in table.columns
    assert table.loc[table["Esagono H3"] == hexgrid.to_str([CELL_B])[0], "Delitti"].item() == str(_protected_b(frame))
    assert table.loc[table["Esagono H3"] == hexgrid.to_str([CELL_A])[0], "Comune"].item().startswith("'=")
    assert metrics.neutralise_formula("-2+3") == "'-2+3"
    assert metrics.neutralise_formula("@SUM(A1)") == "'@SUM(A1)"
    assert metrics.neutralise_formula("Massa") == "Massa"


def test_order_for_a_role_follows_the_protected_values(frame):
    data = frame.reset_index()
    exact_order = metrics.sort_for_role(data, "incidents", "forze_polizia")["incidents"].tolist()
    assert exact_order == sorted(exact_order, reverse=True)
    public = metrics.sort_for_role(data, "incidents", "osservatore")
    shown = metrics.protect_frame(data, "osservatore").set_index("cell").loc[public["cell"], "incidents"].tolist()
    assert shown == sorted(shown, reverse=True)


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
        label, unit, _column, higher_is_worse = spec[:4]
        assert label
        assert unit
        assert isinstance(higher_is_worse, bool)
