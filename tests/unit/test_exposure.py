"""*Scuole sicure* (:mod:`geo.services.schools`): the area around a school, the counts, the rate ratio and
its exact interval, the similar areas and the ranking, against figures computed by hand on a
tiny database."""

from __future__ import annotations

import json
import math
from datetime import date

import h3
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, binomtest

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
    assert rr[0] == 0 and low[0] == 0 and high[0] == pytest.approx((1 - 0.025 ** (1 / 13)) / 0.025 ** (1 / 13)
                                                                   * 324 / 7)
    assert math.isinf(rr[1]) and math.isinf(high[1]) and low[1] > 0
    assert np.isnan([rr[2], low[2], high[2]]).all()  # no events at all
    assert np.isnan([rr[3], low[3], high[3]]).all()  # no exposure
    assert ex.exposure_level(np.array([5.0, 1.2, 0.3, np.nan]), np.array([1.5, 0.8, 0.1, np.nan]),
                             np.array([9.0, 2.0, 0.9, np.nan])).tolist() == ["alta", "media", "bassa", "nd"]


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
    assert s1["n_cells"] == 7 and s2["n_cells"] == 7
    assert (s1["spaccio_all"], s1["violenza_all"], s1["focus_all"], s1["other"]) == (4, 3, 7, 5)
    assert (s1["cat_rapine"], s1["cat_lesioni_minacce"], s1["cat_furti_altri"]) == (1, 2, 5)
    # School time: day band in school months only (the July robbery and the November night assault are out).
    assert s1["focus_scuola"] == 4
    assert s1["focus_school_est"] == pytest.approx(4 * 45 / 98)
    assert s1["focus_outside_est"] == pytest.approx(7 - 4 * 45 / 98)
    assert s1["focus_per_km2_year"] == pytest.approx(7 / (7 * CELL_AREA))
    # Reference: the other 324 cells of the comune (same class), with 3 + 3 focus incidents.
    assert s1["density_class"] == 1 and s1["reference"] == "simili"
    assert (s1["ref_cells"], s1["ref_focus"]) == (324, 6)
    assert s1["rr"] == pytest.approx(54.0)
    lo, hi = cp_ratio(7, 7, 6, 324)
    assert (s1["rr_low"], s1["rr_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert s1["rr_spaccio"] == pytest.approx((4 / 7) / (3 / 324))
    assert s1["exposure_level"] == "alta"
    # The second school: no focus incident; its reference holds the first school's 7.
    assert (s2["focus_all"], s2["ref_cells"], s2["ref_focus"]) == (0, 324, 13)
    assert s2["rr"] == 0 and s2["rr_low"] == 0
    assert s2["rr_high"] == pytest.approx(cp_ratio(0, 7, 13, 324)[1])
    assert s2["exposure_level"] == "media"
    # Reports (open only) and lighting.
    assert (s1["reports_open"], s1["reports_public_order"], s1["reports_lighting"]) == (2, 1, 1)
    assert (s1["lights"], s1["lights_broken"]) == (4, 1)
    assert s1["comune_broken_share"] == pytest.approx(1 / 20)
    assert (s2["lights"], s2["reports_open"]) == (0, 0)
    assert result.schools["rank"].tolist() == [1, 2] and result.schools.loc[0, "code"] == "MSEE00001D"


def test_school_hours_basis(tiny):
    s1 = exposure_of(tiny, basis="scuola").schools.set_index("code").loc["MSEE00001D"]
    # 4 school-time focus incidents around the school, 3 + 3 in the reference (February and May, by day).
    assert s1["rr"] == pytest.approx((4 / 7) / (6 / 324))
    assert s1["rr_low"] == pytest.approx(cp_ratio(4, 7, 6, 324)[0])


def test_comune_figures(tiny):
    row = exposure_of(tiny).by_comune.iloc[0]
    assert (row["schools"], row["students"], row["alta"], row["focus_near"], row["focus_total"]) == (2, 500, 1, 7, 13)
    assert row["focus_share"] == pytest.approx(7 / 13)
    assert row["area_share"] == pytest.approx(14 / 331)


def test_reasons_and_privacy(tiny):
    result = exposure_of(tiny)
    table = ex.ranked_table(result, "osservatore").set_index("Codice meccanografico")
    first = table.loc["MSEE00001D"]
    assert first["Esposizione"] == "Alta"
    assert first["Spaccio (delitti)"] == "4" and first["Violenza (delitti)"] == "3"
    assert first["Rapporto con aree simili"] == "54,0"
    assert "54,0 volte la media delle aree simili" in first["Motivi"]
    assert "1 segnalazioni aperte di spaccio" in first["Motivi"]
    assert "1 punti luce guasti su 4 (25 %; comune 5 %)" in first["Motivi"]
    assert "illuminazione guasta" in first["Motivi"]
    assert "Nessun punto luce" in table.loc["MSEE00002D", "Motivi"]
    cats = ex.category_table(result, "osservatore").set_index("Scuola")
    assert cats.loc["=Scuola <b>Uno</b>", "Rapine"] == COUNT_LABEL
    assert cats.loc["=Scuola <b>Uno</b>", "Lesioni, percosse e minacce"] == COUNT_LABEL
    assert cats.loc["=Scuola <b>Uno</b>", "Stupefacenti e spaccio"] == "4"
    police = ex.category_table(result, "forze_polizia").set_index("Scuola")
    assert police.loc["=Scuola <b>Uno</b>", "Rapine"] == "1"


def test_small_counts_hide_the_ratio_and_the_ranking_position(tiny):
    with tiny.transaction() as cur:
        cur.execute("DELETE FROM incidents WHERE cell = ? AND category = 'stupefacenti'", [C0])
        cur.execute("UPDATE incidents SET count = 1 WHERE cell = ? AND category = 'lesioni_minacce'", [N1])
    result = exposure_of(tiny)
    s1 = result.schools.set_index("code").loc["MSEE00001D"]
    assert s1["focus_all"] == 2 and s1["exposure_level"] == "alta"  # exact: 2 vs 6 in 324 cells
    view = ex.role_view(result, "osservatore")
    table = ex.ranked_table(result, "osservatore").set_index("Codice meccanografico")
    assert table.loc["MSEE00001D", "Esposizione"] == "Riservata"
    assert table.loc["MSEE00001D", "Rapporto con aree simili"] == DERIVED_LABEL
    assert table.loc["MSEE00001D", "IC 95 %"] == DERIVED_LABEL
    assert "volte" not in table.loc["MSEE00001D", "Motivi"]
    # Ranked after the schools "nella media", whatever its hidden ratio.
    assert view.schools["code"].tolist() == ["MSEE00002D", "MSEE00001D"]
    assert view.by_comune.loc[0, "alta"] == 0
    assert ex.ranked_table(result, "prefettura").iloc[0]["Codice meccanografico"] == "MSEE00001D"
    geo = json.loads(ex.schools_geojson(result, "osservatore"))
    props = {f["properties"]["codice"]: f["properties"] for f in geo["features"]}["MSEE00001D"]
    assert props["rapporto_aree_simili"] is None and props["esposizione"] is None
    assert "rapporto_aree_simili" in props["valori_riservati"]
    assert ex.rr_chart_data(result, "osservatore")["rank"].tolist() == [1]  # only the visible one


def test_protected_exposure_for_a_role_without_clearance(tiny):
    """issue 11: counts around a school, in its reference and per comune are cell-key protected
    (the same records as the map's), and the ratios, intervals and levels come from them."""
    from geo.access import disclosure

    with tiny.transaction() as cur:
        cur.execute("DELETE FROM incidents WHERE cell = ? AND category = 'stupefacenti'", [C0])
        cur.execute("UPDATE incidents SET count = 1 WHERE cell = ? AND category = 'lesioni_minacce'", [N1])
    exact = exposure_of(tiny)
    result = exposure_of(tiny, role="osservatore")
    assert result.params["protected"] and not exact.params.get("protected")
    assert exposure_of(tiny, role="forze_polizia").schools.equals(exact.schools)
    s1 = result.schools.set_index("code").loc["MSEE00001D"]
    assert exact.schools.set_index("code").loc["MSEE00001D", "focus_all"] == 2
    assert s1["focus_all"] in (0, 3)  # never 2
    for col in (*ex.COUNT_COLUMNS, "ref_focus"):
        assert not result.schools[col].between(1, disclosure.threshold() - 1).any(), col
    lo, hi = cp_ratio(s1["focus_all"], 7, s1["ref_focus"], 324)
    assert s1["rr_low"] == pytest.approx(lo) and s1["rr_high"] == pytest.approx(hi)
    assert s1["focus_school_est"] == pytest.approx(s1["focus_scuola"] * 45 / 98)
    # nothing is withheld: the table shows numbers and the level computed from them
    table = ex.ranked_table(result, "osservatore").set_index("Codice meccanografico")
    assert table.loc["MSEE00001D", "Esposizione"] != "Riservata"
    assert not (table == DERIVED_LABEL).any().any()
    assert not result.by_comune[["focus_near", "focus_total"]].isin([1, 2]).any().any()


def test_exports_are_safe(tiny):
    result = exposure_of(tiny)
    data = ex.table_csv(ex.ranked_table(result, "osservatore"))
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:3] == ["Rango", "Scuola", "Grado"]
    assert "'=Scuola <b>Uno</b>" in lines[1]
    rendered = ex.exposure_map(result, role="osservatore", selected="MSEE00001D", tiles="none").get_root().render()
    assert "<b>Uno</b>" not in rendered and "\\u0026lt;b\\u0026gt;Uno" in rendered
    styler = ex.ranked_styler(result, "osservatore")
    assert styler.data["Spaccio (delitti)"].tolist() == [4.0, 0.0]


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
    assert set(dens[: len(disk(C0, 5))]) == {1} and set(dens[len(disk(C0, 5)):]) == {5}
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
    assert result.schools.empty and result.by_comune.empty
    assert ex.ranked_table(result, "osservatore").empty
    assert json.loads(ex.schools_geojson(result, "osservatore"))["features"] == []


def test_reference_count_hides_ratio_and_hexagon_counts():
    row = {"ref_focus": 2, "ref_spaccio_all": 0, "ref_violenza_all": 2,
           "ref_spaccio_scuola": 0, "ref_violenza_scuola": 5}
    assert ex.reference_hidden(row, "osservatore") == {"rr": True, "rr_spaccio": False, "rr_violenza": True}
    assert ex.reference_hidden(row, "osservatore", basis="scuola") == {
        "rr": True, "rr_spaccio": False, "rr_violenza": False}
    assert not any(ex.reference_hidden(row, "prefettura").values())
    assert not any(ex.reference_hidden({**row, "ref_focus": 30, "ref_violenza_all": 3}, "comune").values())
