"""Lighting need per hexagon (:mod:`geo.lighting.need`) on the hand-made database of
``tests/unit/lighting_store.py`` (figures computed by hand in its docstring) and on pieces."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from lighting_store import (
    CARRARA,
    HEX_A,
    HEX_B,
    HEX_C,
    HEX_D,
    MASSA,
    build_lighting_store,
    center,
    children,
)

from geo.data import hexgrid
from geo.lighting.need import (
    NeedParams,
    UnderlitRule,
    compute_need,
    comune_centres,
    haversine_km,
    lighting_need,
    lighting_state,
    months_between,
    neighbour_sum,
    reference_target,
    settled_area_km2,
)


@pytest.fixture
def store(tmp_path):
    s = build_lighting_store(tmp_path / "lighting.duckdb")
    yield s
    s.close()


@pytest.fixture
def need(store) -> pd.DataFrame:
    return lighting_need(store, res=9).set_index("cell")


def test_lighting_state_counts_by_hexagon(store):
    state = lighting_state(store.points("lighting"), 9)
    c = state.loc[HEX_C]
    # 6 LED (1 broken) + 4 mercury lamps of 125 W (1 broken)
    assert (c["lights"], c["broken"], c["old"], c["old_broken"], c["modern_broken"]) == (10, 2, 4, 1, 1)
    assert c["old_power_w"] == 500.0
    assert c["modern_broken_power_w"] == 40.0
    assert state.loc[HEX_B, "old_power_w"] == 500.0  # 5 sodium lamps of 100 W
    assert int(state["lights"].sum()) == 70 + 35 + 10 + 14
    coarse = lighting_state(store.points("lighting"), 8)
    assert int(coarse["lights"].sum()) == 129
    assert len(coarse) <= len(state)


def test_need_matches_the_hand_computation(need):
    assert need.attrs["basis"] == "residenti"
    # Centres A, B, D: 119 points for 1.19 thousand residents -> 100 per 1,000, exponent 1 (fewer
    # than 10 central hexagons: ratio of sums).
    assert need.attrs["target_scale"] == pytest.approx(100.0)
    assert need.attrs["target_exponent"] == 1.0
    c = need.loc[HEX_C]
    assert c["target_points"] == pytest.approx(42.0)   # 100 x 0.42
    assert bool(c["under_lit"])                       # 8 working < 0.5 x 42
    assert c["new_needed"] == 32
    assert c["points_after"] == 42
    assert c["night_outdoor"] == 24
    assert c["night_outdoor_year"] == pytest.approx(24.0)
    assert c["demand_points"] == pytest.approx(7.0)   # 2 x 2 + 1 + 1 + 1
    assert (c["reports_lighting"], c["reports_other"], c["schools"], c["destinations"]) == (2, 1, 1, 1)
    assert bool(c["outskirts"])
    assert c["distance_km"] == pytest.approx(2.73, abs=0.01)
    a = need.loc[HEX_A]
    assert a["target_points"] == pytest.approx(70.0)
    assert not a["under_lit"]
    assert a["new_needed"] == 0
    assert a["night_outdoor"] == 12
    assert not a["outskirts"]
    assert a["distance_km"] == pytest.approx(0.0, abs=1e-9)
    assert not need.loc[HEX_B, "outskirts"]
    assert need.loc[HEX_B, "old_share"] == pytest.approx(5 / 35)
    assert need.loc[HEX_D, "distance_km"] == pytest.approx(0.0, abs=1e-9)  # Carrara's own centre
    assert need.loc[HEX_C, "broken_share"] == pytest.approx(0.2)
    assert need.loc[HEX_C, "per_1000_residents"] == pytest.approx(10 / 0.42)


def test_period_and_categories_change_the_incidents(store):
    one_month = lighting_need(store, res=9, start=date(2024, 1, 1), end=date(2024, 1, 1)).set_index("cell")
    # 20 damages in January: 20 per month is 240 per year
    assert one_month.loc[HEX_C, "night_outdoor"] == 20
    assert one_month.loc[HEX_C, "night_outdoor_year"] == pytest.approx(240.0)
    robberies = lighting_need(store, res=9, categories=["rapine"]).set_index("cell")
    assert robberies.loc[HEX_A, "night_outdoor"] == 5
    assert robberies.loc[HEX_C, "night_outdoor"] == 0


def test_comuni_filter_keeps_only_their_hexagons(store):
    carrara = lighting_need(store, res=9, comuni=[CARRARA])
    assert carrara["cell"].tolist() == [HEX_D]


def test_fixed_target_and_threshold(store):
    # 60 points per 1,000 residents: C's target is 25.2, 8 working < 0.5 x 25.2 -> under-lit,
    # new points round(25.2 - 10) = 15; A (target 42) keeps its 68 working points.
    params = NeedParams(rule=UnderlitRule(basis="residenti", target=60.0))
    need = lighting_need(store, res=9, params=params).set_index("cell")
    assert need.loc[HEX_C, "target_points"] == pytest.approx(25.2)
    assert need.loc[HEX_C, "new_needed"] == 15
    assert need.attrs["target_source"] == "obiettivo impostato"
    strict = NeedParams(rule=UnderlitRule(basis="residenti", target=60.0, underlit_below=0.3))
    assert not lighting_need(store, res=9, params=strict).set_index("cell").loc[HEX_C, "under_lit"]  # 8 > 7.56


def test_outskirts_distance_is_configurable(store):
    far = lighting_need(store, res=9, params=NeedParams(outskirts_km=3.0)).set_index("cell")
    assert not far["outskirts"].any()


def test_road_basis_when_a_road_layer_is_loaded(tmp_path):
    store = build_lighting_store(tmp_path / "roads.duckdb", with_roads=True)
    roads = store.road_length_by_cell(9).set_index("cell")["road_km"]
    assert roads.loc[HEX_C] == pytest.approx(3.0)
    assert roads.loc[HEX_A] == pytest.approx(3.0)
    lit = store.road_length_by_cell(9, highways=["residential", "tertiary"]).set_index("cell")["road_km"]
    assert lit.loc[HEX_C] == pytest.approx(2.0)  # the motorway is not lit by the comune
    need = lighting_need(store, res=9).set_index("cell")
    assert need.attrs["basis"] == "strade"
    assert need.loc[HEX_C, "road_km"] == pytest.approx(2.0)
    assert need.loc[HEX_C, "per_km_road"] == pytest.approx(5.0)
    store.close()


def test_road_basis_without_roads_is_an_italian_error(store):
    with pytest.raises(ValueError, match="livello stradale"):
        lighting_need(store, res=9, params=NeedParams(rule=UnderlitRule(basis="strade")))


def test_reference_target_recovers_a_power_law():
    # 40 central hexagons with exactly 12 x basis^0.7 points; outskirts ignored.
    q = np.linspace(0.1, 3.0, 40)
    frame = pd.DataFrame({"basis_qty": np.r_[q, [1.0]], "lights": np.r_[12 * q ** 0.7, [1.0]],
                          "outskirts": [False] * 40 + [True]})
    scale, exponent = reference_target(frame)
    assert scale == pytest.approx(12.0)
    assert exponent == pytest.approx(0.7)


def test_comune_centres_prefer_the_named_seat_then_the_residents_centroid():
    localities = pd.DataFrame({
        "nome": ["Frazione", "Alfa", "Borgo"], "tipo": ["sede_comunale", "sede_comunale", "frazione"],
        "pro_com_t": ["000001", "000001", "000002"], "lat": [45.0, 45.1, 44.0], "lon": [9.0, 9.1, 8.0],
    })
    comuni = pd.DataFrame({"pro_com_t": ["000001", "000002"], "nome": ["Alfa", "Beta"]})
    c1, c2 = (hexgrid.points_to_cells(np.array([lat]), np.array([lon]), 9)[0] for lat, lon in ((44.0, 8.0),
                                                                                                 (44.01, 8.0)))
    context = pd.DataFrame({"cell": [c1, c2], "pro_com_t": ["000002", "000002"], "residents": [100.0, 300.0]})
    centres = comune_centres(localities, comuni, context)
    assert centres.loc["000001", "centre"] == "Alfa"
    assert centres.loc["000001", "lat"] == 45.1
    lat1, _lon1 = hexgrid.cell_centers(np.array([c1]))
    lat2, _lon2 = hexgrid.cell_centers(np.array([c2]))
    assert centres.loc["000002", "centre"] == "baricentro dei residenti"
    assert centres.loc["000002", "lat"] == pytest.approx(0.25 * lat1[0] + 0.75 * lat2[0])


def test_small_helpers():
    assert months_between(date(2024, 1, 1), date(2024, 12, 1)) == 12
    assert haversine_km(np.array([44.0]), np.array([10.0]), np.array([45.0]), np.array([10.0]))[0] == pytest.approx(
        111.19, abs=0.01)
    ring = [int(c) for c in hexgrid.neighbours(HEX_A, 1) if int(c) != HEX_A]
    cells = np.array([HEX_A, *ring[:2]])
    assert neighbour_sum(cells, np.array([1.0, 2.0, 3.0]))[0] == pytest.approx(5.0)
    context10 = pd.DataFrame({"cell": children(HEX_A) + children(HEX_C)[:1], "residents": [1.0] * 7 + [0.0]})
    settled = settled_area_km2(context10, 9)
    assert settled.loc[HEX_A] == pytest.approx(7 * hexgrid.cell_area_km2(10))
    assert HEX_C not in settled.index


def test_compute_need_refuses_an_empty_period():
    with pytest.raises(ValueError, match="almeno un mese"):
        compute_need(context=pd.DataFrame(columns=["cell", "pro_com_t", "residents", "area_km2"]),
                     state=pd.DataFrame(), incidents=pd.DataFrame(), months=0, settled_km2=pd.Series(dtype=float),
                     road_km=None, demand=pd.DataFrame(), centres=pd.DataFrame(columns=["lat", "lon"]),
                     params=NeedParams())


def test_massa_capoluogo_is_the_centre_of_massa(store):
    centres = comune_centres(store.points("localities"), store.comuni(), store.cell_context(9))
    lat, lon = center(HEX_A)
    assert centres.loc[MASSA, "centre"] == "Massa"
    assert (centres.loc[MASSA, "lat"], centres.loc[MASSA, "lon"]) == pytest.approx((lat, lon))
