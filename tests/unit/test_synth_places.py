"""Shared helpers of the generators: integer apportionment, random streams, place surfaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.data import hexgrid
from geo.demo.synth import child_rng
from geo.demo.synth._places import Mix, PlaceContext, largest_remainder, localities_frame


@pytest.mark.parametrize(
    ("total", "weights"),
    [(10, [1, 1, 1]), (7623, [785, 371, 232, 602, 1140]), (1, [0.2, 0.2, 0.6]), (0, [3, 4]), (5, [0, 0, 0])],
)
def test_largest_remainder_is_exact(total, weights):
    split = largest_remainder(total, np.asarray(weights, float))
    assert split.sum() == total
    assert (split >= 0).all()
    w = np.asarray(weights, float)
    quota = total * w / w.sum() if w.sum() else np.full(w.size, total / w.size)
    assert np.all(np.abs(split - quota) < 1)


def test_largest_remainder_ties_go_to_lower_index():
    assert largest_remainder(1, np.array([1.0, 1.0, 1.0])).tolist() == [1, 0, 0]
    assert largest_remainder(2, np.array([1.0, 1.0, 1.0])).tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="non negativi"):
        largest_remainder(3, np.array([1.0, -1.0]))


def test_child_streams_are_keyed_by_name():
    a1 = child_rng(7, "lighting").random(5)
    a2 = child_rng(7, "lighting").random(5)
    b = child_rng(7, "reports").random(5)
    c = child_rng(8, "lighting").random(5)
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, b)
    assert not np.allclose(a1, c)


def _toy():
    """Two comuni made of H3 disks: a town (with a station) and a village, no real names."""
    town_c = hexgrid.points_to_cells(np.array([45.0]), np.array([9.0]), 10)[0]
    village_c = hexgrid.points_to_cells(np.array([45.0]), np.array([9.06]), 10)[0]
    town = hexgrid.neighbours(town_c, 12)
    village = hexgrid.neighbours(village_c, 5)
    lat, lon = hexgrid.cell_centers(np.concatenate([town, village]))
    cells = pd.DataFrame({"cell": np.concatenate([town, village]),
                          "pro_com_t": ["900001"] * town.size + ["900002"] * village.size})
    d = np.hypot((lat - 45.0) * 111, (lon - np.where(cells["pro_com_t"] == "900001", 9.0, 9.06)) * 79)
    cells["residents"] = np.where(cells["pro_com_t"] == "900001", 8000, 500) * np.exp(-d / 0.4)
    for code, total in (("900001", 8000), ("900002", 500)):
        m = cells["pro_com_t"] == code
        cells.loc[m, "residents"] *= total / cells.loc[m, "residents"].sum()
    loc = pd.DataFrame({
        "nome": ["Town", "Village", "Town station"], "tipo": ["citta", "paese", "stazione"],
        "abitanti": [None, None, None], "pro_com_t": ["900001", "900002", "900001"],
        "lon": [9.0, 9.06, 9.004], "lat": [45.0, 45.0, 44.998],
    })
    comuni = pd.DataFrame({"pro_com_t": ["900001", "900002"], "nome": ["Town", "Village"], "residenti": [8000, 500]})
    return cells, loc, comuni


def test_place_context_surfaces():
    cells, loc, comuni = _toy()
    places = PlaceContext.build(cells, loc, comuni)
    assert places.capoluogo == "900001"  # the most populated comune by default
    share = places.residents_share()
    for k in range(2):
        assert share[places.comune_idx == k].sum() == pytest.approx(1.0)
    p = places.weights(Mix(residents=1.0), comune_exponent=1.0)
    assert p.sum() == pytest.approx(1.0)
    town = places.codes == "900001"
    assert p[town].sum() == pytest.approx(8000 / 8500)
    # urban premium: an exponent above 1 moves weight to the larger comune
    assert places.weights(Mix(residents=1.0), comune_exponent=1.3)[town].sum() > p[town].sum()
    # the attractor surface peaks at the station
    q = places.weights(Mix(attractors=1.0, kinds={"stazione": 1}))
    station_cell = hexgrid.points_to_cells(np.array([44.998]), np.array([9.004]), 10)[0]
    assert places.cells[np.argmax(np.where(town, q, 0))] == station_cell
    # the village has no station: its attractor share falls back on its centre
    assert q[~town].sum() > 0


def test_peripherality_grows_from_the_centre():
    cells, loc, comuni = _toy()
    places = PlaceContext.build(cells, loc, comuni)
    town = np.flatnonzero(places.codes == "900001")
    d = places.distance_to_centre()[town]
    r = places.peripherality[town]
    assert r[np.argmin(d)] == pytest.approx(0.0)
    assert np.all(np.diff(r[np.argsort(d, kind="stable")]) >= -1e-12)
    assert r.max() > 0.95


def test_jitter_stays_in_the_cell():
    cells, loc, comuni = _toy()
    places = PlaceContext.build(cells, loc, comuni)
    pos = np.arange(places.cells.size)
    lat, lon = places.jitter(pos, np.random.default_rng(0))
    assert (hexgrid.points_to_cells(lat, lon, 10) == places.cells).all()
    assert np.mean((lat != np.round(places.lat, 7)) | (lon != np.round(places.lon, 7))) > 0.9


def test_localities_from_geometry():
    import geopandas as gpd
    import shapely

    gdf = gpd.GeoDataFrame({"nome": ["A"], "tipo": ["paese"], "abitanti": ["<NA>"], "pro_com_t": ["900001"]},
                           geometry=[shapely.Point(9.1, 45.2)], crs=4326)
    loc = localities_frame(gdf)
    assert loc.loc[0, "lon"] == pytest.approx(9.1)
    assert loc.loc[0, "lat"] == pytest.approx(45.2)
    assert np.isnan(loc.loc[0, "abitanti"])
