"""A Comune officer in a real browser: logs in, clicks the map, files a report, sees it on the map;
the officer of another Comune logs in and cannot see the report nor any control to change it."""

from __future__ import annotations

import time
from pathlib import Path

import h3
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.conftest import go_to, login, snapshot_store, wait_app_idle

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
MASSA = "045010"

#: Runs inside the map's iframe: whether a report point with this code is drawn.
HAS_REPORT_JS = """(code) => {
  let found = false;
  window.map.eachLayer(l => {
    const p = l.feature && l.feature.properties;
    if (p && p.v && p.v[4] === code) found = true;
  });
  return found;
}"""


def _free_spot(db: Path, workdir: Path) -> tuple[float, float]:
    """A point in Massa with no report within about 130 m (read from a copy: the server holds the file)."""
    from geo.reports.workflow import likely_duplicates
    store = snapshot_store(db, workdir)
    try:
        cells = store.query("SELECT cell FROM cells WHERE pro_com_t = ? AND residents > 20 ORDER BY residents DESC",
                            [MASSA])["cell"].tolist()
        for cell in cells:
            lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cell)))
            near = store.reports_in_box(south=lat - 0.0012, west=lon - 0.0016, north=lat + 0.0012, east=lon + 0.0016)
            if near.empty and likely_duplicates(store, lat=lat, lon=lon, category="movida_rumore").empty:
                return lat, lon
    finally:
        store.close()
    raise AssertionError("no free spot in Massa")


def _map_frame(page):
    frame_locator = page.frame_locator(MAP_IFRAME)
    frame_locator.locator(".leaflet-overlay-pane canvas").first.wait_for(timeout=30_000)
    frame = next(f for f in page.frames if "st_folium" in f.url)
    frame.wait_for_function("() => window.map && window.map._loaded")
    return frame_locator, frame


def _report_on_map(page, code: str, *, timeout: float = 60.0) -> bool:
    """Whether a map of the page draws the report ``code`` (maps are re-created when their layers
    change: each frame is waited on for a while, and the frames are looked up again until the deadline)."""
    deadline = time.monotonic() + timeout
    drawn = f"(code) => !!(window.map && window.map._loaded) && ({HAS_REPORT_JS})(code)"
    while time.monotonic() < deadline:
        frames = [f for f in page.frames if "st_folium" in f.url]
        if not frames:
            page.wait_for_selector(MAP_IFRAME, state="attached",
                                   timeout=max(1, deadline - time.monotonic()) * 1000)
        for frame in frames:
            try:
                frame.wait_for_function(drawn, arg=code, timeout=2_000)
                return True
            except PlaywrightError:  # not drawn (yet) in this frame, or a frame being replaced
                continue
    return False


#: A loaded Leaflet map with no pan or zoom animation in progress.
IDLE_MAP_JS = ("() => !!(window.map && window.map._loaded && !window.map._animatingZoom"
               " && !window.map._panAnim?._inProgress)")


def _click_map_at(page, frame, lat: float, lon: float) -> None:
    """Zoom to the point and click there, as an officer does."""
    wait_app_idle(page)
    # streamlit-folium's first render fits the map to its layers: wait until the map is loaded and
    # no move or zoom is running before moving the view, then until the new view is drawn
    frame.wait_for_function(IDLE_MAP_JS)
    frame.evaluate("([lat, lon]) => { window.map.setView([lat, lon], 17, {animate: false}); }", [lat, lon])
    frame.wait_for_function(f"() => window.map.getZoom() === 17 && ({IDLE_MAP_JS})()")
    frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert frame.evaluate("() => window.map.getZoom()") == 17
    point = frame.evaluate("([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);"
                           " return {x: p.x, y: p.y, id: window.map.getContainer().id}; }", [lat, lon])
    frame.locator(f"#{point['id']}").click(position={"x": point["x"], "y": point["y"]})


def test_officer_files_a_report_and_another_comune_cannot_touch_it(page, app_url, demo_db, shot, tmp_path):
    lat, lon = _free_spot(demo_db, tmp_path / "db")
    login(page, app_url, "comune-massa")
    expect(page.get_by_text("Utente: Comune di Massa").first).to_be_visible(timeout=30_000)
    go_to(page, "Segnalazioni", "segnalazioni")
    page.get_by_role("heading", name="Nuova segnalazione").wait_for()
    frame_locator, frame = _map_frame(page)

    _click_map_at(page, frame, lat, lon)
    page.get_by_text("Posizione nel Comune di Massa").wait_for(timeout=30_000)
    wait_app_idle(page)
    # the clicked point became the report's position (within the few metres a resize of the map's
    # frame may shift it by)
    assert abs(float(page.get_by_label("Latitudine").input_value()) - lat) < 1.5e-3
    assert abs(float(page.get_by_label("Longitudine").input_value()) - lon) < 2e-3

    page.get_by_label("Categoria").click()
    page.get_by_role("option", name="Movida e rumore notturno").click()
    wait_app_idle(page)
    page.get_by_label("Descrizione").fill("Musica ad alto volume dopo le 2 <b>ogni sabato</b>")
    page.get_by_label("Descrizione").blur()
    wait_app_idle(page)
    shot(page, "segnalazioni_nuova")
    page.get_by_role("button", name="Invia la segnalazione").click()
    message = page.get_by_text("inviata.").first
    message.wait_for(timeout=60_000)
    wait_app_idle(page)
    code = message.inner_text().split()[1]
    assert code.startswith(f"SEG-{MASSA}-")
    assert page.locator("[data-testid='stException']").count() == 0

    # on the map: its point among the open reports, and its marker as the selected report
    frame_locator, frame = _map_frame(page)
    assert _report_on_map(page, code)
    frame_locator.locator(f".lanterna-segnalazione[title='{code}']").wait_for(state="attached", timeout=30_000)
    expect(page.get_by_role("button", name="Aggiorna lo stato")).to_be_visible(timeout=30_000)
    # shown as text, not markup (the data grid also holds a hidden accessible copy of the cell)
    expect(page.get_by_text("<b>ogni sabato</b>", exact=False).filter(visible=True).first).to_be_visible(timeout=30_000)
    assert page.get_by_label("Latitudine").input_value() == ""  # the form is ready for the next one
    shot(page, "segnalazioni_inviata")

    # and on the integrated map, with the reports layer on
    go_to(page, "Mappa integrata", "")  # the default page lives at the root URL
    page.get_by_role("button", name="Segnalazioni aperte").click()
    wait_app_idle(page, timeout=60_000)
    assert _report_on_map(page, code)
    shot(page, "segnalazioni_mappa_integrata")

    # the officer of another Comune
    page.get_by_role("button", name="Esci").click()
    page.get_by_label("Nome utente").wait_for(timeout=60_000)
    login(page, app_url, "comune-carrara")
    go_to(page, "Segnalazioni", "segnalazioni")
    page.get_by_role("heading", name="Segnalazioni del mio Comune").wait_for()
    _map_frame(page)
    assert not _report_on_map(page, code, timeout=3)
    picker = page.get_by_label("Segnalazione da vedere o gestire")
    picker.click()
    page.keyboard.type(code)
    assert page.get_by_role("option", name=code, exact=False).count() == 0
    page.keyboard.press("Escape")
    assert page.get_by_role("button", name="Aggiorna lo stato").count() == 0
    assert page.get_by_role("button", name="Aggiungi il commento").count() == 0
    assert page.get_by_text(code).count() == 0
    shot(page, "segnalazioni_altro_comune")
