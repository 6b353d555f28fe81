"""Secondary (complementary) suppression: no published total lets a reader recover a hidden small
count by subtraction (geo.access.privacy.complementary_suppression, geo.overview.metrics)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from geo.access.privacy import COUNT_LABEL, DERIVED_LABEL, apply_suppression, complementary_suppression
from geo.overview import metrics

T = 3  # the default threshold; the tests pass it explicitly


def _feasible_values(values: np.ndarray, primary: np.ndarray, extra: np.ndarray, idx: np.ndarray) -> dict:
    """What a reader can deduce in one group: every assignment of the hidden cells that agrees with
    the group's total and with the labels ("< 3": 1..2; "riservato": 0 or >= 3). Returns, for each
    hidden small count, the set of values it can take."""
    hidden = [i for i in idx if primary[i] or extra[i]]
    total = int(values[hidden].sum())
    domains = [range(1, T) if primary[i] else [0, *range(T, total + 1)] for i in hidden]
    seen: dict[int, set] = {i: set() for i in hidden if primary[i]}
    for combo in itertools.product(*domains):
        if sum(combo) == total:
            for i, v in zip(hidden, combo, strict=True):
                if i in seen:
                    seen[i].add(v)
    return seen


@pytest.mark.parametrize("seed", range(60))
def test_no_hidden_count_can_be_recovered_from_the_totals(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    values = rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 7, 12], size=n)
    groups = rng.choice(["a", "b"], size=n)
    extra, unprotected = complementary_suppression(values, [groups, np.zeros(n)], "osservatore", threshold=T)
    primary = (values >= 1) & (values < T)
    assert not (extra & primary).any()
    failed = {label for k, label in unprotected if k == 0}
    for label in set(groups) - failed:
        idx = np.flatnonzero(groups == label)
        for i, options in _feasible_values(values, primary, extra, idx).items():
            assert len(options) >= 2, (values.tolist(), groups.tolist(), i, options)
    # a group reported unprotected really is: some small count has a single possible value
    for label in failed:
        idx = np.flatnonzero(groups == label)
        assert any(len(o) == 1 for o in _feasible_values(values, primary, extra, idx).values())


@pytest.mark.parametrize("values, expected_extra, unprotected", [
    ([1, 5, 0, 3], [False, True, False, False], []),       # 1 needs a cell that may drop: 5, not 3
    ([1, 1, 10, 20], [False, False, True, False], []),     # two 1s with their sum published: both known
    ([2, 3, 0], [False, True, False], []),                 # 2 may drop if 3 may rise
    ([2, 1, 0], [False, False, False], []),                # 2 + 1: either could be the 2
    ([1, 3, 3, 0], [False, False, False, False], [(0, 0)]),  # only 3s: 1 + 3 = 4 has one reading
    ([0, 4, 9], [False, False, False], []),                # nothing small: nothing hidden
])
def test_cases_by_hand(values, expected_extra, unprotected):
    extra, failed = complementary_suppression(values, [np.zeros(len(values))], "comune", threshold=T)
    assert extra.tolist() == expected_extra and failed == unprotected


def test_hidden_zeros_protect_nothing():
    values = np.array([2, 0, 0, 0])
    extra, failed = complementary_suppression(values, [np.zeros(4)], "comune", threshold=T)
    assert not extra.any() and failed == [(0, 0)]


def test_cleared_roles_need_nothing():
    extra, failed = complementary_suppression([1, 5, 7], [np.zeros(3)], "forze_polizia")
    assert not extra.any() and failed == []


def test_apply_suppression_labels_complementary_cells_as_reserved():
    frame = pd.DataFrame({"n": [1, 5, 9], "rate": [0.1, 0.5, 0.9]})
    extra = pd.DataFrame({"n": [False, True, False]})
    display, mask = apply_suppression(frame, ["n"], {"rate": ["n"]}, "regione", extra=extra)
    assert display["n"].tolist() == [COUNT_LABEL, DERIVED_LABEL, "9"]
    assert display["rate"].tolist() == [DERIVED_LABEL, DERIVED_LABEL, "0,9"]
    assert mask["n"].tolist() == [True, True, False]
    police, _ = apply_suppression(frame, ["n"], {"rate": ["n"]}, "prefettura", extra=extra)
    assert police["n"].tolist() == ["1", "5", "9"]


def _frame() -> pd.DataFrame:
    """Hexagons of two comuni: Massa has one small count (2) next to 7 and 4; Carrara has none."""
    return pd.DataFrame({
        "cell": [1, 2, 3, 4, 5], "h3": list("abcde"), "pro_com_t": ["M", "M", "M", "C", "C"],
        "comune": ["Massa"] * 3 + ["Carrara"] * 2, "residents": [500.0] * 5, "area_km2": [0.1] * 5,
        "incidents": [2, 7, 4, 6, 3], "night": [0, 3, 4, 3, 0], "day": [2, 4, 0, 3, 3],
        "rate_per_1000": [1.0] * 5, "per_km2": [1.0] * 5, "night_share": [0.0, 0.43, 1.0, 0.5, 0.0],
        "reports_open": [0] * 5, "reports_open_severity": [0] * 5, "lights": [1] * 5, "lights_broken": [0] * 5,
        "lights_old": [0] * 5, "lights_broken_share": [0.0] * 5, "schools": [0] * 5, "services": [0] * 5,
        "confiscated": [0] * 5,
    })


def test_map_table_hides_a_second_hexagon_in_the_same_comune():
    frame = _frame()
    comp = metrics.complementary_mask(frame, "osservatore")
    assert comp["incidents"].tolist() == [False, False, True, False, False]  # 4 protects 2 (Massa)
    _, text, hidden = metrics.map_table(frame, "osservatore")
    assert text["Delitti"].tolist() == [COUNT_LABEL, "7", DERIVED_LABEL, "6", "3"]
    assert hidden["Delitti ogni 1.000 residenti all'anno"].tolist() == [True, False, True, False, False]
    # the reader's arithmetic: Massa's total (13) - 7 = 6 = the two hidden cells: 2 + 4 or 1 + 5
    assert metrics.complementary_mask(frame, "forze_polizia").to_numpy().sum() == 0
    tooltip_text, _ = metrics.suppress_frame(frame, "osservatore", columns=["incidents"])
    assert tooltip_text["incidents"].tolist() == [COUNT_LABEL, "7", DERIVED_LABEL, "6", "3"]


def test_kpi_total_is_hidden_when_nothing_can_protect_a_small_count():
    frame = _frame().assign(incidents=[1, 3, 3, 0, 3], night=[0] * 5, day=[1, 3, 3, 0, 3])
    assert metrics.exposed_totals(frame) == frozenset({"incidents", "day"})
    assert metrics.exposed_totals(frame, role="prefettura") == frozenset()
    k = metrics.Kpis(incidents=10, night=0, residents=2500.0, months=12, start=None, end=None, previous=None,
                     previous_start=None, previous_end=None, reports_open=0, lights=5, lights_broken=0, schools=0,
                     services=0, exposed=metrics.exposed_totals(frame))
    cards = {c.label: c.value for c in metrics.kpi_cards(k, "comune")}
    assert cards["Delitti nel periodo"] == COUNT_LABEL
    assert cards["Tasso per 1.000 ab./anno"] == DERIVED_LABEL and cards["Quota notturna (20-6)"] == DERIVED_LABEL
    police = {c.label: c.value for c in metrics.kpi_cards(k, "forze_polizia")}
    assert police["Delitti nel periodo"] == "10"
    safe = {c.label: c.value for c in metrics.kpi_cards(replace(k, exposed=frozenset()), "comune")}
    assert safe["Delitti nel periodo"] == "10"


def test_sorting_does_not_reveal_complementary_cells():
    frame = _frame()
    order = metrics.sort_for_role(frame, "incidents", "osservatore")["h3"].tolist()
    # hidden values (2 and the complementary 4) sort as one tie below the published ones
    assert order == ["b", "d", "e", "a", "c"]
