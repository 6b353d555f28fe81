import h3
import h3.api.numpy_int as h3n
import numpy as np
import pytest
import shapely

from geo.data import hexgrid


@pytest.fixture
def points():
    rng = np.random.default_rng(1)
    return rng.uniform(43.98, 44.47, 500), rng.uniform(9.69, 10.25, 500)


def test_points_to_cells_matches_h3(points):
    lat, lon = points
    cells = hexgrid.points_to_cells(lat, lon, 10)
    assert cells.dtype == np.int64
    assert all(int(c) == h3n.latlng_to_cell(a, b, 10) for c, a, b in zip(cells, lat, lon, strict=True))


def test_points_to_cells_empty():
    assert hexgrid.points_to_cells(np.array([]), np.array([]), 10).size == 0


@pytest.mark.parametrize("res", [7, 8, 9, 10])
def test_cell_to_parent_matches_h3(points, res):
    cells = hexgrid.points_to_cells(*points, 10)
    expected = np.array([h3n.cell_to_parent(int(c), res) for c in cells])
    np.testing.assert_array_equal(hexgrid.cell_to_parent(cells, res), expected)
    assert set(hexgrid.cell_resolution(hexgrid.cell_to_parent(cells, res))) == {res}


def test_cell_to_parent_rejects_bad_resolution():
    with pytest.raises(ValueError, match="risoluzione H3 non valida"):
        hexgrid.cell_to_parent(np.array([0]), 16)


def test_str_round_trip_and_invalid():
    cell = h3n.latlng_to_cell(44.03, 10.14, 9)
    assert hexgrid.from_str(hexgrid.to_str([cell]))[0] == cell
    with pytest.raises(ValueError, match="cella H3 non valida: notacell"):
        hexgrid.from_str(["notacell"])


def test_polygons_close_and_areas():
    cell = h3n.latlng_to_cell(44.03, 10.14, 8)
    poly = hexgrid.cells_to_polygons([cell])[0]
    assert poly.is_valid
    assert len(poly.exterior.coords) == 7
    lat, lon = hexgrid.cell_centers(np.array([cell]))
    assert poly.contains(shapely.Point(lon[0], lat[0]))
    assert hexgrid.exact_cell_areas_km2(np.array([cell]))[0] == pytest.approx(hexgrid.cell_area_km2(8), rel=0.1)


def test_polygon_to_cells_centres_inside():
    square = shapely.box(10.10, 44.00, 10.12, 44.02)
    cells = hexgrid.polygon_to_cells(square, 10)
    assert len(cells) > 50
    lat, lon = hexgrid.cell_centers(cells)
    assert all(square.contains(shapely.Point(x, y)) for x, y in zip(lon, lat, strict=True))


def test_adjacency_pairs_symmetric_and_true_neighbours():
    centre = h3n.latlng_to_cell(44.03, 10.14, 9)
    disk = hexgrid.neighbours(centre, 2)
    i, j = hexgrid.adjacency_pairs(disk)
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    assert all((b, a) in pairs for a, b in pairs)
    assert all(h3.are_neighbor_cells(h3.int_to_str(int(disk[a])), h3.int_to_str(int(disk[b]))) for a, b in pairs)
    # the centre of a 2-disk has all 6 neighbours inside
    k = int(np.flatnonzero(disk == centre)[0])
    assert (i == k).sum() == 6


def test_suggest_resolution_scales_with_area():
    assert hexgrid.suggest_resolution(1154) == 8
    assert hexgrid.suggest_resolution(70) == 9
    assert hexgrid.suggest_resolution(5) == 10
    assert hexgrid.suggest_resolution(50_000) == 7


def test_parallel_indexing_equals_serial(monkeypatch, points):
    lat, lon = (np.tile(a, 20) for a in points)
    monkeypatch.setattr(hexgrid, "PARALLEL_MIN_POINTS", 1000)
    monkeypatch.setattr(hexgrid, "CHUNK_POINTS", 777)
    monkeypatch.setattr(hexgrid, "_fork_is_safe", lambda: True)  # other tests may leave threads running
    pools = []
    real_pool = hexgrid.ProcessPoolExecutor
    monkeypatch.setattr(hexgrid, "ProcessPoolExecutor", lambda **kw: pools.append(kw) or real_pool(**kw))
    parallel = hexgrid.points_to_cells(lat, lon, 10, workers=2)
    assert pools
    assert pools[0]["max_workers"] == 2
    serial = hexgrid.points_to_cells(lat, lon, 10, workers=1)
    np.testing.assert_array_equal(parallel, serial)
    assert parallel[0] == h3n.latlng_to_cell(lat[0], lon[0], 10)


def test_no_fork_inside_a_threaded_process(monkeypatch, points):
    monkeypatch.setattr(hexgrid, "PARALLEL_MIN_POINTS", 10)
    monkeypatch.setattr(hexgrid, "_fork_is_safe", lambda: False)
    monkeypatch.setattr(hexgrid, "ProcessPoolExecutor", lambda **_: pytest.fail("forked in a threaded process"))
    np.testing.assert_array_equal(hexgrid.points_to_cells(*points, 10, workers=2),
                                  hexgrid.points_to_cells(*points, 10, workers=1))
