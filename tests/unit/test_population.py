import numpy as np
import pandas as pd
import pytest

from geo.data import hexgrid, population
from geo.data.loader import territory_cells
from geo.data.territory import load_territory


@pytest.fixture(scope="module")
def massa():
    t = load_territory()
    cells = territory_cells(t)
    cells["residents"] = population.dasymetric_population(
        cells, t.population, t.localities, metric_crs=t.metric_crs
    )
    return t, cells


def test_totals_equal_official(massa):
    t, cells = massa
    got = cells.groupby("pro_com_t")["residents"].sum()
    official = t.population.set_index("pro_com_t")["residenti"]
    pd.testing.assert_series_equal(got.sort_index(), official.sort_index().astype(float), check_names=False)


def test_settled_cells_near_localities(massa):
    t, cells = massa
    settled = cells[cells["residents"] > 0]
    # a populated comune is neither empty nor uniformly spread
    assert 0.1 < len(settled) / len(cells) < 0.6
    centre = t.localities[t.localities["tipo"] == "capoluogo"].geometry.iloc[0]
    near = hexgrid.points_to_cells(np.array([centre.y]), np.array([centre.x]), 10)[0]
    assert cells.loc[cells["cell"] == near, "residents"].iloc[0] > cells["residents"].quantile(0.99)


def test_uniform_without_localities():
    cells = pd.DataFrame({"cell": hexgrid.polygon_to_cells(
        __import__("shapely").box(9.45, 45.28, 9.47, 45.30), 10), "pro_com_t": "098001"})
    pop = pd.DataFrame({"pro_com_t": ["098001"], "residenti": [1000]})
    import geopandas as gpd

    empty = gpd.GeoDataFrame({"tipo": [], "abitanti": [], "pro_com_t": []}, geometry=[], crs=4326)
    r = population.dasymetric_population(cells, pop, empty, metric_crs="EPSG:32632")
    assert r.sum() == pytest.approx(1000)
    assert r.std() == pytest.approx(0, abs=1e-9)


def test_grid_population_replaces_estimate():
    import shapely

    cells = pd.DataFrame({"cell": hexgrid.polygon_to_cells(shapely.box(9.45, 45.28, 9.47, 45.30), 10),
                          "pro_com_t": "098001"})
    grid = pd.DataFrame({"cell": hexgrid.to_str(cells["cell"].iloc[:2]), "residenti": [30, 10]})
    r = population.grid_population(cells, grid, pd.DataFrame({"pro_com_t": ["098001"], "residenti": [400]}))
    assert r.iloc[0] == pytest.approx(300)
    assert r.iloc[1] == pytest.approx(100)
    assert r.iloc[2:].sum() == 0
