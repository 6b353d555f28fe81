"""The map's hot-spot outline in a real browser: the toggle draws the max-T hot hexagons as red
outlines inside the map and prints the noise floor and the back-test beside it."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login, wait_app_idle

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'

#: Runs inside the map's iframe: how many hexagon outlines are drawn in the hot-spot colour.
HOT_OUTLINES_JS = """() => {
  let n = 0;
  window.map.eachLayer(l => {
    if (l.feature && l.options && l.options.color && l.options.color.toUpperCase() === "#B2182B") n++;
  });
  return n;
}"""


def test_hot_spot_toggle_outlines_hexagons_and_shows_the_noise_floor(page, app_url, shot):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, app_url, "osservatore")
    page.frame_locator(MAP_IFRAME).locator(".leaflet-overlay-pane canvas").first.wait_for(timeout=30_000)
    page.get_by_text("Evidenzia i punti caldi (Gi*)").click()
    wait_app_idle(page)
    summary = page.get_by_text(re.compile(r"Punti caldi \(Gi\*, errore 5 %\): [\d.]+ esagoni caldi"))
    summary.wait_for(timeout=60_000)
    n_hot = int(re.search(r"([\d.]+) esagoni caldi", summary.inner_text()).group(1).replace(".", ""))
    assert n_hot > 0
    assert page.get_by_text("Soglia del caso").is_visible()
    assert page.get_by_text("Verifica retrospettiva").is_visible()
    frame = next(f for f in page.frames if "st_folium" in f.url)
    frame.wait_for_function(f"() => ({HOT_OUTLINES_JS})() >= {n_hot}", timeout=30_000)
    assert frame.evaluate(HOT_OUTLINES_JS) == n_hot
    assert not errors
    page.locator(MAP_IFRAME).scroll_into_view_if_needed()
    shot(page, "mappa_punti_caldi")
