"""Cameras (issue 18): footprint geometry, building shadows, per-role visibility, placement."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from geo.cameras import coverage as cov
from geo.cameras.evidence import SETTINGS
from geo.cameras.inventory import visible_cameras, visible_footprints
from geo.cameras.placement import (
    PlacementError,
    PlacementOptions,
    Problem,
    brute_force,
    feasible,
    greedy,
    solve,
    value_of,
)
from geo.data import hexgrid, schemas

METRIC = "EPSG:32632"


# -- geometry ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("fov", "r"), [(90.0, 50.0), (30.0, 25.0), (200.0, 80.0), (360.0, 60.0)])
def test_sector_area_is_fov_share_of_circle(fov, r):
    poly = cov.sector(0.0, 0.0, 45.0, fov, r, step_deg=0.1)
    expected = fov / 360.0 * math.pi * r**2
    assert poly.area == pytest.approx(expected, rel=2e-3)


def test_sector_points_inside_and_outside():
    poly = cov.sector(0.0, 0.0, 90.0, 90.0, 50.0)  # looks east, spans 45°-135° from north
    assert poly.contains(shapely.Point(30, 0))        # east, in range
    assert not poly.contains(shapely.Point(60, 0))    # east, beyond range
    assert not poly.contains(shapely.Point(-30, 0))   # behind the camera
    assert not poly.contains(shapely.Point(0, 30))    # north, outside the angle
    assert poly.contains(shapely.Point(20, 15))       # bearing ~53°, inside
    north = cov.sector(0.0, 0.0, 0.0, 60.0, 50.0)
    assert north.contains(shapely.Point(0, 40))
    assert not north.contains(shapely.Point(0, -40))


def test_footprints_defaults_and_status():
    lat, lon = 44.035, 10.14
    cams = pd.DataFrame({"lon": [lon] * 4, "lat": [lat] * 4, "kind": ["dome", "fissa", "fissa", "fissa"],
                         "direction_deg": [np.nan, 0.0, np.nan, 0.0], "fov_deg": [np.nan, 90.0, 90.0, 90.0],
                         "range_m": [60.0, 70.0, 70.0, 70.0], "status": ["attiva", "attiva", None, "guasta"]})
    f = cov.footprints(cams, METRIC)
    assert f.geometry.iloc[0].area == pytest.approx(math.pi * 60**2, rel=2e-3)
    assert f.geometry.iloc[1].area == pytest.approx(math.pi * 70**2 / 4, rel=2e-3)
    # unknown direction: a circle with the sector's area, flagged
    assert not f["direction_known"].iloc[2]
    assert f.geometry.iloc[2].area == pytest.approx(math.pi * 70**2 / 4, rel=2e-3)
    assert f.geometry.iloc[3].is_empty  # broken camera covers nothing


def test_building_casts_a_shadow():
    foot = cov.sector(0.0, 0.0, 90.0, 360.0, 50.0)
    building = shapely.box(10, -5, 15, 5)  # east of the camera
    out = cov.cut_by_buildings([foot], np.array([0.0]), np.array([0.0]), [building])[0]
    assert not out.contains(shapely.Point(12, 0))     # inside the building
    assert not out.contains(shapely.Point(40, 0))     # behind it
    assert out.contains(shapely.Point(-40, 0))        # the other side is still seen
    assert out.contains(shapely.Point(30, 25))        # beside the shadow
    assert out.area < foot.area
    # a camera mounted on a building is not blocked by it
    wall = shapely.box(-5, -5, 0, 5)
    same = cov.cut_by_buildings([foot], np.array([0.0]), np.array([0.0]), [wall])[0]
    assert same.area == pytest.approx(foot.area)


def test_footprints_with_buildings_frame():
    lat, lon = 44.035, 10.14
    cams = pd.DataFrame({"lon": [lon], "lat": [lat], "kind": ["dome"], "range_m": [60.0], "status": ["attiva"]})
    x, y = cov.to_metric(np.array([lon]), np.array([lat]), METRIC)
    blds = gpd.GeoDataFrame(geometry=[shapely.box(x[0] + 10, y[0] - 5, x[0] + 20, y[0] + 5)], crs=METRIC)
    plain = cov.footprints(cams, METRIC).geometry.iloc[0]
    cut = cov.footprints(cams, METRIC, buildings=blds.to_crs(4326)).geometry.iloc[0]
    assert cut.area < plain.area


def test_cell_coverage_fraction():
    cell = int(hexgrid.points_to_cells(np.array([44.035]), np.array([10.14]), 10)[0])
    poly = cov.cell_polygons(np.array([cell]), METRIC)[0]
    whole = cov.cell_coverage(poly.buffer(1), np.array([cell]), METRIC)
    assert whole.iloc[0] == pytest.approx(1.0)
    c = poly.centroid
    half = shapely.box(c.x - 1000, c.y - 1000, c.x, c.y + 1000)
    assert cov.cell_coverage(half, np.array([cell]), METRIC).iloc[0] == pytest.approx(0.5, abs=0.02)
    assert cov.cell_coverage(shapely.Polygon(), np.array([cell]), METRIC).iloc[0] == 0.0


def test_weighted_share():
    assert cov.weighted_share([1.0, 0.5, 0.0], [2, 2, 4]) == pytest.approx(3 / 8)
    assert math.isnan(cov.weighted_share([1.0], [0]))


def test_effects_low_end_is_no_effect():
    assert all(s.low == 0.0 and s.low <= s.central <= s.high for s in SETTINGS.values())
    assert SETTINGS["complessivo"].central == pytest.approx(0.16)
    assert SETTINGS["parcheggi"].central == pytest.approx(0.51)


# -- visibility -------------------------------------------------------------------------------

def _inventory() -> pd.DataFrame:
    lat = np.array([44.035, 44.036, 44.037])
    lon = np.array([10.14, 10.141, 10.142])
    return pd.DataFrame({
        "camera_id": ["C1", "P1", "V1"], "lon": lon, "lat": lat,
        "cell": hexgrid.points_to_cells(lat, lon, 10), "pro_com_t": ["045010"] * 3,
        "kind": ["dome", "fissa", "fissa"], "direction_deg": [np.nan, 45.0, 90.0], "fov_deg": [360.0, 90.0, 90.0],
        "range_m": [60.0, 70.0, 70.0], "owner": ["comune", "polizia", "privato_convenzionato"],
        "control_room": ["PL", "Questura", "PL"], "status": ["attiva"] * 3, "year": [2020, 2021, 2022],
    })


def test_police_cameras_hidden_for_comune_role():
    cams = _inventory()
    shown = visible_cameras(cams, "comune").set_index("owner")
    police = shown.loc["polizia"]
    assert not police["position_exact"]
    assert police["camera_id"] != "P1"
    assert (police["lat"], police["lon"]) != (cams.loc[1, "lat"], cams.loc[1, "lon"])
    parent = hexgrid.cell_to_parent(np.array([cams.loc[1, "cell"]]), 9)[0]
    clat, clon = hexgrid.cell_centers(np.array([parent]))
    assert police["lat"] == pytest.approx(clat[0])
    assert police["lon"] == pytest.approx(clon[0])
    assert pd.isna(police["direction_deg"])
    assert police["control_room"] is None
    assert shown.loc["comune", "camera_id"] == "C1"
    assert shown.loc["comune", "position_exact"]
    assert len(visible_footprints(cams, "comune", METRIC)) == 2
    for role in ("osservatore", "regione"):
        assert "P1" not in set(visible_cameras(cams, role)["camera_id"])


def test_police_cameras_exact_for_cleared_roles():
    cams = _inventory()
    for role in ("prefettura", "forze_polizia"):
        shown = visible_cameras(cams, role)
        assert shown["position_exact"].all()
        assert set(shown["camera_id"]) == {"C1", "P1", "V1"}
        assert len(visible_footprints(cams, role, METRIC)) == 3


def test_camera_layer_schema():
    layer = schemas.get_layer("telecamere")
    assert layer.key == "cameras"
    assert layer.id_field == "camera_id"
    assert set(layer.required) == {"camera_id", "kind", "owner"}


# -- placement --------------------------------------------------------------------------------

def random_problem(seed: int, n_sites: int = 5, n_demand: int = 8, *, budget: float = 10_000.0,
                   cap: int | None = None, **kw) -> Problem:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sites):
        for kind, cost in (("dome", 6000.0), ("fissa", 2500.0)):
            rows.append({"id": f"s{s}-{kind}", "site": f"s{s}", "kind": kind, "direction_deg": np.nan,
                         "lon": 0.0, "lat": 0.0, "cell": s, "pro_com_t": f"0450{s % 2:02d}",
                         "cost_eur": cost * float(rng.uniform(0.8, 1.2)), "school": ""})
    cand = pd.DataFrame(rows)
    a = rng.uniform(0, 0.9, (n_demand, len(cand))) * (rng.random((n_demand, len(cand))) < 0.35)
    demand = pd.DataFrame({"cell": np.arange(n_demand), "weight": rng.uniform(0.5, 5, n_demand),
                           "incidents_year": rng.uniform(1, 10, n_demand), "hot": False, "existing": 0.0})
    opts = PlacementOptions(budget=budget, max_per_comune=cap, **kw)
    return Problem(cand, demand, sp.csr_matrix(a), opts)


@pytest.mark.parametrize("seed", range(8))
def test_milp_equals_brute_force(seed):
    budget = [5_000.0, 10_000.0, 15_000.0, 22_000.0][seed % 4]
    prob = random_problem(seed, budget=budget, cap=2 if seed % 2 else None)
    exact = solve(prob)
    brute = brute_force(prob)
    assert exact.status == "ottimo"
    assert value_of(prob, exact.x) == pytest.approx(value_of(prob, brute.x), rel=1e-6, abs=1e-9)
    assert feasible(prob, exact.x)
    assert exact.totals["cost_eur"] <= budget + 1e-6
    g = greedy(prob)
    assert feasible(prob, g.x)
    assert value_of(prob, g.x) <= value_of(prob, exact.x) + 1e-9


def test_forced_and_excluded_sites():
    prob = random_problem(3, budget=12_000.0, force_in=("s4-fissa",), force_out=("s0",))
    plan = solve(prob)
    assert "s4-fissa" in set(plan.chosen["id"])
    assert not (plan.chosen["site"] == "s0").any()
    assert value_of(prob, plan.x) == pytest.approx(value_of(prob, brute_force(prob).x), rel=1e-6)


def test_forced_over_budget_is_refused():
    prob = random_problem(1, budget=1_000.0, force_in=("s1-dome",))
    with pytest.raises(PlacementError, match="budget"):
        solve(prob)
    with pytest.raises(PlacementError):
        PlacementOptions(budget=-1)
    with pytest.raises(PlacementError):
        PlacementOptions(budget=10, force_in=("a",), force_out=("a",))


def test_zero_budget_places_nothing():
    prob = random_problem(2, budget=0.0)
    plan = solve(prob)
    assert plan.totals["cameras"] == 0
    assert plan.totals["cost_eur"] == 0.0
