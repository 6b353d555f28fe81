"""The adversary of issue 11: every view a role without clearance can ask for on the demo, combined
by integer bound propagation (:mod:`geo.access.disclosure_audit`).

A subset of the slices runs here (2024, all categories / one category / the others, all hours /
day / night, the monthly totals of the trends); ``scripts/bench_disclosure.py`` runs the full set
(both halves of the year too, several secrets) and prints the figures.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from geo.access import disclosure, disclosure_audit
from geo.data.filters import Filters
from geo.data.storage import CELL_KEY_SECRET_ENV, Store
from geo.overview import metrics, trends

ROLE = "regione"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from geo.demo.build import build_demo

    mp = pytest.MonkeyPatch()
    mp.setenv(CELL_KEY_SECRET_ENV, "test-secret-of-the-attack")
    path = tmp_path_factory.mktemp("attack") / "demo.duckdb"
    build_demo(path=path)
    store = Store(path, read_only=True)
    yield store
    store.close()
    mp.undo()


@pytest.fixture(scope="module")
def views(demo_store):
    return disclosure_audit.build_views(demo_store, disclosure_audit.demo_slices(2024, halves=False), role=ROLE)


def test_views_are_what_the_pages_publish(demo_store, views):
    """The attack's view cells carry the values the map, the KPI strip and Andamento show."""
    nodes = views.nodes
    for i, sl in enumerate(views.slices):
        if sl.totals_only or sl.categories:
            continue
        for res, comuni in ((7, ()), (9, ("045010",))):
            f = Filters(res=res, comuni=comuni, start=sl.start, end=sl.end, time_band=sl.time_band)
            shown = metrics.protect_frame(metrics.hex_metrics(demo_store, f), ROLE).set_index("cell")["incidents"]
            comune = comuni[0] if comuni else ""
            sub = nodes[(nodes["slice"] == i) & (nodes["res"] == res) & (nodes["comune"] == comune)]
            sub = sub.set_index("hex")["published"]
            assert (shown.reindex(sub.index) == sub).all()
            assert (shown.drop(sub.index) == 0).all()  # hexagons outside the attack publish 0
        kpi = metrics.protect_kpis(metrics.kpis(demo_store, Filters(start=sl.start, end=sl.end,
                                                                     time_band=sl.time_band)), ROLE)
        total = nodes[(nodes["slice"] == i) & (nodes["res"] == 0) & (nodes["comune"] == "")]["published"].iloc[0]
        assert kpi.incidents == total
    month = next(i for i, sl in enumerate(views.slices) if sl.totals_only and sl.time_band is None
                 and sl.start == date(2024, 3, 1))
    series = trends.incident_series(demo_store, Filters(start=date(2024, 1, 1), end=date(2024, 12, 1)),
                                    by="pro_com_t", role=ROLE)
    march = series[series["period"] == date(2024, 3, 1)].set_index("key")["incidents"]
    sub = nodes[(nodes["slice"] == month) & (nodes["res"] == 0) & (nodes["comune"] != "")].set_index("comune")
    assert (march.reindex(sub.index) == sub["published"]).all()


def test_the_attack_recovers_nothing_from_the_protected_views(views):
    result = disclosure_audit.attack(views)
    summary = result.summary()
    print("\nprotected:", summary)
    assert result.small > 10_000  # the demo has many small counts in these views
    assert result.wrong == 0  # the solver is sound
    assert result.exact == 0
    assert summary["width_median"] >= 3  # a small count usually stays anywhere in 0..4 or 1..5


def test_the_same_attack_recovers_counts_under_plain_suppression(views):
    """Old-style views ("< 3" for 1-2, exact values otherwise): differencing gives them back."""
    result = disclosure_audit.attack(views, baseline=True)
    print("\nplain suppression:", result.summary())
    assert result.wrong == 0
    assert result.exact > 0.5 * result.small


def test_no_published_count_is_small(views):
    published = views.nodes["published"].to_numpy()
    assert not ((published >= 1) & (published < disclosure.threshold())).any()
    true = views.nodes["true"].to_numpy()
    far = true >= disclosure.threshold() + disclosure.MAX_NOISE
    assert (np.abs(published - true)[far] <= disclosure.MAX_NOISE).all()


def test_propagation_pins_a_count_when_the_views_allow_it():
    """The solver itself: parent 5 = children (3, x, 0) with x in 1..2 gives x = 2."""
    lo = np.array([5, 3, 1, 0])
    hi = np.array([5, 3, 2, 0])
    rel = [(np.array([0]), np.array([0, 3]), np.array([1, 2, 3]))]
    lo, hi, _ = disclosure_audit.propagate(lo, hi, rel)
    assert (lo[2], hi[2]) == (2, 2)
