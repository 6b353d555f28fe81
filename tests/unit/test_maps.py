"""The integrated map: layers, privacy of tooltips and colours, escaping, payload size, exports."""

from __future__ import annotations

import json
import re

import folium
import h3
import numpy as np
import pandas as pd
import pytest
import streamlit_folium

from geo.access import disclosure
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.maps import layers as maps
from geo.maps.classes import HIDDEN
from geo.overview import metrics
from tests.unit.tiny_store import CELL_A, CELL_B, PERIOD_2024, SCRIPT, build_tiny_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = build_tiny_store(tmp_path_factory.mktemp("tiny-maps") / "tiny.duckdb")
    yield s
    s.close()


@pytest.fixture(scope="module")
def frame(store) -> pd.DataFrame:
    return metrics.hex_metrics(store, Filters(res=8, start=PERIOD_2024[0], end=PERIOD_2024[1]))


@pytest.fixture(scope="module")
def points(store) -> dict[str, pd.DataFrame]:
    return {key: store.points(layer.table) for key, layer in maps.POINT_LAYERS.items()}


def _layers(m: folium.Map, kind: type) -> list:
    return [child for child in m._children.values() if isinstance(child, kind)]


def _hex_data(m: folium.Map) -> dict:
    return json.loads(_layers(m, maps.HexLayer)[0].data_js)


def test_map_has_hexagons_boundaries_points_legend_and_layer_control(store, frame, points):
    m = maps.build_map(frame, role="osservatore", comuni=store.comuni_geometries(), points=points)
    names = [layer.layer_name for layer in _layers(m, folium.map.Layer) if layer.overlay]
    assert names[0] == "Esagoni: Delitti nel periodo"
    assert "Confini comunali" in names
    # One school, one public service (the other is hidden), two open reports, one property.
    assert {"Scuole (1)", "Servizi per persone senza dimora (1)", "Segnalazioni di degrado aperte (2)",
            "Beni confiscati (1)"} <= set(names)
    assert _layers(m, maps.Legend)
    assert _layers(m, folium.LayerControl)
    html = m.get_root().render()
    assert "L.control.layers" in html
    assert "Delitti nel periodo" in html
    assert len(_hex_data(m)["features"]) == 3
    outline = _layers(m, maps.OutlineLayer)[0]
    assert outline.control is False  # boundaries are always drawn
    assert len(json.loads(outline.data_js)["features"]) == 2


def test_user_text_is_escaped_everywhere(store, frame, points):
    m = maps.build_map(frame, role="forze_polizia", comuni=store.comuni_geometries(), points=points)
    for text in (m.get_root().render(), streamlit_folium.generate_leaflet_string(m)):
        assert "<script>alert" not in text
        assert "<b>Test</b>" not in text
        assert "\\u0026lt;script\\u0026gt;alert" in text  # shown as text in the popup
    reports = json.loads(_layers(m, maps.PointsLayer)[2].data_js)
    assert reports["features"][0]["properties"]["v"][3].startswith("&lt;script&gt;")
    assert SCRIPT not in json.dumps(reports)


def _protected_b(frame) -> str:
    return str(int(disclosure.protect_counts([2], [frame.loc[frame["cell"] == CELL_B, "incidents_key"].iloc[0]],
                                             "osservatore")[0]))


def test_tooltips_and_colours_show_protected_values(frame):
    m = maps.build_map(frame, role="osservatore")
    features = {tuple(f["geometry"]["coordinates"][0][0]): f["properties"] for f in _hex_data(m)["features"]}
    ring_b = tuple(maps._ring(CELL_B)[0])
    shown = _protected_b(frame)
    if shown != "0":  # a hexagon published as 0 with nothing else in it is not drawn
        props_b = features[ring_b]
        assert props_b["t"][0] == "Massa"
        assert props_b["t"][1] == shown  # incidents: 0 or 3, never 2 nor "< 3"
        assert props_b["k"] != HIDDEN
    for props in features.values():
        assert "&lt; 3" not in props["t"]
        assert "riservato" not in props["t"]
    police = {tuple(f["geometry"]["coordinates"][0][0]): f["properties"]
              for f in _hex_data(maps.build_map(frame, role="forze_polizia"))["features"]}
    assert police[ring_b]["t"][1] == "2"
    assert police[ring_b]["k"] >= 0


def test_legend_has_no_hidden_class(frame):
    for role in ("comune", "prefettura"):
        assert "Dato riservato" not in maps.build_map(frame, role=role).get_root().render()


def test_private_services_are_shown_only_to_cleared_roles(points):
    seen = maps.point_features("services", points["services"], role="osservatore")
    assert [f["properties"]["n"] for f in seen["features"]] == ["Mensa aperta"]
    police = maps.point_features("services", points["services"], role="prefettura")
    assert len(police["features"]) == 2


def test_tiles_and_offline_assets(frame):
    osm = maps.build_map(frame, role="osservatore", tiles="osm").get_root().render()
    assert "tile.openstreetmap.org" in osm
    assert "\\u0026copy;" in osm
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in osm
    blank = maps.build_map(frame, role="osservatore", tiles="none", assets_url="/static/leaflet").get_root().render()
    assert "tile.openstreetmap.org" not in blank
    assert "/static/leaflet/leaflet.js" in blank
    assert "/static/leaflet/leaflet.css" in blank
    assert "jquery" not in blank.lower()
    assert "bootstrap" not in blank.lower()
    with pytest.raises(ValueError, match="sfondo"):
        maps.build_map(frame, role="osservatore", tiles="satellite")


def test_empty_hexagons_are_not_drawn(frame):
    empty = frame.iloc[[0]].copy()
    empty["cell"] = h3.str_to_int(h3.latlng_to_cell(44.2, 10.0, 8))
    for col in ("residents", "incidents", "reports_open", "lights", "schools", "services", "confiscated"):
        empty[col] = 0
    both = pd.concat([frame, empty], ignore_index=True)
    assert maps.drawable(both).tolist() == [True, True, True, False]
    assert len(_hex_data(maps.build_map(both, role="osservatore"))["features"]) == 3


def test_too_many_hexagons_is_an_italian_error(frame, monkeypatch):
    monkeypatch.setattr(maps, "MAX_MAP_CELLS", 2)
    with pytest.raises(maps.TooManyCellsError, match="Troppi esagoni"):
        maps.build_map(frame, role="osservatore")


def _synthetic_frame(n_rings: int = 22) -> pd.DataFrame:
    """About 1,500 resolution-8 hexagons with plausible figures."""
    center = h3.latlng_to_cell(44.05, 10.1, 8)
    cells = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(center, n_rings)), dtype=np.int64)
    rng = np.random.default_rng(3)
    n = len(cells)
    incidents = rng.poisson(4, n)
    night = rng.binomial(incidents, 0.4)
    frame = pd.DataFrame({
        "cell": cells, "h3": hexgrid.to_str(cells), "pro_com_t": "045010", "comune": "Massa",
        "residents": rng.gamma(1.0, 120, n), "area_km2": 0.737, "incidents": incidents, "night": night,
        "day": incidents - night, "reports_open": rng.poisson(1, n), "reports_open_severity": rng.poisson(2, n),
        "lights": rng.poisson(15, n), "lights_broken": rng.poisson(1, n), "lights_old": rng.poisson(5, n),
        "schools": rng.poisson(0.1, n), "services": rng.poisson(0.01, n), "confiscated": rng.poisson(0.01, n),
    })
    frame["rate_per_1000"] = np.where(frame["residents"] >= 50, incidents / frame["residents"] * 1000, np.nan)
    frame["per_km2"] = incidents / 0.737
    frame["night_share"] = np.where(incidents > 0, night / np.maximum(incidents, 1), np.nan)
    frame["lights_broken_share"] = np.where(frame["lights"] > 0, frame["lights_broken"] / frame["lights"].clip(1),
                                            np.nan)
    return frame


def _naive_map(frame: pd.DataFrame) -> folium.Map:
    """What the map would be with folium's defaults: every column a property, a Python style
    function, a GeoJsonTooltip over all the figures."""
    gdf = hexgrid.cells_frame(frame["cell"]).merge(frame.drop(columns="h3"), on="cell")
    gdf["cell"] = gdf["cell"].astype(str)
    classes = maps.map_classes(frame, metric="incidents", role="forze_polizia")
    gdf["classe"] = classes.classes.to_numpy()
    colors = dict(enumerate(classes.colors))
    m = folium.Map(location=[44.05, 10.1], zoom_start=10)
    fields = [c for c in gdf.columns if c != "geometry"]
    folium.GeoJson(
        gdf, style_function=lambda f: {"fillColor": colors.get(f["properties"]["classe"], "#ccc"), "weight": 0.4},
        tooltip=folium.GeoJsonTooltip(fields=fields),
    ).add_to(m)
    return m


def test_hexagon_payload_is_less_than_half_of_naive_geojson():
    frame = _synthetic_frame()
    assert len(frame) > 1400
    ours = len(maps.build_map(frame, role="forze_polizia", tiles="none").get_root().render().encode())
    naive = len(_naive_map(frame).get_root().render().encode())
    assert ours <= 0.5 * naive, (ours, naive)
    assert ours < 1_500_000


def test_coordinates_are_rounded_to_five_decimals(frame):
    data = maps.js_json(_hex_data(maps.build_map(frame, role="osservatore")))
    numbers = re.findall(r"-?\d+\.(\d+)", data)
    assert numbers
    assert max(len(d) for d in numbers) <= maps.COORD_DECIMALS


def test_js_json_cannot_close_a_script():
    text = maps.js_json({"a": "</script><script>alert(1)</script>", "b": "x & y", "c": "\u2028"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>", "b": "x & y", "c": "\u2028"}


def test_selection_layer_outlines_one_hexagon():
    group = maps.selection_layer(CELL_A)
    outline = next(iter(group._children.values()))
    data = json.loads(outline.data_js)
    assert data["features"][0]["geometry"]["coordinates"][0] == maps._ring(CELL_A)
    html = folium.Map().add_child(group).get_root().render()
    assert "interactive: false" in html


def test_geojson_export_carries_protected_values(frame):
    seen = json.loads(maps.cells_geojson(frame, role="osservatore"))
    props = {f["properties"]["h3"]: f["properties"] for f in seen["features"]}
    b = props[hexgrid.to_str([CELL_B])[0]]
    assert str(b["delitti"]) == _protected_b(frame)
    assert b["valori_riservati"] == []
    assert "chiave di cella" in seen["lanterna"]["riservatezza"]
    assert not any(isinstance(p["delitti"], int) and 1 <= p["delitti"] <= 2 for p in props.values())
    assert not any(k.endswith("_key") for p in props.values() for k in p)  # key sums are never published
    police = json.loads(maps.cells_geojson(frame, role="forze_polizia"))
    assert {f["properties"]["h3"]: f["properties"]["delitti"] for f in police["features"]}[
        hexgrid.to_str([CELL_B])[0]] == 2


def test_draw_plugin_served_locally():
    import folium.plugins

    from geo.maps import layers as maps
    draw = maps.use_draw_assets(folium.plugins.Draw(), "app/static/vendor/leaflet")
    m = maps.base_map(assets_url="app/static/vendor/leaflet")
    draw.add_to(m)
    html = m.get_root().render()
    assert "app/static/vendor/leaflet-draw/leaflet.draw.js" in html
    assert "cdnjs.cloudflare.com" not in html
    assert "cdn.jsdelivr.net" not in html
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "static" / "vendor"
    assert (static / "leaflet-draw" / "leaflet.draw.js").exists()
    assert (static / "leaflet" / "leaflet.js").exists()


def test_scale_bar_is_metric_only():
    page = maps.base_map(tiles="none").get_root().render()
    scales = re.findall(r"L\.control\.scale\(([^)]*)\)", page)
    assert len(scales) == 1
    assert json.loads(scales[0]) == {"metric": True, "imperial": False}


def test_tooltips_name_the_place_escaped(frame):
    named = frame.assign(place=["Marina <b>di</b> Sotto", None, *frame["comune"].iloc[2:]])
    feats = maps.hex_features(named, pd.Series(np.zeros(len(named), dtype=int)), role="osservatore")["features"]
    heads = [f["properties"]["t"][0] for f in feats]
    assert heads[0] == f"Marina &lt;b&gt;di&lt;/b&gt; Sotto ({named['comune'].iloc[0]})"
    assert heads[1] == named["comune"].iloc[1]  # no place: the comune alone


def test_a_map_opens_on_the_comuni_of_the_filter():
    import folium
    import shapely

    from geo.maps.layers import comuni_bounds, fit_to_comuni

    comuni = pd.DataFrame({"pro_com_t": ["045010", "045003"], "nome": ["Massa", "Carrara"],
                           "geometry_wkb": [shapely.to_wkb(shapely.box(10.0, 44.0, 10.2, 44.1)),
                                            shapely.to_wkb(shapely.box(10.05, 44.05, 10.15, 44.2))]})
    assert comuni_bounds(comuni, ["045003"]) == [[44.05, 10.05], [44.2, 10.15]]
    assert comuni_bounds(comuni, ["045010", "045003"]) == [[44.0, 10.0], [44.2, 10.2]]
    assert comuni_bounds(comuni, []) is None
    assert comuni_bounds(comuni, ["999999"]) is None
    m = folium.Map(location=[43.0, 11.0], zoom_start=8)
    before = len(m._children)
    assert fit_to_comuni(m, comuni, []) is m
    assert len(m._children) == before  # no filter: the map keeps its own extent
    fit_to_comuni(m, comuni, ["045003"])
    fits = [c for c in m._children.values() if type(c).__name__ == "FitBounds"]
    assert len(fits) == 1
    assert fits[0].bounds == [[44.05, 10.05], [44.2, 10.15]]
    assert m.location == pytest.approx([44.125, 10.1])


def test_every_chart_speaks_italian_once_the_theme_is_enabled():
    import altair as alt

    from geo.maps import chart_locale

    chart_locale.enable()
    chart_locale.enable()  # idempotent
    config = alt.Chart({"values": [{"a": 1234.5}]}).mark_bar().encode(x="a:Q").to_dict()["config"]
    assert config["locale"]["number"]["decimal"] == ","
    assert config["locale"]["number"]["thousands"] == "."
    assert config["locale"]["time"]["date"] == "%d/%m/%Y"
    assert config["locale"]["time"]["shortMonths"][0] == "gen"
