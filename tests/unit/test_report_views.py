"""The non-widget parts of the Segnalazioni page (geo.reports.report_views)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.access import auth
from geo.reports import report_views as views
from geo.reports import workflow as reports
from tests.unit.auth_store import CARRARA, MASSA, points_in

SQUARE = {"type": "Polygon", "coordinates": [[[10.14, 44.03], [10.15, 44.03], [10.15, 44.04], [10.14, 44.04],
                                              [10.14, 44.03]]]}


pytestmark = pytest.mark.usefixtures("cheap_hasher")


@pytest.fixture
def store(users_store):
    return users_store


def test_a_click_sets_the_point_and_clears_the_area():
    got = views.map_selection({"last_clicked": {"lat": 44.1234567, "lng": 10.7654321}}, SQUARE)
    assert got == {"seg_lat": 44.123457, "seg_lon": 10.765432, "seg_area": None}


def test_a_new_polygon_sets_the_area_and_a_point_inside_it():
    got = views.map_selection({"last_active_drawing": {"geometry": SQUARE}, "last_clicked": None}, None)
    assert got["seg_area"] == SQUARE
    assert 10.14 < got["seg_lon"] < 10.15
    assert 44.03 < got["seg_lat"] < 44.04


def test_the_same_polygon_again_or_nothing_changes_nothing():
    assert views.map_selection({"last_active_drawing": {"geometry": SQUARE}}, SQUARE) is None
    assert views.map_selection(None, None) is None
    assert views.map_selection({"last_clicked": {"lat": None}}, None) is None


def test_an_invalid_polygon_keeps_the_area_without_a_point():
    bow = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert views.map_selection({"last_active_drawing": {"geometry": bow}}, None) == {"seg_area": bow}


def test_location_check_tells_where_the_point_is(store):
    officer = auth.get_user(store, "comune-massa")
    names = reports.comune_names(store)
    massa = points_in(store, MASSA, 1)[0]
    carrara = points_in(store, CARRARA, 1)[0]
    assert views.location_check(store, officer, None, 10.1, names) == (None, None, "")
    located, kind, text = views.location_check(store, officer, *massa, names)
    assert located[1] == MASSA
    assert kind == "success"
    assert "Massa" in text
    located, kind, text = views.location_check(store, officer, *carrara, names)
    assert located[1] == CARRARA
    assert kind == "error"
    assert "fuori dal territorio" in text
    located, kind, text = views.location_check(store, officer, 43.0, 8.0, names)  # at sea
    assert located is None
    assert kind == "warning"
    assert text


def test_linked_report_is_added_when_visible_and_refused_otherwise(store):
    officer = auth.get_user(store, "comune-massa")
    lat, lon = points_in(store, MASSA, 1)[0]
    rid = reports.create_report(store, officer, lat=lat, lon=lon, category="rifiuti_abbandonati", severity=2,
                                description="Sacchi di rifiuti")
    empty = reports.visible_reports(store, officer, statuses=["chiusa_inesistente"])
    frame, refused = views.with_wanted(store, officer, empty, rid)
    assert refused == ""
    assert frame["report_id"].tolist() == [rid]
    other = auth.get_user(store, "comune-carrara")
    frame, refused = views.with_wanted(store, other, empty.iloc[0:0], rid)
    assert refused
    assert frame.empty
    assert views.with_wanted(store, officer, frame, None) == (frame, "")
    labels = views.report_labels(reports.visible_reports(store, officer, comuni=[MASSA]).query("report_id == @rid"))
    assert labels[rid].startswith(f"{rid} · Massa · ")


def test_selected_report():
    assert views.selected_report(["a", "b"], "b", None) == "b"
    assert views.selected_report(["a", "b"], "b", "a") == "a"
    assert views.selected_report(["a"], "z", "b") is None
    assert views.selected_report([], None, None) is None


def test_facts_and_duplicates_tables():
    row = {"report_id": "SEG-1", "pro_com_t": MASSA, "category": "rifiuti_abbandonati", "severity": 3,
           "status": "nuova", "opened": "2026-03-02", "closed": None, "lat": 44.0357123, "lon": 10.1402,
           "area_wkt": "P", "source": None}
    facts = views.facts_table(row, {MASSA: "Massa"}).set_index("Voce")["Valore"]
    assert facts["Comune"] == "Massa"
    assert facts["Posizione"] == "44.03571, 10.14020 (area)"
    assert facts["Chiusa il"] == ""
    dups = pd.DataFrame({"report_id": ["SEG-2"], "distance_m": [12.6], "status": ["nuova"], "opened": ["x"],
                         "description": ["d"]})
    assert views.duplicates_table(dups)["Distanza"].tolist() == ["13 m"]


def test_municipium_import_outcomes(store, import_data):
    data = (import_data / "segnalazioni_municipium.csv").read_bytes()
    officer = auth.get_user(store, "comune-massa")
    ok, text, report, _ = views.municipium_import(store, officer, data, pro_com_t=MASSA, partial=False,
                                                  file_name="C:\\tmp\\seg.csv")
    assert ok
    assert "fuori ambito" in text
    assert report is None
    ok, text, _, icon = views.municipium_import(store, auth.get_user(store, "regione"), data, pro_com_t=MASSA,
                                                partial=False, file_name="seg.csv")
    assert not ok
    assert text
    assert icon == ":material/lock:"
    ok, text, report, icon = views.municipium_import(store, officer, b"a;b\n1;2\n", pro_com_t=MASSA, partial=False,
                                                     file_name="seg.csv")
    assert not ok
    assert icon == ":material/error:"
