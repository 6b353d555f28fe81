"""Gi* hot spots, emerging hot-spot classes, Mann-Kendall and the concentration curve."""

from __future__ import annotations

import esda
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
from libpysal.weights import W

from geo.zones import hotspots

ALPHA = 0.05
CENTRE = h3n.latlng_to_cell(44.035, 10.14, 9)


def disk(k: int) -> np.ndarray:
    return np.array(sorted(h3n.grid_disk(CENTRE, k)), dtype=np.int64)


@pytest.fixture(scope="module")
def grid() -> tuple[np.ndarray, object]:
    cells = disk(25)  # 1,951 hexagons
    return cells, hotspots.contiguity_weights(cells)


def independent_w(cells: np.ndarray) -> W:
    """Rook-like H3 contiguity built straight from h3, without the code under test."""
    pos = {int(c): i for i, c in enumerate(cells)}
    neighbours = {i: [pos[int(n)] for n in h3n.grid_ring(int(c), 1) if int(n) in pos] for i, c in enumerate(cells)}
    return W(neighbours, silence_warnings=True)


# --------------------------------------------------------------------------------------------
# Gi*
# --------------------------------------------------------------------------------------------

def test_gi_star_equals_esda_on_same_data_and_weights():
    cells = disk(12)
    y = np.random.default_rng(7).poisson(4, len(cells)).astype(float)
    y[:20] += 15  # some structure
    ours = hotspots.gi_star(cells, y, method="fdr")
    ref = esda.G_Local(y, independent_w(cells), transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours["g"].to_numpy(), ref.Gs, rtol=1e-12)
    np.testing.assert_allclose(ours["z"].to_numpy(), ref.Zs, rtol=1e-12)
    # esda's p_norm is one-sided; ours is the two-sided p of the same z
    np.testing.assert_allclose(ours["p"].to_numpy(), 2 * ref.p_norm, rtol=1e-12)
    assert ours.index.tolist() == cells.tolist()


def test_vectorised_z_equals_esda_on_the_log_counts_the_default_method_tests():
    cells = disk(12)
    y = np.log1p(np.random.default_rng(8).negative_binomial(1, 0.5, len(cells)).astype(float))
    ref = esda.G_Local(y, independent_w(cells), transform="B", star=True, permutations=0)
    neigh = hotspots.neighbourhood_matrix(hotspots.contiguity_weights(cells))
    np.testing.assert_allclose(hotspots.local_z(y, neigh), ref.Zs, rtol=1e-10)
    both = hotspots.local_z(np.column_stack([y, y[::-1]]), neigh)
    np.testing.assert_allclose(both[:, 0], ref.Zs, rtol=1e-10)


def test_edge_cells_have_fewer_neighbours_and_nothing_outside():
    cells = disk(3)
    w = hotspots.contiguity_weights(cells)
    card = pd.Series(w.cardinalities)
    assert card.loc[list(cells).index(CENTRE)] == 7  # itself and six neighbours
    assert card.min() < 7  # the ring on the edge sees only what is inside
    assert set(w.adjacency.index.get_level_values("neighbor")) <= set(range(len(cells)))


def test_planted_hot_spot_is_found(grid):
    """A cluster of 19 hexagons at four times the background rate is found; discoveries away from them
    (beyond the ring that shares their Gi* neighbourhood) stay rare."""
    cells, w = grid
    planted = np.isin(cells, h3n.grid_disk(CENTRE, 2))  # 19 hexagons
    near = np.isin(cells, h3n.grid_disk(CENTRE, 3))
    found, false_share = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        y = rng.poisson(2, len(cells))
        y[planted] = rng.poisson(8, planted.sum())
        res = hotspots.gi_star(cells, y, w=w, alpha=ALPHA)
        hot = (res["hotspot"] == hotspots.HOT).to_numpy()
        significant = (res["hotspot"] != hotspots.NONE).to_numpy()
        found.append(hot[planted].mean())
        false_share.append(significant[~near].sum() / max(significant.sum(), 1))
        assert (res["q"] >= res["p"] - 1e-15).all()
    # family-wise control costs power at the cluster's edge (its Gi* neighbourhoods mix in
    # background): the cluster is found in every run, about half of its hexagons flagged
    assert min(found) > 0
    assert np.mean(found) >= 0.4
    assert np.mean(false_share) <= ALPHA


def any_hot_share(cells, w, draw, runs, method):
    hits = 0
    for seed in range(runs):
        res = hotspots.gi_star(cells, draw(np.random.default_rng(100 + seed)), w=w, alpha=ALPHA, method=method)
        hits += bool((res["hotspot"] != hotspots.NONE).any())
    return hits / runs


NULLS = {
    "poisson_0.3": lambda rng, n: rng.poisson(0.3, n),
    "poisson_3": lambda rng, n: rng.poisson(3.0, n),
    "negbin": lambda rng, n: rng.negative_binomial(0.2, 0.2 / (0.2 + 0.5), n),  # mean 0.5, var/mean 3.5
}


@pytest.mark.parametrize("null", sorted(NULLS))
def test_complete_nulls_give_hot_spots_in_at_most_alpha_of_runs(grid, null):
    """Under complete spatial randomness any hot spot is false: the family-wise test reports
    one in at most alpha of the runs (plus Monte-Carlo error: 40 runs, binomial 95 % bound)."""
    cells, w = grid
    share = any_hot_share(cells, w, lambda rng: NULLS[null](rng, len(cells)), 40, "maxt")
    assert share <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / 40)


def test_the_former_fdr_method_fails_the_same_null_check(grid):
    """The check above can fail: BH on normal p-values of sparse counts finds "hot spots" in
    most runs of pure noise (the defect the max-statistic test removes)."""
    cells, w = grid
    share = any_hot_share(cells, w, lambda rng: NULLS["poisson_0.3"](rng, len(cells)), 20, "fdr")
    assert share > 0.5


def test_uncorrected_p_values_would_fail_the_nominal_rate_check(grid):
    """Raw p-values at 5 % flag about 5 % of random hexagons: a correction is needed."""
    cells, w = grid
    y = np.random.default_rng(100).poisson(3.0, len(cells))
    res = hotspots.gi_star(cells, y, w=w, method="fdr")
    assert (res["p"] <= ALPHA).mean() > ALPHA / 5


def test_same_counts_same_hot_spots(grid):
    cells, w = grid
    y = np.random.default_rng(3).poisson(1.0, len(cells))
    y[:30] += 4
    a, b = hotspots.gi_star(cells, y, w=w), hotspots.gi_star(cells, y, w=w)
    assert a["hotspot"].equals(b["hotspot"])
    assert a["q"].equals(b["q"])


def test_degenerate_values_are_not_significant():
    cells = disk(2)
    for y in (np.zeros(len(cells)), np.full(len(cells), 4.0)):
        res = hotspots.gi_star(cells, y)
        assert (res["hotspot"] == hotspots.NONE).all()
        assert (res["z"] == 0).all()


# --------------------------------------------------------------------------------------------
# Emerging hot spots
# --------------------------------------------------------------------------------------------

def seq(text: str) -> list[bool]:
    return [c == "1" for c in text]


@pytest.mark.parametrize(("hot", "cold", "trend", "expected"), [
    ("0000000001", "0000000000", 0, ("new", "caldo")),
    ("0000000111", "0000000000", 0, ("consecutive", "caldo")),
    ("1111111111", "0000000000", 1, ("intensifying", "caldo")),
    ("1111111111", "0000000000", 0, ("persistent", "caldo")),
    ("1111111111", "0000000000", -1, ("diminishing", "caldo")),
    ("0110010011", "0000000000", 0, ("sporadic", "caldo")),
    ("0000000101", "0000000000", 0, ("sporadic", "caldo")),
    ("0000000011", "0110000000", 0, ("oscillating", "caldo")),
    ("0000000001", "1000000000", 0, ("oscillating", "caldo")),
    ("1111111111" "0", "00000000000", 0, ("historical", "caldo")),
    ("0000000000", "0000000001", 0, ("new", "freddo")),
    ("0000000000", "1111111111", -1, ("intensifying", "freddo")),
    ("0000000000", "1111111111", 1, ("diminishing", "freddo")),
    ("1000000000", "0000000000", 0, ("none", None)),
    ("0000000000", "0000000000", 0, ("none", None)),
])
def test_classify_pattern(hot, cold, trend, expected):
    assert hotspots.classify_pattern(seq(hot), seq(cold), trend) == expected


def test_historical_needs_at_least_ten_bins():
    assert hotspots.classify_pattern(seq("11110"), seq("00000"), 0) == ("none", None)


def test_pattern_labels_are_italian():
    assert hotspots.pattern_label("new", hotspots.HOT) == "Nuovo punto caldo"
    assert hotspots.pattern_label("persistent", hotspots.COLD) == "Punto freddo persistente"
    assert hotspots.pattern_label("none", None) == hotspots.NO_PATTERN_LABEL


def test_time_bins_are_complete_and_end_with_the_last_month():
    bins = hotspots.time_bins(14, "Q")
    assert bins.tolist() == [-1, -1, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert (hotspots.time_bins(30, "Y") == np.repeat([-1, 0, 1], [6, 12, 12])).all()


def test_emerging_hot_spots_on_a_planted_history(grid):
    """48 months, 16 quarters: an area hot all along with growing counts, an area hot only in the
    last quarter, one hot in every quarter but the last, and a random background."""
    cells, w = grid
    rng = np.random.default_rng(3)
    months = 48
    counts = rng.poisson(1.0, (len(cells), months)).astype(float)
    far = list(h3n.grid_ring(CENTRE, 15))
    growing = np.isin(cells, h3n.grid_disk(CENTRE, 1))
    new = np.isin(cells, h3n.grid_disk(int(far[0]), 1))
    historical = np.isin(cells, h3n.grid_disk(int(far[len(far) // 2]), 1))
    counts[growing] += np.linspace(4, 12, months)
    counts[new, -3:] += 12
    counts[historical, :-3] += 8
    res = hotspots.emerging_hotspots(cells, counts, freq="Q", w=w)
    centre = res.loc[CENTRE]
    assert centre["n_bins"] == 16
    assert centre["hot_bins"] == 16
    assert (centre["pattern"], centre["kind"]) == ("intensifying", hotspots.HOT)
    assert centre["trend"] == 1
    assert centre["slope_per_year"] > 0
    assert res.loc[int(far[0]), "pattern"] == "new"
    assert res.loc[int(far[len(far) // 2]), "pattern"] == "historical"
    background = ~(np.isin(cells, h3n.grid_disk(CENTRE, 3)) | np.isin(cells, h3n.grid_disk(int(far[0]), 3))
                   | np.isin(cells, h3n.grid_disk(int(far[len(far) // 2]), 3)))
    assert (res["pattern"].to_numpy()[background] != "none").mean() < 0.01
    assert res["label"].isin([hotspots.NO_PATTERN_LABEL, *[hotspots.pattern_label(p, k) for p in hotspots.PATTERNS
                                                          for k in (hotspots.HOT, hotspots.COLD)]]).all()


def test_monthly_matrix_places_counts():
    from datetime import date

    cells = disk(1)
    months = [date(2024, m, 1) for m in (1, 2, 3)]
    series = pd.DataFrame({"cell": [cells[0], cells[2], 123], "month": [date(2024, 2, 1)] * 2 + [date(2024, 1, 1)],
                           "incidents": [4, 5, 9]})
    mat = hotspots.monthly_matrix(series, cells, months)
    assert mat.shape == (7, 3)
    assert mat.sum() == 9
    assert mat[0, 1] == 4
    assert mat[2, 1] == 5


# --------------------------------------------------------------------------------------------
# Mann-Kendall
# --------------------------------------------------------------------------------------------

def test_mann_kendall_batch_equals_pymannkendall():
    rng = np.random.default_rng(1)
    x = rng.poisson(3, size=(25, 72)).astype(float) + np.linspace(0, 3, 72) * rng.integers(0, 2, (25, 1))
    seasonal = hotspots.mann_kendall_batch(x, seasonal=True)
    original = hotspots.mann_kendall_batch(x[:, :30], seasonal=False)
    code = {"increasing": 1, "decreasing": -1, "no trend": 0}
    for k in range(len(x)):
        ref = pmk.seasonal_test(x[k], period=12)
        assert seasonal.loc[k, "p"] == pytest.approx(ref.p)
        assert seasonal.loc[k, "z"] == pytest.approx(ref.z)
        assert seasonal.loc[k, "slope_per_year"] == pytest.approx(ref.slope)
        assert seasonal.loc[k, "trend"] == code[ref.trend]
        ref = pmk.original_test(x[k, :30])
        assert original.loc[k, "p"] == pytest.approx(ref.p)
        assert original.loc[k, "z"] == pytest.approx(ref.z)
        assert original.loc[k, "slope_per_year"] == pytest.approx(ref.slope * 12)
        assert original.loc[k, "trend"] == code[ref.trend]
    assert set(seasonal["trend"]) == {0, 1}  # the planted trends are found, the others are not


def test_mann_kendall_uses_recent_whole_years():
    x = np.r_[np.full(6, 100.0), np.arange(24, dtype=float)]  # 30 months: 6 odd months dropped
    direction, p, slope = hotspots.mann_kendall(x)
    assert direction == 1
    assert p < 0.05
    assert slope == pytest.approx(12.0)


# --------------------------------------------------------------------------------------------
# Concentration
# --------------------------------------------------------------------------------------------

def test_concentration_curve_and_summary():
    curve = hotspots.concentration_curve(np.array([0, 10, 0, 0.0]), np.ones(4))
    assert curve["share_area"].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert curve["share_incidents"].tolist() == [0, 1, 1, 1, 1]
    s = hotspots.concentration_summary(curve, area_shares=(0.25, 0.125), incident_shares=(0.5,))
    assert s["incidents_in_area"] == {0.25: 1.0, 0.125: 0.5}
    assert s["area_for_incidents"][0.5] == pytest.approx(0.125)
    assert s["gini"] == pytest.approx(0.75)
    even = hotspots.concentration_summary(hotspots.concentration_curve(np.ones(10), np.ones(10)))
    assert even["gini"] == pytest.approx(0.0)
    assert even["incidents_in_area"][0.1] == pytest.approx(0.1)


def test_concentration_orders_by_density_not_count():
    # the second hexagon is half cut by the territory's edge: same count, twice the density
    curve = hotspots.concentration_curve(np.array([4.0, 4.0]), np.array([1.0, 0.5]))
    assert curve["share_area"].tolist() == pytest.approx([0, 1 / 3, 1.0])


def ehsa_any_class_share(cells, w, runs, method):
    hits = 0
    for seed in range(runs):
        rng = np.random.default_rng(500 + seed)
        # overdispersed series whose level differs between hexagons, then shuffled in space: the
        # time profile of each series is kept, any spatial pattern is gone
        level = rng.gamma(0.5, 0.6, len(cells))
        counts = rng.poisson(level[:, None] * np.ones((1, 24)))
        counts = counts[rng.permutation(len(cells))]
        res = hotspots.emerging_hotspots(cells, counts, freq="Q", w=w, method=method, permutations=99)
        hits += bool((res["pattern"] != "none").any())
    return hits / runs


def test_emerging_classes_are_calibrated_on_spatially_shuffled_series(grid):
    cells, w = grid
    share = ehsa_any_class_share(cells, w, 30, "maxt")
    assert share <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / 30)


def test_the_former_ungated_classes_fail_the_same_check(grid):
    cells, w = grid
    assert ehsa_any_class_share(cells, w, 10, "fdr") > 0.5
