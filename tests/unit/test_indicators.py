"""Per-hexagon indicators: building blocks, hand-computed values on the tiny store, scores."""

from __future__ import annotations

from datetime import date

import esda
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pytest

from geo import config
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.zones import indicators
from tests.unit.tiny_store import CELL_A, CELL_B, CELL_C, PERIOD_2024, build_tiny_store


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    store = build_tiny_store(tmp_path_factory.mktemp("tiny-ind") / "tiny.duckdb")
    yield store
    store.close()


@pytest.fixture(scope="module")
def tiny_table(tiny) -> indicators.IndicatorTable:
    return indicators.build_indicators(tiny, Filters(res=8, start=PERIOD_2024[0], end=PERIOD_2024[1]))


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------

def test_every_category_has_a_severity_weight_and_every_indicator_is_documented():
    assert set(indicators.SEVERITY_WEIGHTS) == set(INCIDENT_CATEGORIES)
    assert all(w >= 1 for w in indicators.SEVERITY_WEIGHTS.values())
    assert indicators.SEVERITY_WEIGHTS["rapine"] > indicators.SEVERITY_WEIGHTS["furti_abitazione"] > \
        indicators.SEVERITY_WEIGHTS["furti_altri"]
    for ind in indicators.INDICATORS.values():
        assert ind.label
        assert ind.unit
        assert ind.source
        assert ind.definition
        assert ind.short


def test_empirical_bayes_equals_esda_when_populations_are_positive():
    rng = np.random.default_rng(0)
    pop = rng.integers(50, 5000, 200).astype(float)
    rate = np.where(rng.random(200) < 0.2, 0.02, 0.005)  # real between-area variation
    events = rng.poisson(pop * rate).astype(float)
    ours = indicators.empirical_bayes_rate(events, pop)
    ref = esda.smoothing.Empirical_Bayes(events, pop).r.ravel()
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    raw = events / pop
    small, large = pop.argmin(), pop.argmax()  # shrinkage is stronger where fewer people live
    m = events.sum() / pop.sum()
    assert abs(ours[small] - m) / max(abs(raw[small] - m), 1e-12) < abs(ours[large] - m) / max(
        abs(raw[large] - m), 1e-12)


def test_empirical_bayes_edge_cases():
    out = indicators.empirical_bayes_rate(np.array([5.0, 1.0, 0.0]), np.array([100.0, 0.0, 100.0]))
    m = 6 / 200
    assert out[1] == pytest.approx(m)  # nobody lives there: the overall rate
    flat = indicators.empirical_bayes_rate(np.array([1.0, 1.0]), np.array([100.0, 100.0]))
    assert flat == pytest.approx([0.01, 0.01])  # no extra variation: everything shrinks to m
    assert (indicators.empirical_bayes_rate(np.zeros(3), np.zeros(3)) == 0).all()


def test_percentile_scores_are_robust_ranks():
    s = indicators.percentile_scores(pd.Series([0, 5, 1, 1, 1_000_000, np.nan, -2]))
    assert s.tolist() == [0, 0.75, 0.375, 0.375, 1.0, 0, 0]
    # an outlier does not flatten the others, unlike a min-max scaling
    assert s.iloc[1] - s.iloc[2] == pytest.approx(0.375)
    assert indicators.percentile_scores(pd.Series([0.0, 0.0])).tolist() == [0, 0]


def test_neighbourhood_sum_and_nearest_distance():
    centre = h3n.latlng_to_cell(44.035, 10.14, 9)
    cells = np.array(sorted(h3n.grid_disk(centre, 2)), dtype=np.int64)
    values = (cells == centre).astype(float)
    out = indicators.neighbourhood_sum(cells, values)
    ring1 = np.isin(cells, h3n.grid_disk(centre, 1))
    assert (out[ring1] == 1).all()
    assert (out[~ring1] == 0).all()
    lat, lon = hexgrid.cell_centers(np.array([centre]))
    d = indicators.nearest_distance_km(cells, lat, lon)
    assert d[list(cells).index(centre)] == pytest.approx(0, abs=1e-9)
    assert 0.2 < d[~ring1].min() < 0.8  # second ring of resolution 9: a few hundred metres
    assert np.isnan(indicators.nearest_distance_km(cells, np.array([]), np.array([]))).all()


def _base(k: int = 1, **cols) -> pd.DataFrame:
    centre = h3n.latlng_to_cell(44.035, 10.14, 9)
    cells = np.array(sorted(h3n.grid_disk(centre, k)), dtype=np.int64)
    n = len(cells)
    base = pd.DataFrame({
        "pro_com_t": "045010", "residents": 100.0, "area_km2": 0.1, "settled_km2": 0.1, "incidents": 0.0,
        "harm": 0.0, "night": 0.0, "reports_open": 0.0, "reports_open_severity": 0.0, "lights": 0.0,
        "lights_broken": 0.0, "lights_old": 0.0, "schools": 0.0, "services": 0.0, "homeless_reports": 0.0,
        "confiscated_reuse": 0.0, "service_km": 1.5,
    }, index=pd.Index(cells, name="cell"))
    for k, v in cols.items():
        base[k] = np.broadcast_to(v, n).astype(float) if np.ndim(v) == 0 else np.asarray(v, dtype=float)
    return base


def test_compute_indicators_definitions():
    base = _base(incidents=[0, 10, 2, 0, 0, 0, 0], night=[0, 5, 2, 0, 0, 0, 0], harm=[0, 40, 2, 0, 0, 0, 0],
                 lights=[40, 10, 0, 0, 0, 0, 0], lights_broken=[0, 5, 0, 0, 0, 0, 0],
                 homeless_reports=[0, 0, 0, 0, 0, 0, 1], residents=[100, 100, 100, 100, 100, 100, 0],
                 settled_km2=[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0])
    raw = indicators.compute_indicators(base, months=24)
    assert list(raw.columns) == list(indicators.INDICATOR_KEYS)
    # zero where nothing happened, per year over 24 months
    assert raw["harm_rate"].iloc[0] == 0
    assert raw["harm_density"].iloc[1] == pytest.approx(40 / 0.1 / 2)
    p0 = 7 / 12
    assert raw["night_share"].iloc[1] == pytest.approx((5 + 10 * p0) / (10 + 10))
    assert raw["night_share"].iloc[0] == 0
    expected = 0.5 * (160 * 100 / 1000 + 500 * 0.1)  # 33 points expected for 100 residents on 0.1 km²
    assert raw["lighting_deficit"].iloc[0] == 0  # 40 working points: more than enough
    assert expected == pytest.approx(33.0)
    assert raw["lighting_deficit"].iloc[1] == pytest.approx(1 - 5 / 33)
    assert raw["lighting_deficit"].iloc[2] == 1.0
    assert raw["lighting_deficit"].iloc[6] == 0.0
    # homeless presence spreads to the first ring; distance counts only where there is presence
    has_ring = (raw["homeless"] > 0).to_numpy()
    assert has_ring.sum() >= 2
    assert raw["service_distance"][has_ring].eq(1.5).all()
    assert raw["service_distance"][~has_ring].eq(0).all()
    assert (raw["population"] == base["residents"]).all()


def test_harm_rate_is_shrunk_for_few_residents():
    n = 61  # a centre and four rings of hexagons
    rng = np.random.default_rng(2)
    residents = np.full(n, 500.0)
    harm = rng.poisson(5, n).astype(float)
    residents[0], harm[0] = 5.0, 3.0  # three incidents where five people live
    base = _base(4, harm=harm, incidents=harm, residents=residents)
    raw = indicators.compute_indicators(base, months=12)
    naive = 3 / 5 * 1000
    assert raw["harm_rate"].iloc[0] < naive / 10  # five residents do not make the worst place
    assert raw["harm_rate"].iloc[0] <= raw["harm_rate"].max()
    assert raw["harm_rate"].iloc[1:].corr(pd.Series(harm[1:] / 500 * 1000, index=raw.index[1:])) > 0.99


# --------------------------------------------------------------------------------------------
# From the store (tiny store: figures computable by hand)
# --------------------------------------------------------------------------------------------

def test_load_inputs_on_the_tiny_store(tiny_table):
    base = tiny_table.base
    assert sorted(base.index) == sorted([CELL_A, CELL_B, CELL_C])
    a, b, c = base.loc[CELL_A], base.loc[CELL_B], base.loc[CELL_C]
    # 2024: A 5 burglaries (x8), 3 robberies (x10), 2 assaults (x1); B vehicle theft (x4) + damage; C 3 frauds
    assert (a["incidents"], a["night"], a["harm"]) == (10, 5, 5 * 8 + 3 * 10 + 2)
    assert (b["incidents"], b["harm"]) == (2, 5)
    assert (c["incidents"], c["harm"]) == (3, 3)
    assert a["residents"] == pytest.approx(490)
    assert b["residents"] == pytest.approx(49)
    child = hexgrid.cell_area_km2(config.STORE_RES)
    assert a["area_km2"] == pytest.approx(49 * child)
    assert a["settled_km2"] == pytest.approx(49 * child)
    assert a["reports_open"] == 2
    assert a["reports_open_severity"] == 4
    assert (a["lights"], a["lights_broken"], a["lights_old"]) == (4, 1, 1)
    assert a["schools"] == 1
    assert b["services"] == 2
    assert b["service_km"] == pytest.approx(0, abs=0.2)
    assert a["service_km"] > 0.5
    assert base["confiscated_reuse"].sum() == 0  # no state recorded: not known to be reusable
    assert tiny_table.months == 12


def test_tiny_indicators_and_scores(tiny_table):
    raw, scores = tiny_table.raw, tiny_table.scores
    assert raw.loc[CELL_A, "harm_density"] == pytest.approx(72 / tiny_table.base.loc[CELL_A, "area_km2"])
    assert (raw["schools"] == 1).all()  # the school of A is within one ring of B and C
    assert scores.loc[CELL_A, "harm_density"] == 1.0
    assert scores.loc[CELL_C, "harm_density"] == pytest.approx(1 / 3)
    # C has 3 incidents, none at night: its share is pulled towards the territory's 6/15
    assert raw.loc[CELL_C, "night_share"] == pytest.approx((0 + 10 * 0.4) / (3 + 10))
    assert raw.loc[CELL_A, "night_share"] == pytest.approx((5 + 10 * 0.4) / (10 + 10))
    assert ((scores >= 0) & (scores <= 1)).all().all()


def test_filters_change_the_incident_inputs(tiny):
    night = indicators.load_inputs(tiny, Filters(res=8, start=PERIOD_2024[0], end=PERIOD_2024[1], time_band="notte"))
    assert night.loc[CELL_A, "incidents"] == 5
    assert night.loc[CELL_C, "incidents"] == 0
    y2023 = indicators.load_inputs(tiny, Filters(res=8, start=date(2023, 1, 1), end=date(2023, 12, 1)))
    assert y2023.loc[CELL_A, "harm"] == 4
    assert y2023.loc[CELL_C, "harm"] == 1
    whole = indicators.build_indicators(tiny, Filters(res=8))
    assert whole.months == 19  # January 2023 to July 2024


def test_reusable_confiscated_rule():
    conf = pd.DataFrame({
        "tipologia": ["Immobili destinati", "Immobili in gestione", "Aziende in gestione", "Immobili in gestione"],
        "categoria": ["Appartamento", "Box, garage, autorimessa, posto auto", "Srl", "Villa"],
        "stato": ["Destinato", "In gestione", "In gestione", None],
    })
    assert indicators.reusable_confiscated(conf).tolist() == [True, False, False, False]
