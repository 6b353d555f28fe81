"""*Scuole sicure* (:mod:`geo.services.schools`): the area around a school, the counts, the rate ratio and
its interval (exact Poisson, and with the overdispersion of the reference), the minimum expected
count, the similar areas and the ranking, against figures computed by hand on a tiny database;
the calibration of the intervals on simulated counts; what a role without clearance sees."""

from __future__ import annotations

import json
import math
import re
from datetime import date

import h3
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, binomtest

from geo.access import disclosure
from geo.access.privacy import COUNT_LABEL, DERIVED_LABEL
from geo.data import hexgrid
from geo.data.storage import Store
from geo.services import schools as ex

MASSA = "045010"
C0 = h3.str_to_int(h3.latlng_to_cell(44.035, 10.14, 10))
CELL_AREA = hexgrid.cell_area_km2(10)


def centre(cell: int) -> tuple[float, float]:
    return h3.cell_to_latlng(h3.int_to_str(int(cell)))


def ring(cell: int, k: int) -> list[int]:
    return sorted(h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(int(cell)), k))


def disk(cell: int, k: int) -> set[int]:
    return {int(c) for c in hexgrid.neighbours(int(cell), k)}


# --------------------------------------------------------------------------------------------
# Rate ratio
# --------------------------------------------------------------------------------------------

def cp_ratio(o1: int, e1: float, o2: int, e2: float) -> tuple[float, float]:
    """Exact interval by hand: Clopper-Pearson on o1 of o1 + o2 (scipy's binomtest), mapped to RR."""
    ci = binomtest(o1, o1 + o2).proportion_ci(confidence_level=0.95, method="exact")
    to_rr = lambda p: p / (1 - p) * e2 / e1  # noqa: E731
    return to_rr(ci.low), (math.inf if ci.high >= 1 else to_rr(ci.high))


@pytest.mark.parametrize(("o1", "e1", "o2", "e2"), [(7, 7, 6, 324), (6, 10, 12, 100), (1, 5, 40, 50),
                                                    (30, 12, 30, 12), (3, 7, 2, 84)])
def test_rate_ratio_matches_the_exact_interval_by_hand(o1, e1, o2, e2):
    rr, low, high = ex.rate_ratio(o1, e1, o2, e2)
    assert float(rr) == pytest.approx((o1 / e1) / (o2 / e2))
    lo_hand, hi_hand = cp_ratio(o1, e1, o2, e2)
    assert float(low) == pytest.approx(lo_hand, rel=1e-9)
    assert float(high) == pytest.approx(hi_hand, rel=1e-9)
    # Defining property of the exact limits: each tail holds 2.5 % of the binomial split.
    n = o1 + o2
    p_low = float(low) * e1 / (float(low) * e1 + e2)
    p_high = float(high) * e1 / (float(high) * e1 + e2)
    assert binom.sf(o1 - 1, n, p_low) == pytest.approx(0.025, abs=1e-9)
    assert binom.cdf(o1, n, p_high) == pytest.approx(0.025, abs=1e-9)


def test_rate_ratio_edge_cases():
    rr, low, high = ex.rate_ratio([0, 5, 0, 2], [7, 7, 7, 0], [13, 0, 0, 3], [324, 324, 324, 10])
    assert rr[0] == 0
    assert low[0] == 0
    assert high[0] == pytest.approx((1 - 0.025 ** (1 / 13)) / 0.025 ** (1 / 13)
                                                                   * 324 / 7)
    assert math.isinf(rr[1])
    assert math.isinf(high[1])
    assert low[1] > 0
    assert np.isnan([rr[2], low[2], high[2]]).all()  # no events at all
    assert np.isnan([rr[3], low[3], high[3]]).all()  # no exposure
    assert ex.exposure_level(np.array([5.0, 1.2, 0.3, np.nan]), np.array([1.5, 0.8, 0.1, np.nan]),
                             np.array([9.0, 2.0, 0.9, np.nan])).tolist() == ["alta", "media", "bassa", "nd"]
    # below the minimum expected count: "ins" whatever the interval; no reference stays "nd"
    assert ex.exposure_level(np.array([5.0, 5.0, np.nan]), np.array([1.5, 1.5, np.nan]), np.array([9.0, 9.0, np.nan]),
                             np.array([4.9, 5.0, 0.0])).tolist() == ["ins", "alta", "nd"]


def test_overdispersed_interval_is_the_exact_one_on_effective_counts():
    """With dispersion φ a count O carries the information of O / φ Poisson events: φ times the
    events with dispersion φ give the exact interval of the plain counts."""
    for o1, e1, o2, e2, phi in [(28, 7, 24, 324, 4.0), (15, 9, 150, 210, 3.0), (0, 9, 60, 210, 6.0)]:
        exact = ex.rate_ratio(o1 / phi, e1, o2 / phi, e2)
        wide = ex.rate_ratio(o1, e1, o2, e2, dispersion=phi)
        assert np.allclose(np.asarray(wide), np.asarray(exact), rtol=1e-9)
    rr, low, high = ex.rate_ratio(28, 7, 24, 324, dispersion=4.0)
    rr0, low0, high0 = ex.rate_ratio(28, 7, 24, 324)
    assert float(rr) == float(rr0)
    assert low < low0
    assert high > high0
    # φ below 1 is not used to narrow the interval
    assert np.allclose(ex.rate_ratio(28, 7, 24, 324, dispersion=0.3), (rr0, low0, high0))
    # different dispersions of area and reference: effective counts over effective exposures
    rr, low, high = ex.rate_ratio(30, 9, 100, 210, dispersion=2.0, area_dispersion=5.0)
    ref = ex.rate_ratio(30 / 5, 9 / 5, 100 / 2, 210 / 2)
    assert float(rr) == pytest.approx((30 / 9) / (100 / 210))
    assert (float(low), float(high)) == (pytest.approx(float(ref[1])), pytest.approx(float(ref[2])))


def test_estimated_dispersion_widens_like_student_t():
    assert float(ex.interval_level(0.95)) == 0.95
    from scipy.stats import norm, t
    assert float(ex.interval_level(0.95, 4)) == pytest.approx(2 * norm.cdf(t.ppf(0.975, 4)) - 1)
    _, lo_known, hi_known = ex.rate_ratio(40, 9, 100, 210, dispersion=3.0)
    _, lo_est, hi_est = ex.rate_ratio(40, 9, 100, 210, dispersion=3.0, df=5)
    assert lo_est < lo_known
    assert hi_est > hi_known


def test_block_dispersion_by_hand():
    # blocks of 7 with 0, 10 and 2 events: mean 4 each, chi2 = (16 + 36 + 4) / 4 = 14 on 2 df
    phi, df = ex.block_dispersion([0, 10, 2], [7, 7, 7])
    assert (float(phi), float(df)) == (7.0, 2.0)
    # unequal blocks: expected mu * n
    phi, df = ex.block_dispersion([0, 6], [2, 8])  # mu = 0.6: expected 1.2 and 4.8
    assert float(phi) == pytest.approx(1.2 ** 2 / 1.2 + 1.2 ** 2 / 4.8)
    assert float(df) == 1.0
    assert float(ex.block_dispersion([2, 2, 2], [7, 7, 7])[0]) == 1.0  # under-dispersed: floor 1
    assert tuple(map(float, ex.block_dispersion([0, 0], [7, 7]))) == (1.0, math.inf)
    assert tuple(map(float, ex.block_dispersion([5], [7]))) == (1.0, math.inf)
    # vectorised over leading axes
    phi, df = ex.block_dispersion(np.array([[0, 10, 2], [2, 2, 2]]), np.full((2, 3), 7))
    assert phi.tolist() == [7.0, 1.0]
    assert df.tolist() == [2.0, 2.0]


def test_area_dispersion_by_hand():
    # 1 + (phi - 1) * c * max(RR, 1)
    got = ex.area_dispersion([5.0, 5.0, 5.0, 0.5, 5.0], [3.0, 0.2, np.inf, 3.0, 2.0], [1.0, 1.0, 1.0, 1.0, 0.5])
    assert got.tolist() == [13.0, 5.0, 5.0, 1.0, 5.0]


def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "bench_exposure.py"
    spec = importlib.util.spec_from_file_location("bench_exposure", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("ratio", [1.0, 2.0, 4.0])
def test_new_intervals_cover_under_overdispersion_and_the_old_ones_do_not(ratio):
    """Issue 10: clustered negative-binomial counts with block dispersion 15 (the issue's figure),
    10 incidents expected: the new intervals keep ~95 % coverage, the exact Poisson ones do not."""
    bench = _bench()
    sim = bench.simulate(runs=400, ratio=ratio, expected=10.0, phi=15.0, rng=np.random.default_rng(7))
    r = bench.evaluate(sim, ratio)
    assert r["new"]["coverage"] >= 0.90
    assert r["old"]["coverage"] < 0.70
    if ratio == 1.0:  # false "alta"
        assert r["new"]["alta"] <= 0.025
        assert r["old"]["alta"] > 0.10


def test_new_intervals_stay_calibrated_on_poisson_counts():
    bench = _bench()
    for ratio in (1.0, 4.0):
        sim = bench.simulate(runs=400, ratio=ratio, expected=10.0, phi=1.0, rng=np.random.default_rng(3))
        r = bench.evaluate(sim, ratio)
        assert r["new"]["coverage"] >= 0.93
        assert r["old"]["coverage"] >= 0.92


# --------------------------------------------------------------------------------------------
# The area around a school
# --------------------------------------------------------------------------------------------

def test_school_area_follows_the_walking_distance():
    lat, lon = centre(C0)
    schools = pd.DataFrame({"code": ["S"], "lat": [lat], "lon": [lon]})
    # 200 m on foot = 154 m in a straight line: the school's cell and its six neighbours (~131 m).
    assert set(ex.school_cells(schools, walk_m=200)["cell"]) == disk(C0, 1)
    # 400 m = 308 m: two full rings (centres at most ~262 m away), none of the third (≥ ~340 m).
    assert set(ex.school_cells(schools, walk_m=400)["cell"]) == disk(C0, 2)
    # 50 m: only the school's own cell, even if no centre is that close.
    assert set(ex.school_cells(schools.assign(lat=lat + 0.0003), walk_m=50)["cell"]) == {C0}


def test_candidate_disk_holds_the_whole_circle():
    lat, lon = centre(C0)
    schools = pd.DataFrame({"code": ["S"], "lat": [lat + 0.0004], "lon": [lon - 0.0005]})
    for walk in (150, 300, 650, 1000):
        radius = walk / 1.3
        brute = hexgrid.neighbours(C0, 15)
        clat, clon = hexgrid.cell_centers(brute)
        d = np.array([ex.haversine_m(schools.lat[0], schools.lon[0], a, b) for a, b in zip(clat, clon,
                                                                                          strict=True)])
        expected = set(brute[d <= radius].tolist()) | {C0}
        got = ex.school_cells(schools, walk_m=walk)
        assert set(got["cell"]) == expected
        assert got["distance_m"].max() <= max(radius, got.loc[got["cell"] == C0, "distance_m"].iloc[0])


# --------------------------------------------------------------------------------------------
# Hand-made database
# --------------------------------------------------------------------------------------------

C2 = ring(C0, 6)[0]              # second school, far enough for disjoint areas
N1, N2 = ring(C0, 1)[:2]         # inside the first school's area
R1, R2, R3 = ring(C0, 4)[:3]     # reference hexagons


def build_store(path) -> Store:
    """One comune = the 331 cells within 10 steps of C0, 3 residents each (sparse everywhere)."""
    store = Store(path)
    cells = sorted(disk(C0, 10))
    arr = np.array(cells)
    cell_rows = pd.DataFrame({
        "cell": cells, "r9": hexgrid.cell_to_parent(arr, 9), "r8": hexgrid.cell_to_parent(arr, 8),
        "r7": hexgrid.cell_to_parent(arr, 7), "pro_com_t": MASSA, "residents": 3.0, "pop_method": "test"})
    (la0, lo0), (la2, lo2) = centre(C0), centre(C2)
    schools = pd.DataFrame({
        "code": ["MSEE00001D", "MSEE00002D"], "name": ["=Scuola <b>Uno</b>", "Scuola Due"],
        "level": ["primaria", "secondaria_i"], "pro_com_t": MASSA, "lon": [lo0, lo2], "lat": [la0, la2],
        "cell": [C0, C2], "students": [200, 300], "address": None, "synthetic": True, "source": "test",
        "import_id": None})

    def inc(cell, month, cat, band, n):
        return {"cell": cell, "month": month, "category": cat, "time_band": band, "outdoor": True, "count": n,
                "synthetic": True, "source": "test", "import_id": None}

    incidents = pd.DataFrame([
        inc(C0, date(2024, 10, 1), "stupefacenti", "giorno", 4),
        inc(N1, date(2024, 11, 1), "lesioni_minacce", "notte", 2),
        inc(N2, date(2024, 7, 1), "rapine", "giorno", 1),
        inc(C0, date(2024, 3, 1), "furti_altri", "giorno", 5),
        inc(R1, date(2024, 2, 1), "stupefacenti", "giorno", 3),
        inc(R2, date(2024, 5, 1), "lesioni_minacce", "giorno", 3),
        inc(C2, date(2024, 4, 1), "furti_altri", "notte", 1),
        inc(C0, date(2023, 6, 1), "stupefacenti", "giorno", 10),  # before the period
    ])

    def report(rid, cell, cat, status):
        lat, lon = centre(cell)
        return {"report_id": rid, "pro_com_t": MASSA, "lon": lon, "lat": lat, "cell": cell, "category": cat,
                "severity": 2, "status": status, "opened": date(2024, 5, 1), "synthetic": True, "source": "test"}

    reports = pd.DataFrame([report("R1", C0, "spaccio_assembramenti", "nuova"),
                            report("R2", N1, "illuminazione_guasta", "presa_in_carico"),
                            report("R3", N1, "rifiuti_abbandonati", "risolta"),
                            report("R4", R1, "bivacco_marginalita", "nuova")])

    def light(i, cell, status):
        lat, lon = centre(cell)
        return {"pl_id": f"PL-{i}", "lon": lon, "lat": lat, "cell": cell, "pro_com_t": MASSA, "technology": "led",
                "status": status, "synthetic": True}

    lights = pd.DataFrame([light(i, C0, "guasto" if i == 0 else "funzionante") for i in range(4)]
                          + [light(10 + i, R3, "funzionante") for i in range(16)])
    with store.transaction() as cur:
        Store.write_frame(cur, "cells", cell_rows)
        Store.write_frame(cur, "comuni", pd.DataFrame({"pro_com_t": [MASSA], "nome": ["Massa"], "residenti": [993]}))
        Store.write_frame(cur, "schools", schools)
        Store.write_frame(cur, "incidents", incidents)
        Store.write_frame(cur, "reports", reports)
        Store.write_frame(cur, "lighting", lights)
    return store


@pytest.fixture
def tiny(tmp_path) -> Store:
    store = build_store(tmp_path / "scuole.duckdb")
    yield store
    store.close()


def exposure_of(store: Store, **kw) -> ex.Exposure:
    return ex.compute_exposure(store, walk_m=200, start=date(2024, 1, 1), end=date(2024, 12, 1), months=12, **kw)


def test_counts_rate_ratio_and_interval_by_hand(tiny):
    result = exposure_of(tiny)
    s1 = result.schools.set_index("code").loc["MSEE00001D"]
    s2 = result.schools.set_index("code").loc["MSEE00002D"]
    assert s1["n_cells"] == 7
    assert s2["n_cells"] == 7
    assert (s1["spaccio_all"], s1["violenza_all"], s1["focus_all"], s1["other"]) == (4, 3, 7, 5)
    assert (s1["cat_rapine"], s1["cat_lesioni_minacce"], s1["cat_furti_altri"]) == (1, 2, 5)
    # School time: day band in school months only (the July robbery and the November night assault are out).
    assert s1["focus_scuola"] == 4
    assert s1["focus_school_est"] == pytest.approx(4 * 45 / 98)
    assert s1["focus_outside_est"] == pytest.approx(7 - 4 * 45 / 98)
    assert s1["focus_per_km2_year"] == pytest.approx(7 / (7 * CELL_AREA))
    # Reference: the other 324 cells of the comune (same class), with 3 + 3 focus incidents.
    assert s1["density_class"] == 1
    assert s1["reference"] == "simili"
    assert (s1["ref_cells"], s1["ref_focus"]) == (324, 6)
    # 7 x 6 / 324 = 0.13 expected: no ratio (54 "times the average" would be noise)
    assert s1["expected"] == pytest.approx(7 * 6 / 324)
    assert np.isnan([s1["rr"], s1["rr_low"], s1["rr_high"], s1["rr_spaccio"]]).all()
    assert s1["exposure_level"] == "ins"
    # The second school: no focus incident; its reference holds the first school's 7.
    assert (s2["focus_all"], s2["ref_cells"], s2["ref_focus"]) == (0, 324, 13)
    assert s2["expected"] == pytest.approx(7 * 13 / 324)
    assert s2["exposure_level"] == "ins"
    # Reports (open only) and lighting.
    assert (s1["reports_open"], s1["reports_public_order"], s1["reports_lighting"]) == (2, 1, 1)
    assert (s1["lights"], s1["lights_broken"]) == (4, 1)
    assert s1["comune_broken_share"] == pytest.approx(1 / 20)
    assert (s2["lights"], s2["reports_open"]) == (0, 0)
    assert result.schools["rank"].tolist() == [1, 2]
    assert result.schools.loc[0, "code"] == "MSEE00001D"
    with pytest.MonkeyPatch.context() as mp:  # without the minimum: the exact Poisson figures by hand
        mp.setattr(ex, "MIN_EXPECTED", 0.0)
        s1 = exposure_of(tiny).schools.set_index("code").loc["MSEE00001D"]
    # the 324 reference cells hold 3 + 3 events in two blocks: dispersion from the blocks
    assert s1["rr"] == pytest.approx(54.0)
    assert s1["dispersion"] >= 1.0
    assert math.isfinite(s1["dispersion_df"])


def test_school_hours_basis(tiny, monkeypatch):
    monkeypatch.setattr(ex, "MIN_EXPECTED", 0.0)
    s1 = exposure_of(tiny, basis="scuola").schools.set_index("code").loc["MSEE00001D"]
    # 4 school-time focus incidents around the school, 3 + 3 in the reference (February and May, by day).
    assert s1["rr"] == pytest.approx((4 / 7) / (6 / 324))
    assert s1["expected"] == pytest.approx(7 * 6 / 324)


def test_comune_figures(tiny):
    row = exposure_of(tiny).by_comune.iloc[0]
    assert (row["schools"], row["students"], row["alta"], row["focus_near"], row["focus_total"]) == (2, 500, 0, 7, 13)
    assert row["focus_share"] == pytest.approx(7 / 13)
    assert row["area_share"] == pytest.approx(14 / 331)


def enrich(store: Store) -> None:
    """Enough incidents for a ratio: 2 drug offences in each of 200 reference cells, 30 assaults
    in the first school's cell (February 2024, by day)."""
    far = sorted(disk(C0, 10) - disk(C0, 2) - disk(C2, 2))[:200]

    def row(cell, cat, n):
        return {"cell": cell, "month": date(2024, 2, 1), "category": cat, "time_band": "giorno", "outdoor": True,
                "count": n, "synthetic": True, "source": "test", "import_id": None}

    rows = [row(c, "stupefacenti", 2) for c in far] + [row(C0, "lesioni_minacce", 30)]
    with store.transaction() as cur:
        Store.write_frame(cur, "incidents", pd.DataFrame(rows))


def all_text(*tables: pd.DataFrame) -> set[str]:
    return {str(v) for t in tables for v in [*t.columns, *t.to_numpy().ravel()]}


def test_reasons_and_ratio_with_enough_incidents(tiny):
    enrich(tiny)
    result = exposure_of(tiny, role="prefettura")
    s1 = result.schools.set_index("code").loc["MSEE00001D"]
    assert (s1["focus_all"], s1["ref_focus"]) == (37, 406)
    assert s1["expected"] == pytest.approx(7 * 406 / 324)
    assert s1["expected"] >= ex.MIN_EXPECTED
    assert s1["rr"] == pytest.approx((37 / 7) / (406 / 324))
    # the interval: effective counts with the reference blocks' dispersion (by hand below)
    blocks = pd.Series(hexgrid.cell_to_parent(np.array(sorted(disk(C0, 10) - set(
        result.cells.loc[result.cells["code"] == "MSEE00001D", "cell"]))), 9))
    focus = dict.fromkeys(sorted(disk(C0, 10) - disk(C0, 2) - disk(C2, 2))[:200], 2)
    focus[R1], focus[R2] = focus.get(R1, 0) + 3, focus.get(R2, 0) + 3  # the fixture's reference incidents
    rc = pd.Series([focus.get(c, 0) for c in sorted(disk(C0, 10) - set(
        result.cells.loc[result.cells["code"] == "MSEE00001D", "cell"]))])
    # (the second school's area keeps its cells in the first school's reference)
    by_block = rc.groupby(blocks.to_numpy()).agg(["sum", "size"])
    phi, df = ex.block_dispersion(by_block["sum"].to_numpy(), by_block["size"].to_numpy())
    assert s1["dispersion"] == pytest.approx(float(phi))
    assert s1["dispersion_df"] == float(df)
    area_phi = ex.area_dispersion(phi, s1["rr"], s1["concentration"])
    _, lo, hi = ex.rate_ratio(37, 7, 406, 324, dispersion=phi, df=df, area_dispersion=area_phi)
    assert (s1["rr_low"], s1["rr_high"]) == (pytest.approx(float(lo)), pytest.approx(float(hi)))
    _, lo_old, hi_old = ex.rate_ratio(37, 7, 406, 324)
    assert s1["rr_low"] < float(lo_old)
    assert s1["rr_high"] > float(hi_old)
    table = ex.ranked_table(result, "prefettura").set_index("Codice meccanografico")
    first = table.loc["MSEE00001D"]
    assert first["Rapporto con aree simili"] == ex._rr_text(s1["rr"])
    assert first["IC 95 %"] == f"{ex._rr_text(s1['rr_low'])}–{ex._rr_text(s1['rr_high'])}"
    assert first["Attesi alla media delle aree simili"] == "8,8"
    if s1["exposure_level"] == "alta":
        assert "volte la media delle aree simili" in first["Motivi"]
    assert "1 segnalazioni aperte di spaccio" in first["Motivi"]
    assert "1 punti luce guasti su 4 (25 %; comune 5 %)" in first["Motivi"]
    assert "Nessun punto luce" in table.loc["MSEE00002D", "Motivi"]


def test_below_the_minimum_expected_count_no_ratio_is_a_number(tiny):
    """0.13 incidents expected around the first school: 'dato insufficiente' in the table, the
    styler, the map, the chart and the exports, for every role; the count-based reason instead."""
    for role in ("forze_polizia", "regione"):
        result = exposure_of(tiny, role=role)
        table = ex.ranked_table(result, role).set_index("Codice meccanografico")
        first = table.loc["MSEE00001D"]
        assert first["Esposizione"] == "Dato insufficiente"
        assert first["Rapporto con aree simili"] == ex.INSUFFICIENT_LABEL == first["IC 95 %"]
        assert "volte" not in first["Motivi"]
        assert "troppo pochi per un rapporto" in first["Motivi"]
        geo = json.loads(ex.schools_geojson(result, role))
        props = {f["properties"]["codice"]: f["properties"] for f in geo["features"]}["MSEE00001D"]
        assert props["rapporto_aree_simili"] is None
        assert props["ic95_min"] is None
        assert props["dato_insufficiente"]
        assert props["esposizione"] == "Dato insufficiente"
        assert ex.rr_chart_data(result, role).empty
        styled = ex.ranked_styler(result, role).to_html()
        assert ex.INSUFFICIENT_LABEL in styled
        assert "458" not in ex.table_csv(ex.ranked_table(result, role)).decode("utf-8-sig")


def test_role_without_clearance_sees_numbers_from_protected_counts(tiny):
    """Issue 11: for a role without clearance the table shows numbers equal to those computed on
    the cell-key protected counts; no label '< 3' or 'riservato'; cleared roles get exact figures."""
    enrich(tiny)
    with tiny.transaction() as cur:  # small counts around the first school
        cur.execute("UPDATE incidents SET count = 1 WHERE cell = ? AND category = 'lesioni_minacce' "
                    "AND month = DATE '2024-11-01'", [N1])
        cur.execute("DELETE FROM incidents WHERE cell = ? AND category = 'rapine'", [N2])
    exact = exposure_of(tiny)
    police = exposure_of(tiny, role="forze_polizia")
    assert police.schools.equals(exact.schools)
    result = exposure_of(tiny, role="regione")
    assert result.params["protected"]
    assert not exact.params.get("protected")
    with pytest.raises(ValueError, match="conteggi esatti"):
        ex.ranked_table(exact, "regione")  # an exact result is never shown to a role without clearance
    # every count is the published p-table value of its records: never 1-2, within the noise bound
    for col in (*ex.COUNT_COLUMNS, "ref_focus"):
        assert not result.schools[col].between(1, disclosure.threshold() - 1).any(), col
        assert (result.schools[col] - exact.schools.set_index("code").loc[result.schools["code"], col].to_numpy()
                ).abs().max() <= disclosure.MAX_NOISE + disclosure.threshold()
    assert exact.schools.set_index("code").loc["MSEE00001D", "cat_lesioni_minacce"] == 31
    # the dispersion from the protected counts of the reference hexagons (the Mappa's values)
    inc = tiny.incidents_series(by=("cell", "category", "time_band"), res=10, start=date(2024, 1, 1),
                                end=date(2024, 12, 1))
    cells = ex.protected_cells(inc, inc.assign(incidents=inc["incidents_key"]), "regione")
    assert not cells[["spaccio_all", "violenza_all"]].isin([1, 2]).any().any()
    s1 = result.schools.set_index("code").loc["MSEE00001D"]
    area = set(result.cells.loc[result.cells["code"] == "MSEE00001D", "cell"])
    ref = pd.DataFrame({"cell": sorted(disk(C0, 10) - area)}).merge(cells, on="cell", how="left").fillna(0)
    ref["y"] = ref["spaccio_all"] + ref["violenza_all"]
    by_block = ref.groupby(hexgrid.cell_to_parent(ref["cell"].to_numpy(np.int64), 9))["y"].agg(["sum", "size"])
    phi, df = ex.block_dispersion(by_block["sum"].to_numpy(), by_block["size"].to_numpy())
    assert s1["dispersion"] == pytest.approx(float(phi))
    # the ratio and its interval from the protected counts
    with np.errstate(divide="ignore"):
        point = (s1["focus_all"] / 7) / (s1["ref_focus"] / s1["ref_cells"])
    rr, lo, hi = ex.rate_ratio(s1["focus_all"], 7, s1["ref_focus"], s1["ref_cells"], dispersion=phi, df=df,
                               area_dispersion=ex.area_dispersion(phi, point, s1["concentration"]))
    assert s1["expected"] == pytest.approx(7 * s1["ref_focus"] / s1["ref_cells"])
    assert (s1["rr"], s1["rr_low"], s1["rr_high"]) == (pytest.approx(float(rr)), pytest.approx(float(lo)),
                                                        pytest.approx(float(hi)))
    table = ex.ranked_table(result, "regione").set_index("Codice meccanografico")
    first = table.loc["MSEE00001D"]
    assert first["Rapporto con aree simili"] == ex._rr_text(float(rr))
    assert first["Violenza (delitti)"] == str(int(s1["violenza_all"]))
    assert first["Spaccio (delitti)"] == str(int(s1["spaccio_all"]))
    # no withheld value, no untrue label, anywhere
    texts = all_text(table, ex.category_table(result, "regione"), ex.comune_table(result, "regione"))
    assert not {COUNT_LABEL, DERIVED_LABEL, "Riservata"} & texts
    for blob in (ex.table_csv(table).decode("utf-8-sig"), ex.schools_geojson(result, "regione").decode(),
                 ex.exposure_map(result, role="regione", tiles="none").get_root().render()):
        assert COUNT_LABEL not in blob
        assert not re.search(r"riservat[oaie]\b", blob, re.IGNORECASE)
    cats = ex.category_table(result, "regione").set_index("Scuola")
    assert cats.loc["=Scuola <b>Uno</b>", "Lesioni, percosse e minacce"] == str(int(s1["cat_lesioni_minacce"]))
    assert ex.category_table(police, "forze_polizia").set_index("Scuola").loc[
        "=Scuola <b>Uno</b>", "Lesioni, percosse e minacce"] == "31"
    row = result.by_comune.iloc[0]
    assert ex.comune_table(result, "regione").iloc[0]["Spaccio e violenza nel comune"] == str(int(row["focus_total"]))


def test_exports_are_safe(tiny):
    result = exposure_of(tiny, role="osservatore")
    data = ex.table_csv(ex.ranked_table(result, "osservatore"))
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:3] == ["Rango", "Scuola", "Grado"]
    assert "'=Scuola <b>Uno</b>" in lines[1]
    rendered = ex.exposure_map(result, role="osservatore", selected="MSEE00001D", tiles="none").get_root().render()
    assert "<b>Uno</b>" not in rendered
    assert "\\u0026lt;b\\u0026gt;Uno" in rendered
    styler = ex.ranked_styler(result, "osservatore")
    assert styler.data["Spaccio (delitti)"].tolist() == result.schools["spaccio_all"].astype(float).tolist()
    meta = json.loads(ex.schools_geojson(result, "osservatore"))["lanterna"]
    assert meta["riservatezza"] == disclosure.PROTECTED_NOTE
    assert meta["minimo_attesi"] == ex.MIN_EXPECTED


def direct_frames(school_cell: int, *, far: int):
    """Two blocks of one comune: a sparse one around ``school_cell`` and a very dense one at ``far``."""
    a, b = sorted(disk(school_cell, 5)), sorted(disk(far, 5))
    context = pd.DataFrame({"cell": a + b, "pro_com_t": MASSA, "residents": [3.0] * len(a) + [400.0] * len(b),
                            "area_km2": CELL_AREA})
    ref_a = ring(school_cell, 4)[0]
    incidents = pd.DataFrame({"month": [date(2024, 3, 1)] * 3, "cell": [school_cell, ref_a, far],
                              "category": ["stupefacenti"] * 3, "time_band": ["giorno"] * 3,
                              "incidents": [3, 2, 50]})
    lat, lon = centre(school_cell)
    schools = pd.DataFrame({"code": ["S"], "name": ["S"], "level": ["primaria"], "pro_com_t": [MASSA],
                            "lat": [lat], "lon": [lon]})
    return schools, incidents, context


def test_similar_areas_are_of_the_same_density_and_widen_when_too_few(monkeypatch):
    far = ring(C0, 25)[0]
    schools, incidents, context = direct_frames(C0, far=far)
    dens = ex.density_class(ex.smoothed_density(context))
    assert set(dens[: len(disk(C0, 5))]) == {1}
    assert set(dens[len(disk(C0, 5)):]) == {5}
    monkeypatch.setattr(ex, "MIN_EXPECTED", 0.0)
    s = ex.school_exposure(schools, incidents, context, walk_m=200).schools.iloc[0]
    assert (s["reference"], s["ref_cells"], s["ref_focus"]) == ("simili", 91 - 7, 2)
    assert s["rr"] == pytest.approx((3 / 7) / (2 / 84))
    monkeypatch.setattr(ex, "MIN_REFERENCE_CELLS", 100)
    s = ex.school_exposure(schools, incidents, context, walk_m=200).schools.iloc[0]
    assert (s["reference"], s["ref_cells"], s["ref_focus"]) == ("comune", 182 - 7, 52)
    assert s["rr"] == pytest.approx((3 / 7) / (52 / 175))


def test_smoothed_density_by_hand():
    cells = sorted(disk(C0, 4))
    context = pd.DataFrame({"cell": cells, "residents": 0.0, "area_km2": CELL_AREA})
    context.loc[context["cell"] == C0, "residents"] = 37.0
    dens = ex.smoothed_density(context, k=1).to_numpy()
    inside = np.isin(context["cell"], list(disk(C0, 1)))
    assert np.allclose(dens[inside], 37 / (7 * CELL_AREA))
    assert np.allclose(dens[~inside], 0.0)


def test_no_schools_gives_empty_tables(tiny):
    with tiny.transaction() as cur:
        cur.execute("DELETE FROM schools")
    result = exposure_of(tiny)
    assert result.schools.empty
    assert result.by_comune.empty
    assert ex.ranked_table(result, "prefettura").empty
    assert json.loads(ex.schools_geojson(result, "prefettura"))["features"] == []
    protected = exposure_of(tiny, role="osservatore")
    assert ex.ranked_table(protected, "osservatore").empty


def test_benchmark_script_runs_and_prints_old_and_new(capsys):
    bench = _bench()
    assert bench.main(["--quick", "--no-db", "--runs", "50", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "coverage OLD" in out
    assert "coverage NEW" in out
    assert "| Poisson | 5 | 1x |" in out


def test_school_details_view_escapes_and_protects(tiny):
    from geo.services import school_views

    police = school_views.school_details(exposure_of(tiny), "MSEE00001D", "forze_polizia")
    title, why, table = police
    assert title.startswith("**1. ")
    assert table.index.name == "Voce"
    assert table.loc["Spaccio (delitti nel periodo)", "Valore"] == "4"  # exact for a cleared role
    assert table.loc["Rapporto con aree simili (IC 95 %)", "Valore"].lower().startswith("dato insufficiente")
    assert all(isinstance(w, str) for w in why)
    assert school_views.md_escape("*a* [b](c)\n") == "\\*a\\* \\[b\\]\\(c\\)"
    assert school_views.near_share_text(1, 4) == "25 %"
    assert school_views.near_share_text(0, 0) == "–"
