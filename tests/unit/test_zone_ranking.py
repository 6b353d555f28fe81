"""A fair zone ranking: expected benefit instead of the mean, shrunk zone rates with their
reliability, indicators a territory lacks dropping out, and the greedy baseline of the benchmark."""

from __future__ import annotations

import dataclasses

import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pytest

from geo.data import hexgrid
from geo.zones import baseline, indicators
from geo.zones import pilot as zones
from geo.zones.indicators import INDICATOR_KEYS
from geo.zones.priority import cell_contributions, contributions, effective_weights, preset_weights

CENTRE = h3n.latlng_to_cell(44.035, 10.14, 9)
HEX_KM2 = hexgrid.cell_area_km2(9)


# --------------------------------------------------------------------------------------------
# Empirical Bayes with reliability
# --------------------------------------------------------------------------------------------

def test_small_populations_are_shrunk_and_labelled_unreliable():
    rng = np.random.default_rng(1)
    pop = np.r_[np.full(50, 5000.0), [37.0]]
    events = np.r_[rng.poisson(0.05 * 5000, 50), [32]].astype(float)
    rate, weight = indicators.empirical_bayes(events, pop)
    np.testing.assert_allclose(rate, indicators.empirical_bayes_rate(events, pop))
    assert ((weight >= 0) & (weight <= 1)).all()
    raw_small = 32 / 37
    m = events.sum() / pop.sum()
    # the zone of 37 residents keeps only a small part of its extreme raw rate
    assert weight[-1] < 0.5
    assert m < rate[-1] < raw_small
    assert indicators.reliability_label(weight[-1]) == "bassa"
    assert indicators.reliability_label(float(np.median(weight[:50]))) in {"alta", "media"}
    assert [indicators.reliability_label(w) for w in (0.9, 0.8, 0.6, 0.49, float("nan"))] == \
        ["alta", "alta", "media", "bassa", "bassa"]


# --------------------------------------------------------------------------------------------
# Absent layers
# --------------------------------------------------------------------------------------------

def _base(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "pro_com_t": ["A"] * (n // 2) + ["B"] * (n - n // 2),
        "incidents": np.arange(n, dtype=float), "residents": np.full(n, 100.0),
        "reports_all": [1.0, 0, 0, 0, 0, 0], "lights": [0, 0, 0, 5.0, 0, 1.0],
        "schools": np.zeros(n), "services": [0, 0, 0, 0, 0, 1.0], "confiscated_all": np.zeros(n),
    }, index=pd.Index(np.arange(n), name="cell"))


def test_an_absent_layer_drops_out_everywhere_and_a_comune_layer_where_it_was_not_supplied():
    av = indicators.indicator_availability(_base())
    # no school and no confiscated asset in the territory: no information anywhere
    assert not av["schools"].any()
    assert not av["confiscated"].any()
    # lights only supplied by comune B, reports only by comune A
    assert av["lighting_deficit"].tolist() == [False] * 3 + [True] * 3
    assert av["reports"].tolist() == [True] * 3 + [False] * 3
    assert av["homeless"].tolist() == av["reports"].tolist()
    # services are a census of the territory: present in one comune means measured everywhere
    assert av["service_distance"].all()
    assert av["harm_rate"].all()
    assert av["population"].all()
    summary = indicators.absent_summary(av, _base()["pro_com_t"], {"A": "Alfa", "B": "Beta"})
    assert set(summary["territory"]) == {"schools", "confiscated"}
    assert summary["comuni"] == {"reports": ["Beta"], "lighting_deficit": ["Alfa"], "homeless": ["Beta"]}


def test_weights_are_renormalised_over_the_indicators_a_cell_has():
    scores = pd.DataFrame(np.full((2, len(INDICATOR_KEYS)), 0.5), columns=list(INDICATOR_KEYS))
    av = pd.DataFrame(True, index=scores.index, columns=list(INDICATOR_KEYS))
    av.loc[1, ["confiscated", "service_distance"]] = False
    w = preset_weights("inclusione")
    c = cell_contributions(scores, w, av)
    # every cell scores 0.5 on what it has: both priorities are 50, not 50 x (1 - 25 %)
    np.testing.assert_allclose(c.sum(axis=1), [50.0, 50.0])
    assert c.loc[1, "confiscated"] == 0
    assert c.loc[1, "service_distance"] == 0
    pd.testing.assert_frame_equal(cell_contributions(scores, w), contributions(scores, w), check_names=False)
    all_absent = av.copy()
    all_absent["confiscated"] = False
    ew = effective_weights(w, all_absent)
    assert ew["confiscated"] == 0
    assert ew.sum() == pytest.approx(1.0)
    assert ew["homeless"] == pytest.approx(w["homeless"] / (1 - w["confiscated"]))


@pytest.fixture(scope="module")
def toy() -> zones.Prepared:
    """A small territory (a disk of 331 hexagons) with random scores, no hot spots, no layers."""
    cells = np.array(sorted(h3n.grid_disk(CENTRE, 10)), dtype=np.int64)
    n = len(cells)
    rng = np.random.default_rng(5)
    scores = pd.DataFrame(rng.random((n, len(INDICATOR_KEYS))) ** 3, index=pd.Index(cells, name="cell"),
                          columns=list(INDICATOR_KEYS))
    base = pd.DataFrame({"pro_com_t": "X", "residents": 100.0, "area_km2": HEX_KM2, "settled_km2": HEX_KM2,
                         "harm": 1.0, "incidents": 1.0, "night": 0.0, "lights": 1.0, "lights_broken": 0.0,
                         "lights_old": 0.0, "homeless_reports": 0.0}, index=scores.index)
    table = indicators.IndicatorTable(base=base, raw=scores, scores=scores, months=12)
    rows, cols = hexgrid.adjacency_pairs(cells)
    lat, lon = hexgrid.cell_centers(cells)
    empty = pd.DataFrame({"cell": pd.Series(dtype="int64"), "name": pd.Series(dtype=object),
                          "level": pd.Series(dtype=object), "public": pd.Series(dtype=bool),
                          "lat": pd.Series(dtype=float), "lon": pd.Series(dtype=float),
                          "category": pd.Series(dtype=object), "severity": pd.Series(dtype=float),
                          "reusable": pd.Series(dtype=bool)})
    hot = pd.DataFrame({"z": 0.0, "q": 1.0, "hotspot": "non significativo"}, index=scores.index)
    ehsa = pd.DataFrame({"pattern": "none", "kind": "none", "label": "nessuna tendenza"}, index=scores.index)
    return zones.Prepared(
        filters=zones.Filters(res=9), cells=cells, lat=lat, lon=lon, table=table, hot=hot, ehsa=ehsa, months=[],
        history=np.zeros((n, 0)), adj_rows=rows, adj_cols=cols, xy=zones.planar_km(cells), comuni={"X": "X"},
        schools=empty, services=empty, reports=empty, confiscated=empty, period=(None, None))


def test_zones_are_ranked_by_expected_benefit(toy):
    r = zones.rank_zones(toy, preset_weights("bilanciato"), draws=20)
    z = r.zones
    assert len(z) >= 5
    np.testing.assert_allclose(z["benefit"], z["priority"] * z["area_km2"], rtol=1e-9)
    assert z["benefit"].is_monotonic_decreasing
    # the mean alone would order them differently (otherwise this test shows nothing)
    assert not z["priority"].is_monotonic_decreasing
    # the robustness and the consensus rank the same measure: at the base weights rank = position
    assert z["rank_bilanciato"].tolist() == z["rank"].tolist()


def test_an_indicator_absent_from_the_territory_carries_no_weight(toy):
    av = pd.DataFrame(True, index=toy.table.scores.index, columns=list(INDICATOR_KEYS))
    av["confiscated"] = False
    prep = dataclasses.replace(toy, table=dataclasses.replace(toy.table, available=av))
    w = preset_weights("inclusione")
    r = zones.rank_zones(prep, w, draws=10)
    assert (r.hexes["c_confiscated"] == 0).all()
    assert (r.zones["c_confiscated"] == 0).all()
    # the same ranking as with the weight removed by hand
    by_hand = zones.rank_zones(toy, effective_weights(w, av), draws=10)
    np.testing.assert_allclose(r.hexes["priority"], by_hand.hexes["priority"], rtol=1e-9)
    assert r.zones["cells"].tolist() == by_hand.zones["cells"].tolist()
    # and different from keeping the weight on an indicator that says nothing
    stale = zones.rank_zones(toy, w, draws=10)
    assert not np.allclose(stale.hexes["priority"], r.hexes["priority"])


# --------------------------------------------------------------------------------------------
# The greedy baseline
# --------------------------------------------------------------------------------------------

def test_greedy_baseline_grows_contiguous_zones_from_the_best_seeds(toy):
    pr = toy.table.scores.sum(axis=1).to_numpy()
    area = np.full(len(pr), HEX_KM2)
    lab = baseline.greedy_zones(pr, area, toy.adj, min_km2=0.3, max_km2=1.0, n_zones=5)
    assert sorted(set(lab) - {0}) == [1, 2, 3, 4, 5]
    assert lab[int(np.argmax(pr))] == 1  # the best hexagon seeds the first zone
    adj = toy.adj.tocsr()
    for z in range(1, 6):
        idx = np.flatnonzero(lab == z)
        assert 0.3 - 1e-9 <= area[idx].sum() <= 1.0 + 1e-9
        sub = adj[idx][:, idx]
        from scipy.sparse.csgraph import connected_components
        assert connected_components(sub, directed=False)[0] == 1
    assert baseline.top_mass(pr, area, lab, 5) == pytest.approx(float((pr * area)[lab > 0].sum()))
    cand = zones.candidate_mask(pr, 0.1)
    bounded = baseline.greedy_zones(pr, area, toy.adj, min_km2=0.3, max_km2=1.0, n_zones=5, candidates=cand)
    # beyond the minimum size a bounded zone grows only through candidates
    for z in range(1, 6):
        idx = np.flatnonzero(bounded == z)
        if area[idx].sum() > 0.3 + HEX_KM2:
            assert cand[idx].sum() >= len(idx) - int(np.ceil(0.3 / HEX_KM2))


def test_the_page_note_names_what_dropped_out(toy):
    from geo.zones import report

    av = pd.DataFrame(True, index=toy.table.scores.index, columns=list(INDICATOR_KEYS))
    av["confiscated"] = False
    av.iloc[:10, list(INDICATOR_KEYS).index("lighting_deficit")] = False
    prep = dataclasses.replace(toy, table=dataclasses.replace(toy.table, available=av),
                               comuni={"X": "Comune di prova"})
    r = zones.rank_zones(prep, preset_weights("inclusione"), draws=5)
    assert r.params["absent"] == {"territory": ["confiscated"], "comuni": {"lighting_deficit": ["Comune di prova"]}}
    assert r.params["weights_effective"]["confiscated"] == 0
    note = report.absent_note(r)
    assert "Beni confiscati riutilizzabili" in note
    assert "pesi ridistribuiti" in note
    assert "Carenza di illuminazione: nessun dato fornito da Comune di prova" in note
    assert report.absent_note(zones.rank_zones(toy, preset_weights("inclusione"), draws=5)) is None


def _inner_edges_per_cell(adj, idx) -> float:
    return float(adj[idx][:, idx].sum() / 2 / len(idx))


def test_a_hot_core_stays_in_one_zone_and_pieces_are_compact():
    """A core of 19 hexagons at 95 points inside a 217-hexagon area at 60 (plus noise): the split
    of the large area keeps the core whole in the first zone, and every piece is compact."""
    cells = np.array(sorted(h3n.grid_disk(CENTRE, 20)), dtype=np.int64)
    area = np.full(len(cells), HEX_KM2)
    blob = np.isin(cells, h3n.grid_disk(CENTRE, 8))
    core = np.isin(cells, h3n.grid_disk(int(h3n.grid_ring(CENTRE, 5)[0]), 2))
    prio = np.where(core, 95.0, np.where(blob, 60.0, 1.0)) + np.random.default_rng(7).random(len(cells))
    labels = zones.delineate_zones(cells, prio, area, min_km2=0.3, max_km2=3.0,
                                   candidate_share=blob.sum() / len(cells))
    assert len(set(labels[core].tolist())) == 1
    assert labels[core][0] >= 0
    adj = zones.adjacency(cells)
    sizes = {z: int((labels == z).sum()) for z in set(labels.tolist()) - {-1}}
    big = [z for z, n in sizes.items() if n >= 15]
    assert big
    # a round zone of 19-28 hexagons has about 2.2 inner edges per hexagon, a line 1
    assert min(_inner_edges_per_cell(adj, np.flatnonzero(labels == z)) for z in big) >= 1.7
