"""The integrated map in a real browser: the iframe draws Leaflet offline, layers toggle, a click on
a hexagon opens its details."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, wait_app_idle

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'

#: Runs inside the map's iframe: the hexagon of the highest class, its screen position and texts.
TOP_HEXAGON_JS = """() => {
  let best = null;
  window.map.eachLayer(l => {
    const p = l.feature && l.feature.properties;
    if (p && p.k !== undefined && l.getBounds && (!best || p.k > best.feature.properties.k)) best = l;
  });
  const point = window.map.latLngToContainerPoint(best.getBounds().getCenter());
  return {x: point.x, y: point.y, texts: best.feature.properties.t};
}"""

#: Runs inside the map's iframe: how many point markers are on the map now.
POINTS_ON_MAP_JS = """() => {
  let n = 0;
  window.map.eachLayer(l => { if (l.feature && l.feature.geometry.type === "Point") n++; });
  return n;
}"""


def _open_map(page, app_url):
    login(page, app_url, "osservatore")  # Mappa integrata is the default page
    frame_locator = page.frame_locator(MAP_IFRAME)
    frame_locator.locator(".leaflet-overlay-pane canvas").first.wait_for(timeout=30_000)
    frame_locator.locator(".leaflet-control-layers-overlays").wait_for(timeout=30_000)
    frame = next(f for f in page.frames if "st_folium" in f.url)
    frame.wait_for_function("() => window.map && Object.keys(window.map._layers).length > 100")
    return frame_locator, frame


def test_map_draws_offline_with_legend_and_layer_control(page, app_url, shot):
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    frame_locator, _ = _open_map(page, app_url)
    assert frame_locator.locator(".lanterna-legend").inner_text().startswith("Delitti nel periodo")
    labels = frame_locator.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any(t.strip().startswith("Esagoni: Delitti nel periodo") for t in labels)
    assert any(t.strip().startswith("Scuole (") for t in labels)
    # Leaflet comes from the app itself; only basemap tiles may fail without internet.
    assert not [u for u in failed if "tile.openstreetmap.org" not in u]
    shot(page, "mappa_iniziale")


def test_layer_control_toggles_a_point_layer(page, app_url, shot):
    frame_locator, frame = _open_map(page, app_url)
    before = frame.evaluate(POINTS_ON_MAP_JS)
    schools = frame_locator.locator(".leaflet-control-layers-overlays label", has_text="Scuole (")
    count = int(schools.inner_text().split("(")[1].rstrip(") \n"))
    schools.locator("input[type=checkbox]").uncheck()
    assert frame.evaluate(POINTS_ON_MAP_JS) == before - count
    shot(page, "mappa_senza_scuole")
    schools.locator("input[type=checkbox]").check()
    assert frame.evaluate(POINTS_ON_MAP_JS) == before


def test_click_on_a_hexagon_opens_its_details(page, app_url, shot):
    _, frame = _open_map(page, app_url)
    page.locator(MAP_IFRAME).scroll_into_view_if_needed()
    target = frame.evaluate(TOP_HEXAGON_JS)
    box = page.locator(MAP_IFRAME).bounding_box()
    assert 0 <= box["y"] + target["y"] <= page.viewport_size["height"]
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.get_by_text("Delitti per mese").wait_for(timeout=30_000)
    wait_app_idle(page)
    comune = target["texts"][0]
    heading = page.get_by_test_id("stMarkdown").filter(has_text="esagono")
    assert heading.inner_text().startswith(comune)
    details = page.get_by_test_id("stDataFrame").filter(has_text="Voce")
    details.wait_for()
    shot(page, "mappa_dettaglio_esagono")
