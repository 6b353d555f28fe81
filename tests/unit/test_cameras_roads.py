"""Reading gaps on access roads (issue 18): a hand-made case of two comuni split by a meridian,
three roads crossing it, one road inside a comune, and one plate reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.cameras import roads, views
from geo.data import hexgrid

METRIC = "EPSG:32632"
BORDER_LON = 10.14
LATS = (44.05, 44.04, 44.03)  # three crossing roads, about 1,1 km apart, listed north to south


def rasterise(lines: list[tuple[shapely.LineString, str]]) -> pd.DataFrame:
    """Road length per resolution-10 cell as the importer stores it (metres of line per cell),
    each cell in comune A west of the border meridian and B east of it (by its centre)."""
    rows = []
    for line, highway in lines:
        pts = shapely.get_coordinates(shapely.segmentize(line, 0.0001))  # about 10 m steps
        mid = (pts[1:] + pts[:-1]) / 2
        seg = np.hypot((pts[1:, 0] - pts[:-1, 0]) * 80_000, (pts[1:, 1] - pts[:-1, 1]) * 111_000)
        cells = hexgrid.points_to_cells(mid[:, 1], mid[:, 0], 10)
        rows.append(pd.DataFrame({"cell": cells, "highway": highway, "length_m": seg}))
    frame = pd.concat(rows).groupby(["cell", "highway"], as_index=False)["length_m"].sum()
    _, lon = hexgrid.cell_centers(frame["cell"].to_numpy(dtype=np.int64))
    frame["pro_com_t"] = np.where(lon < BORDER_LON, "000001", "000002")
    return frame


@pytest.fixture(scope="module")
def road_cells() -> pd.DataFrame:
    crossing = [(shapely.LineString([(10.13, lat), (10.15, lat)]), kind)
                for lat, kind in zip(LATS, ("primary", "secondary", "residential"), strict=True)]
    inside = (shapely.LineString([(10.12, 44.06), (10.135, 44.06)]), "tertiary")  # never crosses
    return rasterise([*crossing, inside])


def camera(camera_id: str, lat: float, lon: float, *, kind: str = "lettura_targhe", owner: str = "comune",
           direction: float = 90.0) -> dict:
    return {"camera_id": camera_id, "lat": lat, "lon": lon, "kind": kind, "owner": owner, "status": "attiva",
            "direction_deg": direction, "fov_deg": np.nan, "range_m": np.nan,
            "cell": int(hexgrid.points_to_cells(np.array([lat]), np.array([lon]), 10)[0])}


def test_three_crossing_roads_give_three_accesses(road_cells):
    acc = roads.access_points(road_cells)
    assert acc["access"].tolist() == ["A001", "A002", "A003"]
    assert acc["highway"].tolist() == ["primary", "secondary", "residential"]  # north to south
    assert acc["lat"].to_numpy() == pytest.approx(np.array(LATS), abs=0.001)
    assert acc["lon"].to_numpy() == pytest.approx(np.full(3, BORDER_LON), abs=0.002)
    assert all(c == ("000001", "000002") for c in acc["comuni"])
    assert (acc["length_m"] > 0).all()


def test_one_reader_covers_one_access(road_cells):
    acc = roads.access_points(road_cells)
    cams = pd.DataFrame([
        camera("TLC-1", LATS[2], BORDER_LON),                      # a reader on the southern crossing
        camera("TLC-2", LATS[1], BORDER_LON, kind="fissa"),         # not a plate reader
        camera("TLC-3", LATS[0], BORDER_LON + 0.01),                # a reader on the road, 800 m away
    ])
    out = roads.reading_gaps(acc, cams, METRIC, role="comune").sort_values("access").reset_index(drop=True)
    assert out["covered"].tolist() == [False, False, True]
    assert out["readers"].tolist() == [0, 0, 1]
    table = views.access_table(out, {"000001": "Alfa", "000002": "Beta"})
    assert table["Tra i comuni"].iloc[0] == "Alfa – Beta"
    assert table["Lettura targhe"].tolist() == ["scoperto", "scoperto", "coperto (1 lettore)"]


def test_police_reader_counts_only_for_cleared_roles(road_cells):
    acc = roads.access_points(road_cells)
    cams = pd.DataFrame([camera("TLC-9", LATS[0], BORDER_LON, owner="polizia", direction=270.0)])
    police = roads.reading_gaps(acc, cams, METRIC, role="forze_polizia").sort_values("access")
    comune = roads.reading_gaps(acc, cams, METRIC, role="comune").sort_values("access")
    assert police["covered"].tolist() == [True, False, False]
    assert not comune["covered"].any()


def test_no_crossing_and_no_roads():
    inside = rasterise([(shapely.LineString([(10.12, 44.06), (10.135, 44.06)]), "tertiary")])
    assert roads.access_points(inside).empty
    assert roads.access_points(inside.iloc[0:0]).empty


def test_store_roads_between_massa_and_carrara(mc_store, mc_territory, tmp_path):
    import geopandas as gpd

    from geo.ingest.importers import import_file

    metric = mc_territory.metric_crs
    empty = roads.access_gaps(mc_store, metric, role="comune")
    assert not empty.has_roads
    assert views.access_lines(empty)[0].startswith("Nessuna rete stradale importata")
    line = shapely.LineString([(10.141, 44.036), (10.098, 44.079)])  # Massa centre → Carrara centre
    path = tmp_path / "strade.geojson"
    gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[line], crs=4326).to_file(path, driver="GeoJSON")
    import_file(mc_store, mc_territory, "strade", path)
    found = roads.access_gaps(mc_store, metric, role="comune", cameras=pd.DataFrame())
    assert found.has_roads
    acc = found.accesses
    assert len(acc) >= 1
    assert {"045003", "045010"} <= set().union(*acc["comuni"])
    assert not acc["covered"].any()
    first = acc.iloc[0]
    reader = pd.DataFrame([camera("TLC-X", float(first["lat"]), float(first["lon"]))])
    seen = roads.access_gaps(mc_store, metric, role="comune", cameras=reader).accesses
    assert bool(seen.loc[seen["access"] == first["access"], "covered"].iloc[0])
    assert views.access_lines(found)[0] == f"Accessi stradali tra comuni: {len(acc)}; senza lettura targhe: {len(acc)}."
    # a Comune that is on neither side sees none of them
    assert roads.access_gaps(mc_store, metric, role="comune", comuni=["045012"], cameras=reader).accesses.empty


def test_who_may_open_the_page_and_see_police_readers():
    from geo.access.permissions import ALL, OWN, scope

    assert scope("osservatore", "view_cameras") is None
    assert scope("comune", "view_cameras") == OWN
    assert scope("regione", "view_police_cameras") is None
    assert scope("forze_polizia", "view_police_cameras") == ALL


def test_access_layer_on_the_map_is_escaped(road_cells):
    acc = roads.reading_gaps(roads.access_points(road_cells), pd.DataFrame(), METRIC, role="comune")
    acc.loc[0, "highway"] = "<script>alert(1)</script>"
    empty = pd.DataFrame(columns=["camera_id", "kind", "owner", "lat", "lon", "position_exact"])
    html = views.camera_map(empty, None, pd.Series(dtype=float), pd.DataFrame(), accesses=acc,
                            names={"000001": "Alfa & Co"}).get_root().render()
    assert "Accessi stradali (lettura targhe)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert "senza lettura targhe" in html
