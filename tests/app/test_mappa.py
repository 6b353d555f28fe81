"""The *Mappa integrata* page through Streamlit's AppTest, on the demo database.

AppTest cannot run the map's iframe (streamlit-folium), so the map itself is checked in
``tests/unit/test_maps.py`` and in the browser tests; here: the KPI strip, the controls, the
details panel (selected through its picker, as a keyboard user does), the table and the role's
privacy, with figures computed independently through :mod:`geo.overview.metrics` on the same database.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from geo.access import disclosure
from geo.data.filters import Filters
from geo.data.storage import open_store
from geo.maps import layers as maps
from geo.overview import metrics
from tests.app.conftest import login_as

PAGE = "pages/mappa.py"


def _open(app, role: str | None = None, **state):
    at = app()
    login_as(at, role or "osservatore")
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _filters(at) -> Filters:
    return at.session_state["filters"]


def _map_table(at):
    return next(d.value for d in at.dataframe if d.value.columns[0] == "Esagono H3")


def test_page_renders_kpis_controls_and_table(app, demo_db):
    at = _open(app)
    assert at.title[0].value == "Mappa integrata"
    f = _filters(at)
    store = open_store(demo_db)
    expected = metrics.protect_kpis(metrics.kpis(store, f, include_private_services=False), "osservatore")
    shown = _metrics(at)
    assert shown["Delitti nel periodo"] == f"{expected.incidents:,}".replace(",", ".")
    assert shown["Scuole"] == str(expected.schools)
    assert len(shown) == 8
    assert [s.label for s in at.main.selectbox] == ["Indicatore sulla mappa", "Classificazione", "Esagono selezionato"]
    table = _map_table(at)
    frame = metrics.protect_frame(metrics.hex_metrics(store, f, include_private_services=False), "osservatore")
    assert len(table) == int(maps.drawable(frame).sum())  # what is listed follows the protected counts
    assert [b.label for b in at.get("download_button")] == ["Scarica CSV", "Scarica GeoJSON"]
    assert any("chiave di cella" in c.value for c in at.sidebar.caption)


def test_changing_a_filter_changes_the_figures(app, demo_db):
    at = _open(app)
    before = _metrics(at)["Delitti nel periodo"]
    rows_before = len(_map_table(at))
    at.sidebar.multiselect(key="f_comuni").set_value(["045010"]).run()  # Massa only
    assert not at.exception
    after = _metrics(at)["Delitti nel periodo"]
    assert after != before
    expected = metrics.protect_kpis(metrics.kpis(open_store(demo_db), _filters(at)), "osservatore")
    assert after == f"{expected.incidents:,}".replace(",", ".")
    assert set(_map_table(at)["Comune"]) == {"Massa"}
    assert len(_map_table(at)) < rows_before

    at.sidebar.multiselect(key="f_categories").set_value(["rapine"]).run()
    assert _metrics(at)["Delitti nel periodo"] != after


def test_metric_picker_orders_the_table(app):
    at = _open(app)
    at.selectbox(key="mappa_metrica").set_value("lights").run()
    assert not at.exception
    lights = _map_table(at)["Punti luce"].tolist()
    assert lights == sorted(lights, reverse=True)


def test_details_panel_of_the_selected_hexagon(app, demo_db):
    at = _open(app)
    f = _filters(at)
    exact = metrics.hex_metrics(open_store(demo_db), f, include_private_services=False)
    frame = metrics.protect_frame(exact, "osservatore")  # what this role is shown
    top = frame.sort_values("incidents", ascending=False).iloc[0]
    at.selectbox(key="mappa_cella").set_value(int(top["cell"])).run()
    assert not at.exception
    details = next(d.value for d in at.dataframe if d.value.columns.tolist() == ["Voce", "Valore"])
    values = dict(zip(details["Voce"], details["Valore"], strict=True))
    assert values["Delitti nel periodo"] == f"{int(top['incidents']):,}".replace(",", ".")
    assert any(top["h3"] in m.value for m in at.markdown)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_role_without_clearance_never_sees_small_counts(app, demo_db):
    at = _open(app)
    table = _map_table(at)
    assert not table["Delitti"].isin([1, 2]).any()
    assert not table["Delitti"].isna().any()  # protected numbers, nothing withheld
    f = _filters(at)
    frame = metrics.hex_metrics(open_store(demo_db), f, include_private_services=False)
    small = frame[frame["incidents"].between(1, 2) & (frame["residents"] >= 1)].iloc[0]
    shown = int(disclosure.protect_counts([small["incidents"]], [small["incidents_key"]], "osservatore")[0])
    at.selectbox(key="mappa_cella").set_value(int(small["cell"])).run()
    details = next(d.value for d in at.dataframe if d.value.columns.tolist() == ["Voce", "Valore"])
    assert dict(zip(details["Voce"], details["Valore"], strict=True))["Delitti nel periodo"] == str(shown)
    assert any("chiave di cella" in c.value for c in at.caption)


def test_table_order_follows_the_protected_counts(app):
    table = _map_table(at := _open(app))
    assert table["Delitti"].tolist() == sorted(table["Delitti"], reverse=True)
    ties = table[table["Delitti"] == 3]
    assert len(ties) > 1
    assert ties["Esagono H3"].tolist() == sorted(ties["Esagono H3"])
    assert at.selectbox(key="mappa_metrica").value == "incidents"


def test_police_see_exact_counts(app):
    at = _open(app, role="forze_polizia")
    table = _map_table(at)
    assert table["Delitti"].isin([1, 2]).any()
    assert not table["Delitti"].isna().any()
    assert not any("mascherati" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("metric", list(metrics.METRICS))
def test_every_metric_renders(app, metric):
    at = _open(app, mappa_metrica=metric)
    assert at.selectbox(key="mappa_metrica").value == metric


def test_too_fine_resolution_for_the_whole_province_is_explained(app, demo_db):
    at = _open(app)
    frame = metrics.hex_metrics(open_store(demo_db), replace(_filters(at), res=10))
    if int(maps.drawable(frame).sum()) <= maps.MAX_MAP_CELLS:
        pytest.fail("the demo province at resolution 10 should exceed the map's limit")
    at.sidebar.selectbox(key="f_res").set_value(10).run()
    assert not at.exception
    assert any("Troppi esagoni" in w.value for w in at.warning)
    assert len(_map_table(at)) > maps.MAX_MAP_CELLS  # the table still lists every hexagon


def test_hot_spot_outline_comes_with_its_noise_floor_and_back_test(app, demo_db):
    from geo.zones import backtest, hotspots

    at = _open(app, mappa_caldi=True)
    text = " ".join(md.value for md in at.markdown)
    f = _filters(at)
    expected = backtest.map_evidence(open_store(demo_db), f)
    assert expected.n_hot > 0
    assert f"{expected.n_hot} esagoni caldi" in text.replace(".", "")
    assert "Soglia del caso" in text
    assert "Verifica retrospettiva" in text
    assert "PAI" in text
    # the outline is the max-T test's hot hexagons, none where the test finds nothing
    store = open_store(demo_db)
    ctx = store.cell_context(f.res).sort_values("cell")
    inc = store.incidents_by_cell(f.res, **f.query_kwargs()).set_index("cell")
    counts = inc["incidents"].reindex(ctx["cell"], fill_value=0).to_numpy()
    hot = hotspots.gi_star(ctx["cell"].to_numpy(), counts)
    assert sorted(expected.hot_cells.tolist()) == sorted(hot.index[hot["hotspot"] == hotspots.HOT].tolist())
    # off by default: no test run, no text
    assert "Soglia del caso" not in " ".join(md.value for md in _open(app).markdown)
