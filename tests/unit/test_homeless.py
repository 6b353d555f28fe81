"""Services for homeless people (:mod:`geo.services.homeless`): roles, coverage on a known grid, the hours
of a fixture week, marginality gaps and the census writes, each checked by hand."""

from __future__ import annotations

import json
import math

import h3
import numpy as np
import pandas as pd
import pytest

from geo.access.privacy import COUNT_LABEL
from geo.data import hexgrid
from geo.data.storage import Store
from geo.services import homeless as hl

MASSA, CARRARA = "045010", "045003"
CENTRE = h3.str_to_int(h3.latlng_to_cell(44.035, 10.14, 10))
CARRARA_CELL = h3.str_to_int(h3.latlng_to_cell(44.078, 10.098, 10))


def centre(cell: int) -> tuple[float, float]:
    return h3.cell_to_latlng(h3.int_to_str(int(cell)))


def great_circle_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine written out independently of the module (R = 6,371,008.8 m)."""
    (la1, lo1), (la2, lo2) = (tuple(map(math.radians, p)) for p in (a, b))
    s = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(s))


def service(sid: str, cell: int, types: list[str], *, hours: str = "24/7", public: bool = True,
            comune: str = MASSA, open_24h: bool = False, capacity: int | None = None) -> dict:
    lat, lon = centre(cell)
    return {"service_id": sid, "name": f"Servizio {sid}", "operator": "Ente", "types": types, "hours": hours,
            "open_24h": open_24h, "capacity": capacity, "public": public, "pro_com_t": comune, "lat": lat,
            "lon": lon, "cell": cell}


# --------------------------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "user_comuni", "comune", "expected"), [
    ("prefettura", (), MASSA, True),
    ("prefettura", (), CARRARA, True),
    ("comune", (MASSA,), MASSA, True),
    ("comune", (MASSA,), CARRARA, False),
    ("comune", (MASSA, CARRARA), CARRARA, True),
    ("comune", (), MASSA, False),
    ("comune", MASSA, MASSA, True),  # a single code as a string
    ("forze_polizia", (MASSA,), MASSA, False),
    ("regione", (MASSA,), MASSA, False),
    ("osservatore", (MASSA,), MASSA, False),
    (None, (), MASSA, False),
    ("amministratore", (MASSA,), MASSA, False),
])
def test_manage_permission_matrix(role, user_comuni, comune, expected):
    assert hl.can_manage_services(role, user_comuni, comune) is expected


def test_manageable_comuni():
    assert hl.manageable_comuni("prefettura", (), [MASSA, CARRARA]) == [MASSA, CARRARA]
    assert hl.manageable_comuni("comune", (CARRARA,), [MASSA, CARRARA]) == [CARRARA]
    assert hl.manageable_comuni("regione", (CARRARA,), [MASSA, CARRARA]) == []


def test_non_public_shelter_is_visible_only_to_whom_it_may_concern():
    services = pd.DataFrame([service("S1", CENTRE, ["mensa"]),
                             service("S2", CENTRE, ["accoglienza_notturna"], public=False),
                             service("S3", CARRARA_CELL, ["accoglienza_notturna"], public=False, comune=CARRARA)])
    seen = {
        (role, comuni): set(hl.visible_services(services, role, comuni)["service_id"])
        for role, comuni in [("osservatore", ()), ("regione", ()), ("prefettura", ()), ("forze_polizia", ()),
                             ("comune", (MASSA,)), ("comune", (CARRARA,)), ("osservatore", (MASSA,))]
    }
    assert seen[("osservatore", ())] == {"S1"}
    assert seen[("regione", ())] == {"S1"}
    assert seen[("osservatore", (MASSA,))] == {"S1"}  # codes matter only for the comune role
    assert seen[("prefettura", ())] == {"S1", "S2", "S3"}
    assert seen[("forze_polizia", ())] == {"S1", "S2", "S3"}
    assert seen[("comune", (MASSA,))] == {"S1", "S2"}
    assert seen[("comune", (CARRARA,))] == {"S1", "S3"}
    assert hl.can_see_service("osservatore", (), MASSA, None)  # unknown flag: public


# --------------------------------------------------------------------------------------------
# Coverage on a known grid
# --------------------------------------------------------------------------------------------

def grid_cells(k: int = 4) -> pd.DataFrame:
    cells = hexgrid.neighbours(CENTRE, k)
    lat, lon = hexgrid.cell_centers(cells)
    return pd.DataFrame({"cell": cells, "pro_com_t": MASSA, "residents": 10.0, "lat": lat, "lon": lon})


def test_walking_distances_on_a_known_grid():
    cells = grid_cells(4)
    far_cell = min(h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(CENTRE), 3))
    services = pd.DataFrame([service("MENSA", CENTRE, ["mensa"]), service("DOCCE", far_cell, ["docce"]),
                             service("ASC1", CENTRE, ["ascolto"]), service("ASC2", far_cell, ["ascolto"])])
    dist = hl.coverage_distances(cells, services)
    for rec in dist.to_dict("records"):
        here = centre(rec["cell"])
        d_centre = great_circle_m(here, centre(CENTRE)) * 1.3
        d_far = great_circle_m(here, centre(far_cell)) * 1.3
        assert rec["dist_mensa"] == pytest.approx(d_centre, rel=1e-9, abs=1e-6)
        assert rec["dist_docce"] == pytest.approx(d_far, rel=1e-9, abs=1e-6)
        assert rec["dist_ascolto"] == pytest.approx(min(d_centre, d_far), rel=1e-9, abs=1e-6)
        assert rec["dist_tutti"] == pytest.approx(min(d_centre, d_far), rel=1e-9, abs=1e-6)
        assert math.isinf(rec["dist_guardaroba"])
        assert rec["name_guardaroba"] is None
    by_cell = dist.set_index("cell")
    assert by_cell.loc[CENTRE, "dist_mensa"] == 0
    assert by_cell.loc[far_cell, "name_docce"] == "Servizio DOCCE"
    # H3 grid: centres of neighbouring resolution-10 cells are about √3 x 75.9 m = 131 m apart.
    for ring in (1, 2):
        for c in h3.grid_ring(h3.int_to_str(CENTRE), ring):
            d = by_cell.loc[h3.str_to_int(c), "dist_mensa"] / 1.3
            assert 0.85 * 131 * ring <= d <= 1.15 * 131 * ring


def test_distance_classes():
    codes = hl.distance_class(np.array([0, 300, 301, 999, 1000, 1500, 2500, np.inf]))
    assert codes.tolist() == [0, 0, 1, 2, 2, 3, 4, -1]
    assert len(hl.distance_labels()) == len(hl.DISTANCE_COLORS)


def test_coverage_by_comune_weights_by_residents():
    dist = pd.DataFrame({"cell": [1, 2, 3, 4], "pro_com_t": [MASSA, MASSA, MASSA, CARRARA],
                         "residents": [10.0, 30.0, 60.0, 5.0],
                         "dist_tutti": [200.0, 900.0, 1500.0, np.inf]})
    for t in hl.SERVICE_TYPES:
        dist[f"dist_{t}"] = dist["dist_tutti"] if t == "mensa" else np.inf
    services = pd.DataFrame([service("M", CENTRE, ["mensa"]),
                             service("N", CENTRE, ["accoglienza_notturna"], public=False)])
    comuni = pd.DataFrame({"pro_com_t": [MASSA, CARRARA], "nome": ["Massa", "Carrara"]})
    by_comune = hl.services_by_comune(services, comuni, month=1)
    cov = hl.coverage_by_comune(dist, by_comune, near_m=1000).set_index("pro_com_t")
    assert cov.loc[MASSA, "share_near"] == pytest.approx(0.4)  # (10 + 30) / 100
    assert cov.loc[MASSA, "median_m"] == 1500.0  # half the residents are beyond 900 m
    assert cov.loc[MASSA, "near_mensa"] == pytest.approx(0.4)
    assert cov.loc[MASSA, "near_docce"] == 0.0
    assert cov.loc[CARRARA, "share_near"] == 0.0
    # Existence counts every service, also the non-public one.
    assert cov.loc[MASSA, "types_present"] == ["mensa", "accoglienza_notturna"]
    assert "mensa" not in cov.loc[MASSA, "types_missing"]
    assert len(cov.loc[MASSA, "types_missing"]) == 7
    assert cov.loc[CARRARA, "services"] == 0
    assert len(cov.loc[CARRARA, "types_missing"]) == 9
    assert bool(cov.loc[MASSA, "open_24h"])
    assert not bool(cov.loc[CARRARA, "open_24h"])
    table = hl.coverage_table(cov.reset_index())
    assert table.loc[1, "Tipi mancanti"].startswith("Distribuzione pasti in strada")


def test_map_cells_aggregates_by_residents():
    cells = grid_cells(2)
    services = pd.DataFrame([service("M", CENTRE, ["mensa"])])
    dist = hl.coverage_distances(cells, services)
    same = hl.map_cells(dist, service_type="mensa", res=10)
    assert len(same) == len(cells)
    assert same["nearest_name"].eq("Servizio M").all()
    coarse = hl.map_cells(dist, service_type="mensa", res=9)
    parents = hexgrid.cell_to_parent(dist["cell"].to_numpy(), 9)
    for parent, row in coarse.set_index("cell").iterrows():
        sub = dist[parents == parent]
        assert row["dist"] == pytest.approx(float(np.average(sub["dist_mensa"], weights=sub["residents"])))
    none = hl.map_cells(dist, service_type="docce", res=9)
    assert np.isinf(none["dist"]).all()


# --------------------------------------------------------------------------------------------
# Hours of a fixture week
# --------------------------------------------------------------------------------------------

def fixture_week() -> pd.DataFrame:
    return pd.DataFrame([
        service("A", CENTRE, ["mensa"], hours="Mo-Fr 12:00-14:00"),
        service("B", CENTRE, ["mensa"], hours="Mo 13:30-15:00"),
        service("C", CENTRE, ["accoglienza_notturna"], hours="Mo-Su 20:00-08:00", public=False),
        service("D", CENTRE, ["pasti_strada"], hours="Dec-Mar Sa 19:00-21:00"),
        service("E", CENTRE, ["ascolto"], hours=None),
        service("F", CENTRE, ["assistenza_legale"], hours="Lu 10:00-12:00"),
    ])


def test_hours_chart_data_for_a_fixture_week():
    data = hl.hours_chart_data(fixture_week(), month=6, service_type="mensa")
    assert len(data) == 168
    assert list(data.columns[:3]) == ["day", "giorno", "hour"]
    at = data.set_index(["day", "hour"])
    assert at.loc[(0, 12), "open_services"] == 1
    assert at.loc[(0, 13), "open_services"] == 2  # A and B
    assert at.loc[(0, 14), "open_services"] == 1  # B until 15:00
    assert at.loc[(0, 14), "open_minutes"] == 60
    assert at.loc[(0, 15), "open_services"] == 0
    assert bool(at.loc[(0, 15), "no_service"])
    assert at.loc[(1, 13), "open_services"] == 1
    assert at.loc[(1, 14), "open_services"] == 0
    assert data.loc[data["day"] >= 5, "no_service"].all()
    assert int((~data["no_service"]).sum()) == 3 + 4 * 2  # Monday 12-15, Tuesday-Friday 12-14

    overall = hl.hours_chart_data(fixture_week(), month=6)
    # C covers 0-8 and 20-24 every day; A 12-14 Mo-Fr; B 13:30-15 Mo. Hours with nothing open:
    # Monday 8-11 and 15-19 (9), Tuesday-Friday 8-11 and 14-19 (10 each), Saturday-Sunday 8-19 (12 each).
    assert int(overall["no_service"].sum()) == 9 + 4 * 10 + 2 * 12
    at = overall.set_index(["day", "hour"])
    assert at.loc[(0, 0), "open_services"] == 1  # Sunday night spills into Monday
    # In January the winter street meals cover Saturday 19:00-20:00 too.
    assert int(hl.hours_chart_data(fixture_week(), month=1)["no_service"].sum()) == 73 - 1


def test_hours_summary_and_notes():
    summary = hl.hours_summary(fixture_week(), month=6).set_index("type")
    assert summary.loc["mensa", "hours_open"] == pytest.approx(11.0)  # Monday 12-15, Tue-Fri 12-14
    assert summary.loc["mensa", "hours_without"] == pytest.approx(157.0)
    assert summary.loc["mensa", "longest_gap_h"] == pytest.approx(70.0)  # Friday 14:00 → Monday 12:00
    assert summary.loc["mensa", "services"] == 2
    assert summary.loc["accoglienza_notturna", "nights_covered"] == 7
    assert not summary.loc["accoglienza_notturna", "always_open"]
    assert summary.loc["pasti_strada", "hours_open"] == 0  # out of season in June
    assert summary.loc["ascolto", "services"] == 0  # no hours given
    assert summary.loc["tutti", "hours_without"] == pytest.approx(73.0)
    _, notes = hl.service_minutes(fixture_week(), month=6)
    assert set(notes["service_id"]) == {"E", "F"}
    always = pd.DataFrame([service("G", CENTRE, ["docce"], hours=None, open_24h=True)])
    assert hl.hours_summary(always, month=3).set_index("type").loc["docce", "always_open"]


# --------------------------------------------------------------------------------------------
# Marginality and gaps
# --------------------------------------------------------------------------------------------

def test_marginality_signals_count_the_right_reports():
    r9 = int(hexgrid.cell_to_parent(np.array([CENTRE]), 9)[0])
    reports = pd.DataFrame({
        "cell": [CENTRE] * 5,
        "category": ["bivacco_marginalita", "occupazione_abusiva", "spaccio_assembramenti", "rifiuti_abbandonati",
                     "bivacco_marginalita"],
        "status": ["nuova", "risolta", "presa_in_carico", "nuova", "respinta"],
        "opened": pd.to_datetime(["2024-03-01", "2024-05-01", "2023-01-10", "2024-03-01", "2024-03-01"]),
    })
    incidents = pd.DataFrame({"cell": [r9, r9 + 0], "incidents": [2, 0]})
    sig = hl.marginality_signals(reports, incidents, start=pd.Timestamp("2024-01-01").date())
    assert sig.to_dict("records") == [{"cell": r9, "reports": 2, "incidents": 2, "signals": 4}]
    sig_all = hl.marginality_signals(reports, incidents.iloc[:0])
    assert sig_all["reports"].tolist() == [3]
    assert sig_all["incidents"].tolist() == [0]


def test_gap_areas_group_far_hexagons_and_rank_the_capoluogo_first():
    a = int(hexgrid.cell_to_parent(np.array([CENTRE]), 9)[0])
    a2 = h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(a), 1))[0])
    far = h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(a), 12))[0])
    near = h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(a), 30))[0])
    carrara = int(hexgrid.cell_to_parent(np.array([CARRARA_CELL]), 9)[0])
    signals = pd.DataFrame({"cell": [a, a2, far, near, carrara, h3.str_to_int(h3.grid_ring(h3.int_to_str(far),
                                                                                           3)[0])],
                            "reports": [2, 1, 6, 5, 20, 1], "incidents": [2, 2, 0, 0, 5, 0]})
    signals["signals"] = signals["reports"] + signals["incidents"]
    lat, lon = centre(near)
    services = pd.DataFrame([{"service_id": "S", "name": "S", "types": ["mensa"], "lat": lat, "lon": lon}])
    comune_of = pd.Series({a: MASSA, a2: MASSA, far: MASSA, near: MASSA, carrara: CARRARA})
    comuni = pd.DataFrame({"pro_com_t": [MASSA, CARRARA], "nome": ["Massa", "Carrara"], "residenti": [66, 60]})
    gaps = hl.gap_areas(signals, services, comuni=comuni, cell_comune=comune_of, far_m=1500, capoluogo=MASSA)
    cells = gaps.cells.set_index("cell")
    assert not cells.loc[near, "gap"]  # a service in the same hexagon
    assert len(cells) == 5  # the hexagon with a single sign is not considered
    areas = gaps.areas
    assert areas["rank"].tolist() == [1, 2, 3]
    # Massa (capoluogo) first, biggest signals first; adjacent a and a2 form one area.
    assert areas.loc[0, "comune"] == "Massa"
    assert areas.loc[0, "signals"] == 7
    assert areas.loc[0, "cells"] == 2
    assert areas.loc[1, "comune"] == "Massa"
    assert areas.loc[1, "signals"] == 6
    assert areas.loc[2, "comune"] == "Carrara"
    assert not areas.loc[2, "capoluogo"]
    assert cells.loc[a, "area"] == cells.loc[a2, "area"] == 1
    expected = great_circle_m(centre(a), centre(near)) * 1.3
    assert cells.loc[a, "dist_m"] == pytest.approx(expected, rel=1e-9)

    table, _mask = hl.gap_display(gaps, "osservatore")
    assert table.loc[0, "Segnalazioni di marginalità"] == "3"
    first_area = gaps.areas.iloc[0]
    assert first_area["reports"] == 3
    assert first_area["incidents"] == 4
    assert table.loc[1, "Delitti in materia di stupefacenti"] == "0"
    police, hidden = hl.gap_display(gaps, "forze_polizia")
    assert not hidden.to_numpy().any()
    # an exact incident count of 1-2 never reaches a role without clearance (protected upstream)
    unprotected = hl.Gaps(gaps.cells, gaps.areas.assign(incidents=[2, 0, 5]), gaps.far_m, gaps.min_signals)
    with pytest.raises(ValueError, match="non protetti"):
        hl.gap_display(unprotected, "osservatore")
    assert hl.gap_display(unprotected, "prefettura")[0].loc[0, "Delitti in materia di stupefacenti"] == "2"
    # 2 reports: "< 3" is true; the total is the range it surely lies in, not "riservato"
    small = hl.Gaps(gaps.cells, gaps.areas.assign(reports=[2, 6, 20], incidents=[3, 0, 5],
                                                  signals=[5, 6, 25]), gaps.far_m, gaps.min_signals)
    t_small, m_small = hl.gap_display(small, "osservatore")
    assert t_small.loc[0, "Segnalazioni di marginalità"] == COUNT_LABEL
    assert m_small.loc[0, "signals"]
    assert t_small.loc[0, "Delitti in materia di stupefacenti"] == "3"
    assert t_small.loc[0, "Segnali in totale"] == "da 4 a 5"
    assert t_small.loc[1, "Segnali in totale"] == "6"
    assert "riservato" not in set(t_small.to_numpy().ravel())
    geo = json.loads(hl.gaps_geojson(small, "osservatore"))
    props = geo["features"][0]["properties"]
    assert props["segnalazioni"] is None
    assert props["segnalazioni_intervallo"] == [1, 2]
    assert props["delitti_stupefacenti"] == 3
    assert props["segnali"] is None
    assert props["segnali_intervallo"] == [4, 5]
    assert "valori_riservati" not in props
    assert "segnali_intervallo" not in geo["features"][1]["properties"]
    police = json.loads(hl.gaps_geojson(small, "forze_polizia"))["features"][0]["properties"]
    assert (police["segnalazioni"], police["segnali"]) == (2, 5)


def test_gap_figures_for_a_role_without_clearance_come_from_protected_counts(tmp_path):
    """Issue 11: the drug offences of the priority areas are sums of the hexagons' cell-key
    protected counts (the Mappa's values for the same hexagons, period and category)."""
    from geo.access import disclosure

    store = Store(tmp_path / "gaps.duckdb")
    cells = sorted(int(c) for c in hexgrid.neighbours(int(CENTRE), 3))
    arr = np.array(cells)
    cell_rows = pd.DataFrame({"cell": cells, "r9": hexgrid.cell_to_parent(arr, 9), "r8": hexgrid.cell_to_parent(arr, 8),
                              "r7": hexgrid.cell_to_parent(arr, 7), "pro_com_t": MASSA, "residents": 3.0,
                              "pop_method": "test"})
    incidents = pd.DataFrame([{"cell": c, "month": pd.Timestamp("2024-03-01").date(), "category": "stupefacenti",
                               "time_band": "giorno", "outdoor": True, "count": n, "synthetic": True,
                               "source": "test", "import_id": None}
                              for c, n in zip(cells[:12], [1, 2, 1, 2, 4, 7, 1, 2, 9, 1, 2, 3], strict=True)])
    with store.transaction() as cur:
        Store.write_frame(cur, "cells", cell_rows)
        Store.write_frame(cur, "incidents", incidents)
    exact = hl.marginality_incidents(store)
    protected = hl.marginality_incidents(store, role="regione")
    assert (hl.marginality_incidents(store, role="forze_polizia")["incidents"].to_numpy()
            == exact["incidents"].to_numpy()).all()
    assert exact["incidents"].isin([1, 2]).any()
    assert not protected["incidents"].isin([1, 2]).any()
    by_cell = store.incidents_by_cell(hl.GAP_RES, categories=list(hl.MARGINALITY_INCIDENTS)).sort_values("cell")
    want = disclosure.protect_counts(by_cell["incidents"], by_cell["incidents_key"], "regione")
    assert protected["cell"].tolist() == by_cell["cell"].tolist()
    assert protected["incidents"].tolist() == want.tolist()
    store.close()


def test_no_services_means_every_signal_hexagon_is_a_gap():
    a = int(hexgrid.cell_to_parent(np.array([CENTRE]), 9)[0])
    signals = pd.DataFrame({"cell": [a], "reports": [3], "incidents": [0], "signals": [3]})
    comuni = pd.DataFrame({"pro_com_t": [MASSA], "nome": ["Massa"]})
    gaps = hl.gap_areas(signals, pd.DataFrame(columns=["lat", "lon"]), comuni=comuni,
                        cell_comune=pd.Series({a: MASSA}))
    assert len(gaps.areas) == 1
    assert math.isinf(gaps.areas.loc[0, "dist_min_m"])
    assert hl.gap_display(gaps, "prefettura")[0].loc[0, "Distanza a piedi dal servizio più vicino (m)"] == \
        "nessun servizio"


# --------------------------------------------------------------------------------------------
# Census writes
# --------------------------------------------------------------------------------------------

@pytest.fixture
def census_store(tmp_path) -> Store:
    """A database with two small comuni (a disk of cells each) and one service per comune."""
    store = Store(tmp_path / "census.duckdb")
    rows = []
    for comune, middle in ((MASSA, CENTRE), (CARRARA, CARRARA_CELL)):
        for cell in hexgrid.neighbours(middle, 3):
            parents = {r: int(hexgrid.cell_to_parent(np.array([cell]), r)[0]) for r in (9, 8, 7)}
            rows.append({"cell": int(cell), "r9": parents[9], "r8": parents[8], "r7": parents[7],
                         "pro_com_t": comune, "residents": 5.0, "pop_method": "test"})
    existing = pd.DataFrame([service("SRV-045010-01", CENTRE, ["mensa"], hours="Mo-Fr 12:00-14:00"),
                             service("SRV-045003-01", CARRARA_CELL, ["accoglienza_notturna"], public=False,
                                     comune=CARRARA, hours="Mo-Su 20:00-08:00")])
    existing = existing.assign(synthetic=True, source="test", import_id=None)
    with store.transaction() as cur:
        Store.write_frame(cur, "cells", pd.DataFrame(rows))
        Store.write_frame(cur, "comuni", pd.DataFrame({"pro_com_t": [MASSA, CARRARA], "nome": ["Massa", "Carrara"],
                                                       "residenti": [100, 80]}))
        for rec in existing.to_dict("records"):
            store.insert_service(cur, rec)
    yield store
    store.close()


def new_record(cell: int, **changes) -> dict:
    lat, lon = centre(cell)
    return {"name": "Docce comunali", "operator": "Comune", "types": ["docce", "guardaroba"],
            "hours": "Tu,Th 09:00-12:00", "open_24h": False, "capacity": None, "public": True, "lat": lat,
            "lon": lon, **changes}


def test_comune_adds_a_service_in_its_own_territory(census_store):
    sid = hl.add_service(census_store, new_record(CENTRE), role="comune", user_comuni=(MASSA,), user_name="uff.massa")
    assert sid == "SRV-045010-02"
    row = census_store.service(sid)
    assert row["pro_com_t"] == MASSA
    assert row["types"] == ["docce", "guardaroba"]
    assert not row["synthetic"]
    assert row["cell"] == CENTRE
    log = census_store.service_changes()
    assert log.loc[0, "action"] == "aggiunto"
    assert log.loc[0, "user_name"] == "uff.massa"
    assert json.loads(log.loc[0, "after_json"])["name"] == "Docce comunali"


@pytest.mark.parametrize(("role", "comuni"), [("comune", (CARRARA,)), ("osservatore", ()), ("regione", (MASSA,)),
                                              ("forze_polizia", ())])
def test_others_cannot_add_a_service_in_massa(census_store, role, comuni):
    before = len(census_store.points("services"))
    with pytest.raises(hl.ServicePermissionError):
        hl.add_service(census_store, new_record(CENTRE), role=role, user_comuni=comuni)
    assert len(census_store.points("services")) == before
    assert census_store.service_changes().empty


def test_prefettura_manages_every_comune(census_store):
    sid = hl.add_service(census_store, new_record(CARRARA_CELL), role="prefettura")
    assert sid == "SRV-045003-02"
    hl.edit_service(census_store, sid, new_record(CARRARA_CELL, hours="24/7", open_24h=True), role="prefettura")
    assert census_store.service(sid)["hours"] == "24/7"
    hl.close_service(census_store, sid, role="prefettura", reason="Trasferito")
    assert census_store.service(sid) is None
    actions = census_store.service_changes()["action"].tolist()
    assert actions == ["chiuso", "modificato", "aggiunto"]
    closed = census_store.service_changes().iloc[0]
    assert closed["reason"] == "Trasferito"
    assert json.loads(closed["before_json"])["service_id"] == sid


def test_edit_and_close_are_checked_on_the_server(census_store):
    # Carrara's officer may not edit a Massa service, nor move its own service into Massa.
    with pytest.raises(hl.ServicePermissionError):
        hl.edit_service(census_store, "SRV-045010-01", new_record(CENTRE), role="comune", user_comuni=(CARRARA,))
    with pytest.raises(hl.ServicePermissionError):
        hl.edit_service(census_store, "SRV-045003-01", new_record(CENTRE), role="comune", user_comuni=(CARRARA,))
    with pytest.raises(hl.ServicePermissionError):
        hl.close_service(census_store, "SRV-045010-01", role="comune", user_comuni=(CARRARA,), reason="x")
    with pytest.raises(hl.ServicePermissionError):
        hl.close_service(census_store, "SRV-045010-01", role="forze_polizia", reason="x")
    with pytest.raises(hl.ServiceValidationError):
        hl.close_service(census_store, "SRV-045010-01", role="comune", user_comuni=(MASSA,), reason="  ")
    with pytest.raises(KeyError):
        hl.close_service(census_store, "SRV-045010-99", role="prefettura", reason="x")
    assert census_store.service("SRV-045010-01") is not None
    row = hl.edit_service(census_store, "SRV-045003-01", new_record(CARRARA_CELL, public=False), role="comune",
                          user_comuni=(CARRARA,))
    assert row["public"] is False
    assert census_store.service("SRV-045003-01")["types"] == ["docce", "guardaroba"]


def test_validation_lists_every_problem(census_store):
    bad = new_record(CENTRE, name=" ", types=["mensa", "karaoke"], hours="Lu 9-12", capacity=-4)
    with pytest.raises(hl.ServiceValidationError) as err:
        hl.add_service(census_store, bad, role="prefettura")
    text = " ".join(err.value.errors)
    assert "nome" in text
    assert "karaoke" in text
    assert "Orari non validi" in text
    assert "posti" in text.lower()
    with pytest.raises(hl.ServiceValidationError, match="fuori dal territorio"):
        hl.add_service(census_store, new_record(CENTRE, lat=45.5, lon=9.2), role="prefettura")
    with pytest.raises(hl.ServiceValidationError, match="24 ore"):
        hl.add_service(census_store, new_record(CENTRE, open_24h=True), role="prefettura")
    sid = hl.add_service(census_store, new_record(CENTRE, hours="", open_24h=True), role="prefettura")
    assert census_store.service(sid)["hours"] == "24/7"
    assert census_store.service_changes()["action"].tolist() == ["aggiunto"]


def test_census_exports_escape_and_neutralise():
    services = pd.DataFrame([service("X", CENTRE, ["mensa"], hours="Mo 10:00-11:00")])
    services.loc[0, "name"] = "=HYPERLINK(\"http://x\")"
    services.loc[0, "operator"] = "<script>alert(1)</script>"
    comuni = pd.DataFrame({"pro_com_t": [MASSA], "nome": ["Massa"]})
    table = hl.census_table(services, comuni, pd.DataFrame(columns=["service_id", "name", "note"]))
    data = hl.table_csv(table)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Codice;Nome;Comune")
    assert "'=HYPERLINK" in text
    geo = json.loads(hl.services_geojson(services, comuni))
    assert geo["features"][0]["properties"]["gestore"] == "<script>alert(1)</script>"  # data, not markup
    cells = pd.DataFrame({"cell": [CENTRE], "comune": ["<b>Massa</b>"], "residents": [3.0], "dist": [120.0],
                          "nearest_name": ["<img src=x onerror=alert(1)>"]})
    html_map = hl.coverage_map(cells, service_type=hl.ANY, services=services, gaps=None, role="osservatore",
                               tiles="none").get_root().render()
    assert "<img src=x" not in html_map
    assert "<script>alert(1)</script>" not in html_map
    # Escaped for HTML (the tooltip is markup), then for the script (js_json): no raw tag survives.
    assert "\\u0026lt;b\\u0026gt;Massa" in html_map
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html_map
