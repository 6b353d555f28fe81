"""Coverage by crime family and time band, and of the pilot zones (issue 18): Italian tables, with
the disclosure rules of roles without clearance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.cameras import coverage as cov
from geo.cameras import views
from geo.cameras.analysis import CoverageAnalysis, pilot_zone_coverage
from geo.data import hexgrid

METRIC = "EPSG:32632"


def _analysis(by_group: pd.DataFrame, *, covered=None, hexes=None) -> CoverageAnalysis:
    return CoverageAnalysis(cells=pd.DataFrame(), hexes=hexes if hexes is not None else pd.DataFrame(),
                            kpis={}, by_group=by_group, uncovered_hot=pd.DataFrame(), schools=pd.DataFrame(),
                            covered=covered if covered is not None else shapely.Polygon(), months=12,
                            protected=True, comuni={"045010": "Massa"})


@pytest.fixture(scope="module")
def groups() -> CoverageAnalysis:
    rows = [  # family, band, incidents, covered
        ("furti", "giorno", 40, 10.0),   # plain: 25 %
        ("furti", "notte", 2, 0.0),      # small total: hidden, and its share
        ("rapine", "giorno", 30, 1.5),   # small covered part: share would reveal it
        ("rapine", "notte", 0, 0.0),     # nothing: share missing
    ]
    frame = pd.DataFrame(rows, columns=["family", "band", "incidents", "covered"])
    frame["share"] = np.where(frame["incidents"] > 0, frame["covered"] / frame["incidents"].replace(0, 1), np.nan)
    frame["family_label"] = frame["family"].map({"furti": "Furti", "rapine": "Rapine"})
    frame["band_label"] = frame["band"].map({"giorno": "Giorno (6-20)", "notte": "Notte (20-6)"})
    return _analysis(frame)


def test_group_table_cleared_role_sees_every_figure(groups):
    t = views.group_table(groups, "prefettura")
    assert list(t.columns) == ["Famiglia di reati", "Fascia oraria", "Delitti nel periodo", "Nel campo visivo",
                               "Quota coperta"]
    assert t["Quota coperta"].tolist() == ["25,0 %", "0,0 %", "5,0 %", "–"]
    assert t["Delitti nel periodo"].tolist() == ["40", "2", "30", "0"]
    assert t["Nel campo visivo"].tolist() == ["10,0", "0,0", "1,5", "0,0"]


def test_group_table_hides_small_counts_and_the_shares_that_reveal_them(groups):
    t = views.group_table(groups, "comune")
    assert t["Delitti nel periodo"].tolist() == ["40", "< 3", "30", "0"]
    # furti/notte: its share follows the hidden total; rapine/giorno: 1,5 covered incidents hidden
    assert t["Quota coperta"].tolist() == ["25,0 %", "riservato", "riservato", "–"]
    assert t["Nel campo visivo"].tolist()[2] == "< 3"
    chart = views.group_chart(groups, "comune")
    assert chart.loc["Furti", "Giorno (6-20)"] == pytest.approx(25.0)
    assert np.isnan(chart.loc["Furti", "Notte (20-6)"])
    assert np.isnan(chart.loc["Rapine", "Giorno (6-20)"])
    assert views.group_chart(groups, "forze_polizia").loc["Rapine", "Giorno (6-20)"] == pytest.approx(5.0)


def test_pilot_zone_coverage_hand_checked():
    centre = int(hexgrid.points_to_cells(np.array([44.035]), np.array([10.14]), 9)[0])
    ring = [int(c) for c in hexgrid.neighbours(centre, 1) if int(c) != centre]
    zones = {"Z01": np.array([centre]), "Z02": np.array(ring[:2], dtype=np.int64)}
    covered = cov.cell_polygons(np.array([centre]), METRIC)[0]  # exactly the centre hexagon
    hexes = pd.DataFrame({"cell": [centre, *ring[:2]], "pro_com_t": ["045010", "045010", "045003"]})
    out = pilot_zone_coverage(zones, _analysis(pd.DataFrame(), covered=covered, hexes=hexes), METRIC)
    out = out.sort_values("zone").reset_index(drop=True)
    assert out["share"].iloc[0] == pytest.approx(1.0, abs=1e-6)
    assert out["share"].iloc[1] == pytest.approx(0.0, abs=1e-6)  # neighbours only touch the hexagon
    assert out["area_km2"].iloc[1] == pytest.approx(2 * out["area_km2"].iloc[0], rel=0.01)
    assert out["pro_com_t"].iloc[0] == "045010"
    table = views.zones_table(out, {"045010": "Massa"})
    assert table.loc[0, "Quota coperta"] == "100,0 %"
    assert table.loc[0, "Comune"] == "Massa"


def test_a_territory_without_cameras_nor_incidents_covers_none_of_its_zones(mc_store, mc_territory):
    from geo.cameras.analysis import analyse, pilot_zones

    analysis = analyse(mc_store, mc_territory.metric_crs, role="comune")
    zones = pilot_zones(mc_store)  # population, schools... still rank zones
    out = pilot_zone_coverage(zones, analysis, mc_territory.metric_crs)
    assert list(out["zone"]) == list(zones)  # in rank order
    assert (out["share"] == 0).all()
    assert (out["area_km2"] > 0).all()
    table = views.group_table(analysis, "comune")
    assert len(table) == len(analysis.by_group)
    assert set(table["Quota coperta"]) == {"–"}  # no incidents: no share
