"""Exports of the pilot-zone ranking: privacy, CSV for Italian spreadsheets, GeoJSON, the
printable summary and the map, on the tiny store (three hexagons, one zone each)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import shapely

from geo.access import disclosure
from geo.access.privacy import format_int, format_percent
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.zones import pilot as zones
from geo.zones import report as zone_report
from tests.unit.tiny_store import CELL_A, CELL_B, PERIOD_2024, SCRIPT, build_tiny_store

WEIGHTS = {"harm_rate": 1, "population": 1, "schools": 1}


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> zones.ZoneResult:
    store = build_tiny_store(tmp_path_factory.mktemp("tiny-report") / "tiny.duckdb")
    prep = zones.prepare(store, Filters(res=8, start=PERIOD_2024[0], end=PERIOD_2024[1]))
    store.close()
    # each resolution-8 hexagon (0.74 km²) becomes a zone of its own
    return zones.rank_zones(prep, WEIGHTS, min_km2=0.3, max_km2=0.8, candidate_share=1.0, top=2, draws=50)


def zone_of(result, cell) -> dict:
    return next(r for r in result.zones.to_dict("records") if r["cells"] == [cell])


def test_one_zone_per_hexagon(result):
    assert sorted(c[0] for c in result.zones["cells"]) == sorted(result.hexes.index)
    assert zone_of(result, CELL_A)["rank"] == 1  # most harm, most residents, its school


def _protected(count: int, key: int) -> int:
    return int(disclosure.protect_counts([count], [key], "osservatore")[0])


def test_zone_totals_are_protected_without_clearance(result):
    b_row = zone_of(result, CELL_B)  # two incidents, one at night
    b = b_row["zone"]
    public = zone_report.export_table(result, role="osservatore").set_index("Zona")
    police = zone_report.export_table(result, role="forze_polizia").set_index("Zona")
    shown = _protected(2, b_row["incidents_key"])
    assert shown in (0, 3)  # never 1 or 2, never "< 3"
    assert public.loc[b, "Delitti nel periodo"] == str(shown)
    assert police.loc[b, "Delitti nel periodo"] == "2"
    assert police.loc[b, "Quota notturna (%)"] == 50.0
    a_row = zone_of(result, CELL_A)
    a = a_row["zone"]
    total = int(public.loc[a, "Delitti nel periodo"])
    assert total == _protected(10, a_row["incidents_key"])
    assert abs(total - 10) <= disclosure.MAX_NOISE
    night = _protected(5, a_row["night_key"])
    assert public.loc[a, "Quota notturna (%)"] == round(min(night, total) / total * 100, 1)


def test_indicator_rows_of_a_card(result):
    row = zone_of(result, CELL_A)
    public = zone_report.indicator_rows(row, "osservatore").set_index("Indicatore")
    police = zone_report.indicator_rows(row, "prefettura").set_index("Indicatore")
    assert len(public) == 10
    fig = zone_report.zone_figures(row, "osservatore")
    assert public.loc["Quota notturna dei delitti", "Valore della zona"] == (
        f"{format_percent(fig['night_share'])} dei delitti")
    assert fig["harm_rate"] == pytest.approx(row["harm_rate"] * fig["incidents"] / row["incidents"])
    assert police.loc["Quota notturna dei delitti", "Valore della zona"] == "50 % dei delitti"
    assert public.loc["Popolazione", "Valore della zona"] == f"{format_int(row['residents'])} residenti"
    assert public["Contributo (punti)"].sum() == pytest.approx(row["priority"], abs=0.05)
    assert public["Punteggio (0-1)"].between(0, 1).all()


def test_reserved_service_names_only_for_cleared_roles(result):
    row = zone_of(result, CELL_B)
    assert "Rifugio riservato" not in zone_report.services_text(row, "comune")
    assert "indirizzo riservato" not in zone_report.services_text(row, "comune")  # not even counted
    assert zone_report.services_text(row, "comune").startswith("1 nella zona (Mensa aperta)")
    assert zone_report.services_text(row, "prefettura").startswith("2 nella zona")
    assert "Rifugio riservato" in zone_report.services_text(row, "prefettura")
    assert "Mensa aperta" in zone_report.services_text(row, "comune")
    assert row["nearest_public_service"] == "Mensa aperta"
    assert zone_report.export_table(result, role="osservatore").set_index("Zona").loc[
        row["zone"], "Servizi senza dimora nella zona"] == 1


def test_nearest_service_for_uncleared_roles_is_a_public_one(result):
    row = dict(zone_of(result, CELL_A), nearest_service="Rifugio riservato", nearest_service_km=0.1,
               nearest_service_public=False, nearest_public_service="Mensa aperta", nearest_public_service_km=0.9)
    public, police = zone_report.services_text(row, "osservatore"), zone_report.services_text(row, "forze_polizia")
    assert "Mensa aperta a 0,9 km" in public
    assert "riservat" not in public
    assert "0,1" not in public
    assert "Rifugio riservato a 0,1 km" in police
    values = zone_report.indicator_rows(row, "osservatore").set_index("Indicatore")["Valore della zona"]
    assert values.str.startswith("0,9 km").any()
    assert not values.str.startswith("0,1 km").any()


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> zones.ZoneResult:
    """One zone of the three hexagons: 10 + 2 + 3 = 15 incidents, 6 at night; B's 2 are hidden
    on the map, so 15 minus the visible 10 and 3 would give them back."""
    store = build_tiny_store(tmp_path_factory.mktemp("tiny-merged") / "tiny.duckdb")
    prep = zones.prepare(store, Filters(res=8, start=PERIOD_2024[0], end=PERIOD_2024[1]))
    store.close()
    return zones.rank_zones(prep, WEIGHTS, min_km2=0.3, max_km2=2.5, candidate_share=1.0, top=1, draws=20)


def test_total_of_a_large_zone_is_shown_protected_in_every_export(merged):
    """One zone of 10 + 2 + 3 = 15 incidents (6 at night): its total is published (protected)
    in the table, CSV, GeoJSON, printable page and card, the same everywhere."""
    assert len(merged.zones) == 1
    row = merged.zones.iloc[0].to_dict()
    assert (row["incidents"], row["night"]) == (15, 6)
    total = _protected(15, row["incidents_key"])
    night_n = min(_protected(6, row["night_key"]), total)
    assert abs(total - 15) <= disclosure.MAX_NOISE
    for role, shown, night in (("osservatore", str(total), round(night_n / total * 100, 1)),
                               ("forze_polizia", "15", 40.0)):
        table = zone_report.export_table(merged, role=role)
        assert table.loc[0, "Delitti nel periodo"] == shown
        assert table.loc[0, "Quota notturna (%)"] == night
        csv_row = next(csv.DictReader(io.StringIO(zone_report.ranking_csv(merged, role=role).decode("utf-8-sig")),
                                      delimiter=";"))
        assert csv_row["Delitti nel periodo"] == shown
        props = json.loads(zone_report.ranking_geojson(merged, role=role))["features"][0]["properties"]
        assert props["Delitti nel periodo"] == shown
        assert props["Quota notturna (%)"] == night
        page = zone_report.summary_html(merged, role=role)
        card = zone_report.card_html(row, role=role, top=1)
        for text in (page, card):
            assert f"Delitti nel periodo:</b>\n{shown} (notte " in text
            assert "riservato (notte" not in text
        assert f"<td>{shown}</td>" in page
    assert zone_report.export_table(merged, role="osservatore")["Rango"].tolist() == [1]


def test_zone_total_without_key_sums_is_not_published():
    row = {"incidents": 15, "night": 6}  # no key sums (a ranking built by hand): fail closed
    assert zone_report.zone_incidents(row, "osservatore") == "n.d."
    assert zone_report.zone_incidents(row, "prefettura") == "15"
    shown = zone_report.zone_incidents({**row, "incidents_key": 123, "night_key": 45}, "osservatore")
    assert shown == str(_protected(15, 123))
    small = zone_report.zone_incidents({"incidents": 2, "night": 1, "incidents_key": 7, "night_key": 3}, "osservatore")
    assert small in ("0", "3")


def test_csv_for_italian_spreadsheets(result):
    data = zone_report.ranking_csv(result, role="osservatore")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["Rango", "Zona", "Luogo", "Comuni", "Beneficio atteso (punti × km²)", "Priorità (0-100)"]
    assert len(body) == 3
    first = dict(zip(header, body[0], strict=True))
    assert "," in first["Priorità (0-100)"]
    assert "." not in first["Priorità (0-100)"]
    assert first["Celle H3"] == hexgrid.to_str([CELL_A])[0]
    assert not any(r[header.index("Delitti nel periodo")] in ("1", "2", "< 3", "riservato") for r in body)


def test_csv_neutralises_formulas(result):
    hostile = zones.ZoneResult(zones=result.zones.copy(), hexes=result.hexes, weights=result.weights,
                               params=result.params)
    hostile.zones["comuni"] = [["=HYPERLINK(\"http://x\")"], ["+1"], ["@SUM(A1)"]]
    text = zone_report.ranking_csv(hostile, role=None).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ";'+1;" in text
    assert "'@SUM" in text
    assert zone_report.neutralise("-2") == "'-2"
    assert zone_report.neutralise(-2) == -2
    assert zone_report.neutralise("Massa") == "Massa"


def test_geojson_outlines_match_the_cells(result):
    data = json.loads(zone_report.ranking_geojson(result, role="osservatore"))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 3
    assert data["lanterna"]["superficie_max_km2"] == 0.8
    assert data["lanterna"]["dati_dimostrativi"] is False
    assert sum(data["lanterna"]["pesi"].values()) == pytest.approx(1.0, abs=1e-5)
    for feature, cells in zip(data["features"], result.zones["cells"], strict=True):
        geom = shapely.geometry.shape(feature["geometry"])
        expected = shapely.union_all(hexgrid.cells_to_polygons(cells))
        assert geom.symmetric_difference(expected).area < 1e-3 * expected.area  # coordinates to 1e-6°
        assert feature["properties"]["Zona"].startswith("Z")
        assert "Celle H3" not in feature["properties"]


def test_summary_html_escapes_and_contains_everything(result):
    page = zone_report.summary_html(result, role="osservatore", top=3)
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "Scuola &lt;b&gt;Test&lt;/b&gt;" in page
    assert "<b>Test</b>" not in page
    assert page.count('class="card"') == 3
    first = result.zones["zone"].iloc[0]
    for text in ("Metodo", "Westfall-Young", "Mann-Kendall", "Borda", "Cambridge Crime Harm Index", first):
        assert text in page
    assert "Rifugio riservato" not in page
    assert SCRIPT not in page


def test_map_escapes_texts_and_frames_the_zones(result):
    m = zone_report.zone_map(result, tiles="none", assets_url="../../app/static/vendor/leaflet")
    html = m.get_root().render()
    assert all(zone_id in html for zone_id in result.zones["zone"])
    assert "Zone pilota (3)" in html
    assert "../../app/static/vendor/leaflet/leaflet.js" in html
    assert "jquery" not in html.lower()
    assert SCRIPT not in html
    assert "<b>Test</b>" not in html


def test_card_paragraphs_escape_data_and_carry_the_reliability(result):
    row = dict(result.zones.iloc[0])
    row["comuni"] = ["*Massa* [x](http://evil)"]
    head, exposure, lighting, robust = zone_report.card_markdown(row, role="regione", top=10)
    assert "\\*Massa\\*" in head
    assert "\\[x\\]\\(http://evil\\)" in head
    assert f"affidabilità {row['harm_rate_reliability']}" in head
    assert exposure.startswith("**Scuole:**")
    assert lighting.startswith("**Illuminazione:**")
    assert robust.startswith("**Robustezza:**")


def test_concentration_text_cites_the_law_of_crime_concentration():
    summary = {"incidents_in_area": {0.01: 0.2, 0.05: 0.5}, "area_for_incidents": {0.5: 0.05}, "gini": 0.81}
    text = zone_report.concentration_text(summary)
    assert "50 % dei delitti nel 5 % più denso" in text
    assert "Weisburd 2015" in text
    assert "0,81" in text


def test_hotspot_table_names_places_hottest_first(result):
    hexes = result.hexes.copy()
    hexes["hotspot"] = zones.hotspots.HOT
    hexes["z"] = np.arange(len(hexes), dtype=float)
    hexes["place"] = [f"Luogo <{i}>" for i in range(len(hexes))]
    hot = zones.ZoneResult(zones=result.zones, hexes=hexes, weights=result.weights, params=result.params)
    table = zone_report.hotspot_table(hot, limit=2)
    assert list(table.columns) == ["Località", "Esagono H3", "Gi* z", "Tendenza (EHSA)", "Zona pilota"]
    assert table["Località"].tolist() == [f"Luogo <{len(hexes) - 1}>", f"Luogo <{len(hexes) - 2}>"]
    assert table["Gi* z"].iloc[0] == f"{len(hexes) - 1},00"
    assert set(table["Zona pilota"]) <= set(result.zones["zone"]) | {"–"}
    assert result.hexes["place"].map(lambda p: isinstance(p, str) and len(p) > 0).all()
