"""Browser test of *Zone pilota*: the ranking loads and the hot-spot tab shows how much of the
layer a random arrangement of the same counts would give (noise floor) and the back-test."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import go_to, login, wait_app_idle

pytestmark = pytest.mark.e2e


def test_zone_pilota_hot_spot_tab_shows_noise_floor_and_backtest(page, app_url, shot):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, app_url, "osservatore")
    go_to(page, "Zone pilota", "zone_pilota")
    page.get_by_role("tab", name="Punti caldi").click()
    wait_app_idle(page, timeout=90_000)
    expect(page.get_by_text("Soglia del caso:")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("contenevano il", exact=False)).to_be_visible()
    expect(page.get_by_text("PEI*", exact=False)).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    shot(page, "zone_pilota_punti_caldi")
    assert not errors, errors


@pytest.mark.parametrize("width", [900, 1920])
def test_contribution_chart_has_one_readable_bar_per_zone(browser, app_url, width):
    """Issue 17: at 900 px and wider the chart was one line with every label on top of the others."""
    from tests.e2e.conftest import ARTIFACTS

    context = browser.new_context(viewport={"width": width, "height": 1000}, locale="it-IT")
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        login(page, app_url, "osservatore")
        go_to(page, "Zone pilota", "zone_pilota")
        chart = page.locator("[data-testid='stVegaLiteChart']").filter(
            has_text="Contributi degli indicatori").first
        expect(chart).to_be_visible()
        chart.scroll_into_view_if_needed()
        wait_app_idle(page)
        box = chart.bounding_box()
        # ten bars of 30 px, the axis and the legend under the plot: far taller than one line
        assert box["height"] > 450, box
        assert box["width"] > 0.3 * width, box  # the chart stretches with the page
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        chart.screenshot(path=str(ARTIFACTS / f"zone_pilota_contributi_{width}.png"))
    finally:
        context.close()
