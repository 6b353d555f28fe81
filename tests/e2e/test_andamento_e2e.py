"""Browser test of the *Andamento* page: it loads, draws its Vega-Lite charts and reacts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, wait_app_idle

pytestmark = pytest.mark.e2e

CHART = "[data-testid='stVegaLiteChart']"


def test_andamento_draws_charts(page, app_url, shot):
    login(page, app_url, "osservatore")
    page.locator("[data-testid='stSidebarNav'] a", has_text="Andamento").click()
    page.wait_for_url("**/andamento")
    wait_app_idle(page, timeout=90_000)
    page.get_by_role("heading", name="Andamento dei delitti").wait_for()

    # Vega draws into a canvas (or an svg with the svg renderer) once the chart has data.
    page.locator(f"{CHART} canvas, {CHART} svg").first.wait_for(timeout=30_000)
    assert page.locator(CHART).count() >= 5
    assert page.locator("[data-testid='stException']").count() == 0
    expect(page.get_by_text("33° su 106")).to_be_visible(timeout=30_000)
    # 2024 total, equal to the ISTAT figure: the data grid draws on a canvas, its cells live in an
    # accessibility layer that is in the DOM but not "visible"
    expect(page.locator("[data-testid^='glide-cell']", has_text="6.912").first).to_be_attached(timeout=30_000)
    shot(page, "andamento")

    page.get_by_text("Annuale", exact=True).click()
    wait_app_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    page.locator(f"{CHART} canvas, {CHART} svg").first.wait_for()

    page.get_by_text("Confronto con le altre province").scroll_into_view_if_needed()
    chart = page.locator(CHART).nth(3)
    chart.scroll_into_view_if_needed()
    chart.locator("canvas, svg").first.wait_for(state="visible")
    shot(page, "andamento_confronto_province")
