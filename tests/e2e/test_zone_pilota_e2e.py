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
