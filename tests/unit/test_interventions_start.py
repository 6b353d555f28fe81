"""Starting interventions from a pilot zone, a lighting plan or reports; linked reports and roles."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import h3
import numpy as np
import pandas as pd
import pytest

from geo.access import auth
from geo.access.permissions import PermissionDenied
from geo.interventions import links
from geo.interventions import register as reg
from geo.interventions import start as start_logic
from geo.reports import workflow
from tests.unit.auth_store import CARRARA, MASSA, points_in

pytestmark = pytest.mark.usefixtures("cheap_hasher")
TODAY = date(2026, 3, 15)


@pytest.fixture
def store(users_store):
    return users_store


@pytest.fixture
def who(store):
    return {name: auth.get_user(store, name) for name in ("prefettura", "osservatore", "comune-massa",
                                                          "comune-carrara", "polizia")}


def _cells(store, code: str, n: int = 5) -> list[int]:
    ctx = store.cell_context(9)
    return sorted(int(c) for c in ctx[ctx["pro_com_t"] == code]["cell"])[:n]  # DuckDB's row order is not fixed


def _zones(store) -> pd.DataFrame:
    massa = _cells(store, MASSA, 6)
    return pd.DataFrame({"zone": ["Z01", "Z02"], "rank": [1, 2], "comuni": [["Massa"], ["Carrara"]],
                         "cells": [list(reversed(massa)), _cells(store, CARRARA, 4)]})


def _plan(rows: list[tuple[int, str, float]]) -> SimpleNamespace:
    selected = pd.DataFrame(rows, columns=["cell", "pro_com_t", "cost_eur"])
    return SimpleNamespace(selected=selected, totals={"cost_eur": float(selected["cost_eur"].sum())})


def test_a_zone_gives_its_cells_comune_title_and_today(store, who):
    draft = start_logic.zone_draft(store, _zones(store), "Z01", 9, today=TODAY)
    assert draft.kind == "zona_pilota"
    assert list(draft.cells) == _cells(store, MASSA, 6)
    assert draft.pro_com_t == MASSA
    assert draft.comuni == (MASSA,)
    assert "Z01" in draft.title
    assert "Massa" in draft.title
    assert draft.start == TODAY
    assert draft.cost_eur is None
    iid = start_logic.create_from_draft(store, who["prefettura"], draft, responsible="Polizia Locale")
    row, cells = reg.get_intervention(store, who["prefettura"], iid)
    assert (row["kind"], row["pro_com_t"], row["title"]) == ("zona_pilota", MASSA, draft.title)
    assert cells == list(draft.cells)
    assert row["start_date"] == TODAY
    with pytest.raises(reg.InterventionError, match="Z09"):
        start_logic.zone_draft(store, _zones(store), "Z09", 9)


def test_a_plan_gives_its_hexagons_and_cost_and_a_comune_only_when_single(store, who):
    massa, carrara = _cells(store, MASSA, 3), _cells(store, CARRARA, 2)
    one = start_logic.plan_draft(_plan([(massa[0], MASSA, 1000.0), (massa[0], MASSA, 500.0),
                                        (massa[1], MASSA, 2500.0)]), 9, names={MASSA: "Massa"}, today=TODAY)
    assert one.kind == "illuminazione"
    assert one.cells == tuple(sorted(massa[:2]))  # a hexagon with two works counts once
    assert one.cost_eur == 4000.0
    assert one.pro_com_t == MASSA
    assert "Massa" in one.title
    both = start_logic.plan_draft(_plan([(massa[2], MASSA, 1000.0), (carrara[0], CARRARA, 3000.0)]), 9)
    assert both.pro_com_t is None
    assert both.comuni == tuple(sorted((MASSA, CARRARA)))
    assert both.cost_eur == 4000.0
    # the Comune of Massa may start the plan of Massa, not one that reaches Carrara
    assert start_logic.can_start(who["comune-massa"], one)
    assert not start_logic.can_start(who["comune-massa"], both)
    with pytest.raises(PermissionDenied):
        start_logic.create_from_draft(store, who["comune-massa"], both)
    iid = start_logic.create_from_draft(store, who["prefettura"], both)
    row, cells = reg.get_intervention(store, who["prefettura"], iid)
    assert row["pro_com_t"] is None
    assert row["cost_eur"] == 4000.0
    assert cells == sorted(both.cells)
    iid = start_logic.create_from_draft(store, who["comune-massa"], one, cost_eur=3500.0)
    assert store.intervention_row(iid)["cost_eur"] == 3500.0
    with pytest.raises(reg.InterventionError, match="non contiene"):
        start_logic.plan_draft(_plan([]), 9)


def test_observers_and_police_cannot_start_interventions(store, who):
    draft = start_logic.zone_draft(store, _zones(store), "Z01", 9)
    for name in ("osservatore", "polizia"):
        assert not start_logic.can_start(who[name])
        assert not start_logic.can_start(who[name], draft)
        with pytest.raises(PermissionDenied):
            start_logic.create_from_draft(store, who[name], draft)
    assert start_logic.can_start(who["prefettura"], draft)
    assert start_logic.can_start(who["comune-massa"], draft)
    assert not start_logic.can_start(who["comune-carrara"], draft)
    assert store.interventions_frame().empty


def _reports(store, officer, code: str, n: int) -> list[str]:
    return [workflow.create_report(store, officer, lat=lat, lon=lon, category="rifiuti_abbandonati", severity=2,
                                   description=f"Rifiuti {i}", today=TODAY)
            for i, (lat, lon) in enumerate(points_in(store, code, n))]


def test_reports_in_the_cells_are_proposed_linked_and_listed_only_when_visible(store, who):
    ids = _reports(store, who["comune-massa"], MASSA, 3)
    carrara_id = _reports(store, who["comune-carrara"], CARRARA, 1)[0]
    rows = store.reports_frame(report_ids=ids).sort_values("report_id")
    cells9 = sorted({h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), 9)) for c in rows["cell"]})
    found = links.reports_in_cells(store, who["prefettura"], cells9[:2], 9)
    in_two = {r for r, c in zip(rows["report_id"], links.at_res(rows["cell"], 9), strict=True) if c in cells9[:2]}
    assert set(found["report_id"]) == in_two
    assert in_two
    assert set(found["stato"]) == {"Nuova"}
    # Carrara's officer sees none of Massa's reports, so none is proposed and none may be linked
    assert links.reports_in_cells(store, who["comune-carrara"], cells9, 9).empty
    assert links.reports_in_cells(store, who["osservatore"], cells9, 9).empty
    with pytest.raises(PermissionDenied):
        reg.create_intervention(store, who["comune-carrara"], kind="decoro", title="x", cells=cells9, res=9,
                                start=TODAY, pro_com_t=CARRARA, report_ids=[ids[0]])
    with pytest.raises(reg.InterventionError, match="inesistente"):
        links.check_report_ids(store, who["prefettura"], "SEG-NOPE")
    iid = reg.create_intervention(store, who["prefettura"], kind="decoro", title="Pulizia", cells=cells9, res=9,
                                  start=TODAY, pro_com_t=MASSA, report_ids=[*ids, carrara_id, ids[0]])
    row = store.intervention_row(iid)
    shown, hidden = links.linked_reports(store, who["prefettura"], row)
    assert sorted(shown["report_id"]) == sorted([*ids, carrara_id])
    assert hidden == 0
    shown, hidden = links.linked_reports(store, who["comune-massa"], row)
    assert sorted(shown["report_id"]) == sorted(ids)
    assert hidden == 1


def test_a_decoro_intervention_starts_from_the_reports_hexagons(store, who):
    ids = _reports(store, who["comune-massa"], MASSA, 2)
    draft = links.decoro_draft(store, who["comune-massa"], ids, 9, today=TODAY)
    rows = store.reports_frame(report_ids=ids)
    assert draft.kind == "decoro"
    assert draft.report_ids == tuple(ids)
    assert set(draft.cells) == set(links.at_res(rows["cell"], 9))
    assert draft.pro_com_t == MASSA
    iid = start_logic.create_from_draft(store, who["comune-massa"], draft)
    shown, _ = links.linked_reports(store, who["comune-massa"], store.intervention_row(iid))
    assert sorted(shown["report_id"]) == sorted(ids)
    with pytest.raises(PermissionDenied):
        links.decoro_draft(store, who["comune-carrara"], ids, 9)
    with pytest.raises(reg.InterventionError, match="almeno una"):
        links.decoro_draft(store, who["prefettura"], [], 9)


def _square(lat: float, lon: float, half_deg: float) -> dict:
    ring = [[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg], [lon + half_deg, lat + half_deg],
            [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg]]
    return {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_a_drawn_area_gives_the_hexagons_whose_centre_is_inside():
    from geo.data import hexgrid

    area = _square(44.035, 10.14, 0.004)  # about 0,6 × 0,9 km in Massa
    cells = start_logic.area_cells(area, 9)
    assert len(cells) >= 3
    lats, lons = hexgrid.cell_centers(np.array(cells))
    assert ((abs(lats - 44.035) <= 0.004) & (abs(lons - 10.14) <= 0.004)).all()
    assert list(cells) == sorted(cells)
    tiny = start_logic.area_cells(_square(44.035, 10.14, 0.0001), 9)  # smaller than a hexagon
    assert tiny == tuple(int(c) for c in hexgrid.points_to_cells(np.array([44.035]), np.array([10.14]), 9))


def test_a_drawn_area_is_checked_in_italian():
    with pytest.raises(reg.InterventionError, match="troppo grande"):
        start_logic.area_cells(_square(44.0, 10.1, 0.2), 9)
    with pytest.raises(reg.InterventionError, match="non è valida"):
        start_logic.area_cells({"geometry": {"type": "Polygon", "coordinates": "x"}}, 9)
    bow = {"type": "Polygon", "coordinates": [[[10, 44], [10.01, 44.01], [10.01, 44], [10, 44.01], [10, 44]]]}
    with pytest.raises(reg.InterventionError, match="poligono semplice"):
        start_logic.area_cells(bow, 9)
    with pytest.raises(reg.InterventionError, match="fuori dal territorio"):
        start_logic.area_cells(_square(45.46, 9.19, 0.003), 9, territory_cells=[1, 2, 3])  # Milan


def test_the_area_map_offers_drawing_offline():
    import pandas as pd

    html = start_logic.area_map(pd.DataFrame(columns=["pro_com_t", "nome", "geometry_wkb"]),
                                assets_url="/app/static/vendor/leaflet").get_root().render()
    assert "/app/static/vendor/leaflet-draw/leaflet.draw.js" in html
    assert "cdnjs" not in html
