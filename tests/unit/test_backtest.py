"""Noise floor and back-test of the hot-spot layer (geo.zones.backtest)."""

from __future__ import annotations

from datetime import date

import h3.api.numpy_int as h3n
import numpy as np
import pytest

from geo.zones import backtest, hotspots

CENTRE = h3n.latlng_to_cell(44.035, 10.14, 9)


@pytest.fixture(scope="module")
def grid():
    cells = np.array(sorted(h3n.grid_disk(CENTRE, 15)), dtype=np.int64)
    return cells, hotspots.contiguity_weights(cells)


def months(n: int) -> list[date]:
    return [date(2022 + i // 12, i % 12 + 1, 1) for i in range(n)]


def test_noise_floor_counts_the_test_own_shuffles(grid):
    cells, w = grid
    y = np.random.default_rng(1).poisson(0.5, len(cells))
    res = hotspots.gi_star(cells, y, w=w)
    floor = backtest.noise_floor(res)
    assert floor.shuffles == hotspots.PERMUTATIONS
    # by construction of the max-statistic test, at most about alpha of its shuffles pass it
    assert floor.share_with_any <= 0.06
    assert floor.median == 0
    # the former method has no noise floor of its own
    assert backtest.noise_floor(hotspots.gi_star(cells, y, w=w, method="fdr")) is None


def test_backtest_measures_equal_a_hand_computation(grid):
    cells, w = grid
    n = len(cells)
    rng = np.random.default_rng(2)
    planted = np.isin(cells, h3n.grid_disk(CENTRE, 1))
    lam = np.where(planted, 3.0, 0.05)
    history = rng.poisson(lam[:, None] * np.ones((1, 24)))
    area = np.full(n, 0.1)
    bt = backtest.backtest(cells, months(24), history, area, w=w)
    before, after = history[:, :12].sum(axis=1), history[:, 12:].sum(axis=1)
    hot = (hotspots.gi_star(cells, before, w=w)["hotspot"] == hotspots.HOT).to_numpy()
    hit = after[hot].sum() / after.sum()
    assert bt.train == (date(2022, 1, 1), date(2022, 12, 1))
    assert bt.test == (date(2023, 1, 1), date(2023, 12, 1))
    assert bt.hot_cells == hot.sum() > 0
    assert bt.hit_rate == pytest.approx(hit)
    assert bt.pai == pytest.approx(hit / (hot.sum() / n))
    assert bt.pei_star == pytest.approx(after[hot].sum() / np.sort(after)[::-1][: hot.sum()].sum())
    assert 0 < bt.pei_star <= 1
    assert bt.pai > 1


def test_backtest_needs_two_years_and_enough_incidents(grid):
    cells, w = grid
    assert backtest.backtest(cells, months(20), np.zeros((len(cells), 20)), np.ones(len(cells)), w=w) is None
    sparse = np.zeros((len(cells), 24))
    sparse[0, :] = 1  # 12 incidents a year: too few to publish shares
    bt = backtest.backtest(cells, months(24), sparse, np.ones(len(cells)), w=w)
    assert bt is not None
    assert bt.hit_rate is None
    assert bt.pai is None
    lines = backtest.evidence_lines(0, None, bt)
    assert "troppo pochi delitti" in lines[0]


def test_evidence_lines_speak_italian_numbers():
    bt = backtest.Backtest((date(2023, 1, 1), date(2023, 12, 1)), (date(2024, 1, 1), date(2024, 12, 1)),
                           hot_cells=279, area_share=0.0258, hit_rate=0.664, pai=25.7, pei_star=0.96)
    text = " ".join(backtest.evidence_lines(443, backtest.NoiseFloor(199, 0.0, 2, 0.045), bt))
    assert "le zone calde del 2023 (2,6 % della superficie) contenevano il 66 % dei delitti del 2024" in text
    assert "PAI 25,7" in text
    assert "PEI* 0,96" in text
    assert "4,5 %" in text
